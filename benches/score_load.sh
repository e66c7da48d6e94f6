#!/usr/bin/env bash
# Load benchmark of POST /v1/scores: 64 connections from wrk on the same machine, against
#   1. the bare axum JSON echo floor (benches/axum_floor.rs),
#   2. creditbridge on SQLite, 3. creditbridge on PostgreSQL (when PG_URL is set),
# each request a full score: key check, consent check, features from the database, scorecard,
# audit record committed before the response. Prints one line per target.
#   benches/score_load.sh [DURATION_S]       (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/score_requests.sh
dur=${1:-15}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [[ -n ${KEEP:-} ]] && echo "kept $work" || rm -rf "$work"' EXIT
cargo build --release --quiet --bin creditbridge --example axum_floor
bin=${BIN:-target/release/creditbridge}

run_wrk() { # name url lua
  wrk -t2 -c64 -d"${dur}s" --latency -s "$3" "$2" > "$work/$1.txt"
  local rps p50 p99 errs
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/$1.txt")
  p50=$(awk '$1=="50%" {print $2}' "$work/$1.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/$1.txt")
  errs=$(awk '/Non-2xx/ {print $5}' "$work/$1.txt"); errs=${errs:-0}
  echo "$1 requests/s=$rps p50=$p50 p99=$p99 non2xx=$errs"
}

# 1. The floor (NO_FLOOR=1 skips it, for comparing builds).
if [[ -z ${NO_FLOOR:-} ]]; then
target/release/examples/axum_floor 127.0.0.1:18099 & sleep 1
cat > "$work/echo.lua" <<'LUA'
wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"product":"sme","subject":"91440800000000000X","purpose":"loan_application","consent_id":"c_x"}'
LUA
run_wrk axum_floor http://127.0.0.1:18099/echo "$work/echo.lua"
kill %1; wait %1 2>/dev/null || true
fi

# 2./3. creditbridge with a generated city (2,000 enterprises) and the committed champions. The
# requests rotate over SUBJECTS enterprises (default 1,000), each with its own consent, so the
# read model holds many subjects, not one; COLD=1 shrinks its facts cache to 1 MiB so that most
# scores load their subject's facts from the database.
subjects=${SUBJECTS:-1000}
$bin generate --out "$work/city" --enterprises 2000 --households 2000 > /dev/null
awk -F, -v n="$subjects" 'NR>1 && NR<=n+1 {print $1}' "$work/city/enterprises.csv" > "$work/subjects.txt"
bench_db() { # name database-url
  export CREDITBRIDGE_DATABASE_URL=$2 CREDITBRIDGE_DATA_DIR="$work/data-$1" CREDITBRIDGE_PII_KEY=bench-pii-key-0123456789
  export CREDITBRIDGE_RATE_LIMIT_PER_MINUTE=1000000000 CREDITBRIDGE_RETRAIN_SCHEDULE=false CREDITBRIDGE_LOG=${BENCH_LOG:-warn}
  if [[ -n ${COLD:-} ]]; then export CREDITBRIDGE_READ_MODEL_CACHE_MB=1; fi
  for k in enterprises tax-grades tax-payments households farmer-assessments public-records loan-outcomes; do
    $bin import $k "$work/city/$k.csv" --quiet > /dev/null
  done
  key=$($bin partners add --name bench --role bank | sed -E 's/.*"key":"([^"]+)".*/\1/')
  # The audit log's signing key (serve refuses to start without one).
  mkdir -p "$work/data-$1/secrets"
  [[ -f "$work/data-$1/secrets/ledger.key" ]] || $bin audit keygen --out "$work/data-$1/secrets/ledger.key" > /dev/null
  $bin serve --listen 127.0.0.1:18098 & local pid=$!; sleep 2
  consented_score_bodies http://127.0.0.1:18098 "$key" "$work"
  score_lua "$key" "$work"
  run_wrk "creditbridge_$1" http://127.0.0.1:18098/v1/scores "$work/score.lua"
  # BENCH_METRICS=DIR keeps the server's /metrics after the run (audit commit times, group sizes).
  if [[ -n ${BENCH_METRICS:-} ]]; then curl -s http://127.0.0.1:18098/metrics > "$BENCH_METRICS/metrics-$1.txt"; fi
  sleep 1.5 # the sequencer signs a checkpoint at least once a second
  echo "  audit ledger: $($bin audit verify)"
  kill $pid; wait $pid 2>/dev/null || true
}
bench_db sqlite "sqlite://$work/data-sqlite/creditbridge.db"
if [[ -n ${PG_URL:-} ]]; then bench_db postgres "$PG_URL"; fi
