#!/bin/sh
# Smoke hook: the pytest suite against the canary instance, writing the JUnit report the
# runbook's smoke.reports names. pytest's exit status is the hook's; the report is the evidence.
set -eu
state=${1:?usage: smoke.sh STATE_DIR}
. "$state/demo.env"
mkdir -p "$(dirname "$SMOKE_REPORT")"
rm -f "$SMOKE_REPORT"
export SHOP_URL="http://$CANARY_ADDR"
export PYTHONDONTWRITEBYTECODE=1
exec "$PYTHON" -m pytest -q -p no:cacheprovider --junitxml="$SMOKE_REPORT" \
	-o junit_suite_name=shop-smoke "$SMOKE_TESTS"
