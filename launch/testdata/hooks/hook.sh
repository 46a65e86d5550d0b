#!/bin/sh
# hook.sh NAME LOG EXIT [SLEEP]: a launch hook for tests. It logs its name and what the
# launch told it, prints the notification URL (a secret the archive must redact), sleeps
# SLEEP seconds if given, and exits EXIT.
name=$1 log=$2 code=$3 pause=${4:-0}
echo "$name step=$GATEKEEPER_STEP env=$GATEKEEPER_ENV release=$GATEKEEPER_RELEASE_VERSION rollback=$GATEKEEPER_ROLLBACK_VERSION launch=$GATEKEEPER_LAUNCH_ID switch=$GATEKEEPER_SWITCH_TO" >> "$log"
echo "$name: posting to ${GK_TEST_SLACK_URL:-nowhere}"
echo "$name: done" >&2
if [ "$pause" != 0 ]; then sleep "$pause"; fi
exit "$code"
