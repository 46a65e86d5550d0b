#!/bin/sh
# Deploy hook: put the release on the canary slot, with no traffic yet.
# gatekeeper runs it with GATEKEEPER_RELEASE_VERSION (and _COMMIT, _IMAGE) set; $1 is the
# demo's state directory, whose demo.env says where the binaries and the slots are.
# --min-ready keeps the hook until the instance has been up 2s (a Deployment's
# minReadySeconds): Prometheus, scraping every second, then holds the new instance's counters
# at zero before the smoke tests' requests, which thus show as traffic from the new version.
set -eu
state=${1:?usage: deploy.sh STATE_DIR}
. "$state/demo.env"
version=${GATEKEEPER_RELEASE_VERSION:?set by gatekeeper launch}

"$DEMO_SHOP" shift --router "$ROUTER_URL" --canary 0
"$DEMO_SHOP" stop --pid-file "$state/canary.pid"
"$DEMO_SHOP" start --pid-file "$state/canary.pid" --log-file "$state/canary.log" \
	--ready "http://$CANARY_ADDR/healthz" --min-ready 2s -- \
	serve --addr "$CANARY_ADDR" --track canary --release "$version"
echo "deployed $version ($GATEKEEPER_RELEASE_COMMIT) to the canary slot $CANARY_ADDR"
