# Gate post-rollback: after a rollback.
#
# Extending this gate: in a module of your own policy directory (loaded beside the
# built-ins) use the same package and add
#
#   # METADATA
#   # title: Checkout conversion holds
#   # description: Conversion on the new cohort is within 5% of the old one.
#   findings contains f if {
#       f := {"rule": "custom.cache_flushed", "status": "pass", "severity": "rollback",
#             "message": "Checkout conversion holds: ...", "evidence": {}}
#   }
#
#   required contains "custom.cache_flushed"
#
# Listing the rule in `required` turns a finding that fails to appear (a renamed fact,
# say) into an unknown check instead of a silent pass. Report pass only on explicit
# positive evidence; read your facts from input.facts.custom and test them with
# lib.custom_usable(name). `severity` ("no-go" or "rollback") is what a fail means;
# before cutover the library turns rollback into no-go. Non-blocking notes go to
# `advisories contains {"rule": ..., "message": ..., "evidence": {...}}`.

# METADATA
# title: Gate post-rollback
# description: |
#   Every instance serves the rollback target (version, commit, image) and the old
#   cohort is healthy. There is nothing further to roll back to: only go or no-go.
package gatekeeper.gates.post_rollback

import data.gatekeeper.lib

checks := lib.checks(findings, required)

decision := lib.decision(checks)

warnings := lib.warnings(advisories)

# METADATA
# title: Input is for this gate
# description: Shared rule launch.gate (see lib/shared.rego).
findings contains lib.gate_check("post-rollback")

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
	"post_rollback.version",
	"post_rollback.health",
}

complete := false

# METADATA
# title: Rollback target served everywhere
# description: |
#   Every reported instance (fact versions) answers and serves rollback_target.commit
#   (and its image digest and version when reported), and there are at least
#   cohorts.old.replicas of them.
findings contains lib.finding("post_rollback.version", "Rollback target served everywhere", lib.version_result("versions", lib.rb(["rollback_target"]), lib.env_get(["cohorts", "old", "replicas"]), true))

# METADATA
# title: Rolled-back cohort healthy
# description: |
#   At least cohorts.old.replicas instances (fact health) report pass or warn, and none
#   reports fail.
findings contains lib.finding("post_rollback.health", "Rolled-back cohort healthy", lib.health_result("health", lib.env_get(["cohorts", "old", "replicas"])))

advisories contains w if {
	some w in lib.health_warnings("post_rollback.health", "health")
}

# METADATA
# title: Facts well-formed
# description: Shared rule input.facts_wellformed (see lib/shape.rego).
findings contains lib.wellformed
