# Gate post-deploy: cutover done, before smoke.
#
# Extending this gate: in a module of your own policy directory (loaded beside the
# built-ins) use the same package and add
#
#   # METADATA
#   # title: Checkout conversion holds
#   # description: Conversion on the new cohort is within 5% of the old one.
#   findings contains f if {
#       f := {"rule": "custom.migration_job", "status": "pass", "severity": "rollback",
#             "message": "Checkout conversion holds: ...", "evidence": {}}
#   }
#
#   required contains "custom.migration_job"
#
# Listing the rule in `required` turns a finding that fails to appear (a renamed fact,
# say) into an unknown check instead of a silent pass. Report pass only on explicit
# positive evidence; read your facts from input.facts.custom and test them with
# lib.custom_usable(name). `severity` ("no-go" or "rollback") is what a fail means;
# before cutover the library turns rollback into no-go. Non-blocking notes go to
# `advisories contains {"rule": ..., "message": ..., "evidence": {...}}`.

# METADATA
# title: Gate post-deploy
# description: |
#   The deployment step succeeded, the new cohort serves the release, it is healthy and
#   data integrity holds.
package gatekeeper.gates.post_deploy

import data.gatekeeper.lib

checks := lib.checks(findings, required)

decision := lib.decision(checks)

warnings := lib.warnings(advisories)

# METADATA
# title: Input is for this gate
# description: Shared rule launch.gate (see lib/shared.rego).
findings contains lib.gate_check("post-deploy")

# METADATA
# title: Runbook signed off and unchanged
# description: Shared rule runbook.signed_off (see lib/shared.rego).
findings contains lib.signed_off

# METADATA
# title: Cutover time recorded
# description: Shared rule launch.cutover_recorded (see lib/shared.rego).
findings contains lib.cutover_recorded

required contains rule if some rule in {
	"launch.gate",
	"input.facts_wellformed",
	"runbook.signed_off",
	"launch.cutover_recorded",
	"post_deploy.deployment",
	"post_deploy.version",
	"post_deploy.health",
	"post_deploy.integrity",
}

complete := false

# METADATA
# title: Deployment step succeeded
# description: |
#   The deploy hook's status (fact deployment) is succeeded. A failed deployment
#   rolls back; anything else is not yet known.
findings contains lib.finding("post_deploy.deployment", "Deployment step succeeded", _deployment)

_deployment_evidence := {"status": lib.fact(["deployment", "status"]), "finished_at": lib.fact(["deployment", "finished_at"]), "detail": lib.fact(["deployment", "detail"])}

_deployment := lib.unknown(lib.problem("deployment"), _deployment_evidence) if {
	not lib.usable("deployment")
} else := lib.pass("status succeeded", _deployment_evidence) if {
	input.facts.deployment.status == "succeeded"
} else := lib.fail("rollback", sprintf("status failed: %v", [lib.fact(["deployment", "detail"])]), _deployment_evidence) if {
	input.facts.deployment.status == "failed"
} else := lib.unknown(sprintf("fact deployment.status is %v, not succeeded", [lib.fact(["deployment", "status"])]), _deployment_evidence)

# METADATA
# title: New cohort serves the release
# description: |
#   At least cohorts.new.replicas instances (fact versions) serve release.commit (and
#   its image digest and version when they report them), and no answering instance
#   serves anything else.
findings contains lib.finding("post_deploy.version", "New cohort serves the release", lib.version_result("versions", lib.rb(["release"]), lib.env_get(["cohorts", "new", "replicas"]), false))

# METADATA
# title: New cohort healthy
# description: |
#   At least cohorts.new.replicas instances (fact health) report pass or warn, and none
#   reports fail. Warn is reported as a warning.
findings contains lib.finding("post_deploy.health", "New cohort healthy", lib.health_result("health", lib.env_get(["cohorts", "new", "replicas"])))

advisories contains w if {
	some w in lib.health_warnings("post_deploy.health", "health")
}

# METADATA
# title: No new data-integrity violations
# description: |
#   The integrity checks show no violations beyond the pre-cutover baseline and no
#   dirty migration. New violations roll back (criteria.data_integrity.rollback_on_new).
findings contains lib.finding("post_deploy.integrity", "No new data-integrity violations", lib.integrity_result)

advisories contains w if {
	some w in lib.integrity_warnings("post_deploy.integrity")
}

# METADATA
# title: Manual checks and the commander's calls
# description: Shared rules attest.* (see lib/attest.rego); none when nothing was attested.
findings contains f if some f in lib.attested

advisories contains w if some w in lib.attest_advisories

# METADATA
# title: Facts well-formed
# description: Shared rule input.facts_wellformed (see lib/shape.rego).
findings contains lib.wellformed
