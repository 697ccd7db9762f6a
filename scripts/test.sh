#!/usr/bin/env bash
# Run the whole suite. The tests start their own throw-away database process
# (SecantusDB, in memory) unless MONGODB_URI points at a MongoDB to use instead.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

# Services the tests start themselves; installed from Debian's packages when missing.
need=()
command -v redis-server >/dev/null || need+=(redis-server)
# The browser tests drive Debian's chromium (a test tool's own browser download fails here).
command -v chromium >/dev/null || need+=(chromium)
# PDF reports are drawn with the DejaVu TrueType font (reports/render.py).
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

$BIN/ruff check .
$BIN/lint-imports
$BIN/mypy
# No Docker engine here: check the compose file against the Compose specification instead.
$BIN/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
# The API against its own OpenAPI document (a bounded schemathesis run, about a minute);
# only for the whole suite, not when a single test is asked for.
if [ $# -eq 0 ]; then
  $BIN/python scripts/fuzz.py
fi
# The fault tests in full, as `make test-fault` runs them: SIGKILL of `crm serve` and of the
# database under load, the XSS sweep of every page, the 100-branch join (about 3 minutes).
export CRM_CRASH_TESTS="${CRM_CRASH_TESTS:-1}" CRM_JOIN_BRANCHES="${CRM_JOIN_BRANCHES:-100}"
exec $BIN/pytest "$@"
