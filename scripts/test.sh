#!/usr/bin/env bash
# Run the whole suite. The tests start their own throw-away database process
# (SecantusDB, in memory) unless MONGODB_URI points at a MongoDB to use instead.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

$BIN/ruff check .
$BIN/lint-imports
$BIN/mypy
# No Docker engine here: check the compose file against the Compose specification instead.
$BIN/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
exec $BIN/pytest "$@"
