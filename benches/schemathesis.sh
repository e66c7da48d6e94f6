#!/usr/bin/env bash
# Fuzzes the running API with schemathesis against its own /openapi.json, once with each role's
# key (issue 18, item 7), and fails on any 5xx, any status the document does not list, any
# answer that does not match its schema, and any schema-valid request refused as invalid.
#
#   benches/schemathesis.sh            # MAX_EXAMPLES=30 per operation and phase by default
#
# What it does: makes a virtual environment with schemathesis in target/ (PyPI), builds the
# binary if missing (BIN=… to use another, e.g. a release build), prepares the demo dataset once
# in target/schemathesis/ (`creditbridge demo --no-serve`, which prints a key per role), serves
# it on 127.0.0.1:$PORT, and runs `schemathesis run` with each key. Generation uses
# benches/schemathesis_hooks.py (valid credit codes and resident ids for `format: subject-id`,
# consistent consent dates). Rate limits are raised for the run: a fuzzer is one client sending
# thousands of requests a minute, and a 429 would hide what it is looking for (429 is documented
# on every operation and tested in tests/api/rate_limits.rs).
#
# Left out, each with its reason: `POST /v1/models/retrain` (each call trains a model: minutes of
# CPU per example; covered by tests/api/lifecycle.rs), and the checks that need a description of
# resources and owners the document does not carry (`use_after_free`,
# `ensure_resource_availability`: they need links between operations;
# `object_level_authorization`: needs two keys of one role and resource ownership rules).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/target/debug/creditbridge}
WORK=${WORK:-$ROOT/target/schemathesis}
VENV=${VENV:-$ROOT/target/schemathesis-venv}
PORT=${PORT:-18080}
MAX_EXAMPLES=${MAX_EXAMPLES:-30}
WORKERS=${WORKERS:-2}
BASE="http://127.0.0.1:$PORT"

if [ ! -x "$VENV/bin/schemathesis" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet schemathesis
fi
if [ ! -x "$BIN" ]; then
    (cd "$ROOT" && cargo build --bin creditbridge)
fi
mkdir -p "$WORK"
cd "$WORK"
if [ ! -s keys.txt ]; then
    rm -rf data
    "$BIN" demo --data-dir data --no-serve > demo.out
    # "Partner keys (shown once; stored hashed):" then "  ROLE  KEY" lines up to a blank one.
    awk '/^Partner keys/ {on=1; next} on && NF == 2 {print $1, $2} on && NF == 0 {on=0}' demo.out > keys.txt
fi
[ -s keys.txt ] || { echo "no keys found in $WORK/demo.out" >&2; exit 1; }

export CREDITBRIDGE_DATA_DIR=data CREDITBRIDGE_LISTEN="127.0.0.1:$PORT" \
    CREDITBRIDGE_RATE_LIMIT_PER_MINUTE=100000000 \
    CREDITBRIDGE_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE=100000000 \
    CREDITBRIDGE_RETRAIN_SCHEDULE=false CREDITBRIDGE_SHUTDOWN_DELAY_MS=0
"$BIN" serve > serve.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    curl -sf "$BASE/readyz" > /dev/null && break
    sleep 1
done
curl -sf "$BASE/readyz" > /dev/null || { echo "the server did not become ready" >&2; tail serve.log >&2; exit 1; }

export SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$ROOT/benches"
status=0
while read -r role key; do
    echo "=== $role"
    set +e
    "$VENV/bin/schemathesis" --config-file "$ROOT/benches/schemathesis.toml" run "$BASE/openapi.json" \
        --header "Authorization: Bearer $key" \
        --exclude-path /v1/models/retrain \
        --phases examples,coverage,fuzzing \
        --max-examples "$MAX_EXAMPLES" --workers "$WORKERS" \
        --report junit --report-dir "reports/$role" \
        --no-color > "run-$role.log" 2>&1
    rc=$?
    set -e
    # The summary: operations, cases, failures by check.
    sed -n '/SUMMARY/,$p' "run-$role.log"
    echo "=== $role: schemathesis exit $rc"
    [ "$rc" -eq 0 ] || status=1
done < keys.txt
exit $status
