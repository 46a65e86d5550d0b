#!/bin/sh
# Rollback hook: all traffic back to stable, and the canary slot back on the rollback target,
# so that every instance serves it (the post-rollback gate checks both cohorts).
set -eu
state=${1:?usage: rollback.sh STATE_DIR}
. "$state/demo.env"
target=${GATEKEEPER_ROLLBACK_VERSION:?set by gatekeeper launch}

"$DEMO_SHOP" shift --router "$ROUTER_URL" --canary 0
"$DEMO_SHOP" stop --pid-file "$state/canary.pid"
"$DEMO_SHOP" start --pid-file "$state/canary.pid" --log-file "$state/canary.log" \
	--ready "http://$CANARY_ADDR/healthz" --min-ready 2s -- \
	serve --addr "$CANARY_ADDR" --track canary --release "$target"
echo "rolled back: traffic on stable, canary slot on $target"
