#!/bin/sh
# Shift hook: send GATEKEEPER_STEP percent of the traffic to the canary.
set -eu
state=${1:?usage: shift.sh STATE_DIR}
. "$state/demo.env"
"$DEMO_SHOP" shift --router "$ROUTER_URL" --canary "${GATEKEEPER_STEP:?set by gatekeeper launch}"
