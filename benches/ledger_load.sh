#!/usr/bin/env bash
# Issue 14's speed benchmark, in one run (docs/benchmarks.md, "Audit ledger under load"):
#   1. the bare axum JSON echo floor (benches/axum_floor.rs), at the start and at the end;
#   2. audited POST /v1/scores on SQLite (requests/s, p99) and the server's CPU per score from
#      /proc/PID/stat, alternating ROUNDS times with the benchmark-only build whose ledger records
#      nothing (cargo feature bench-unaudited), each run on a fresh copy of one prepared database;
#   3. with PG_URL: two audited replicas on one PostgreSQL database under load together, with
#      pg_stat_activity sampled every 200 ms (sessions waiting on a lock, and those whose query
#      names a ledger table) and pg_locks' ungranted locks named.
# Every figure line carries the 1-minute load average read just before it (`uptime`).
#
#   cargo build --release --bin creditbridge --example axum_floor
#   cp target/release/creditbridge /tmp/cb-audited
#   cargo build --release --bin creditbridge --example axum_floor --features bench-unaudited
#     (the same targets as above: without the example, dev-dependencies drop out, features of
#     shared dependencies change and half the dependency tree rebuilds)
#   cp target/release/creditbridge /tmp/cb-unaudited
#   AUDITED=/tmp/cb-audited UNAUDITED=/tmp/cb-unaudited PG_URL=postgres://postgres@127.0.0.1:5432 \
#     benches/ledger_load.sh [DURATION_S=10] [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/score_requests.sh
dur=${1:-10}
rounds=${2:-3}
audited=$(realpath "${AUDITED:-target/release/creditbridge}")
unaudited=$(realpath "${UNAUDITED:?UNAUDITED=path of the bench-unaudited build}")
floor=$(realpath "${FLOOR:-target/release/examples/axum_floor}")
pg=${PG_URL:-}
subjects=${SUBJECTS:-1000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; [[ -n ${KEEP:-} ]] && echo "kept $work" || rm -rf "$work"' EXIT
hz=$(getconf CLK_TCK)
export CREDITBRIDGE_PII_KEY=bench-pii-key-0123456789 CREDITBRIDGE_RATE_LIMIT_PER_MINUTE=1000000000
export CREDITBRIDGE_RETRAIN_SCHEDULE=false CREDITBRIDGE_LOG=${BENCH_LOG:-warn}
# The benchmark build serves only with this acknowledgement (src/audit/unaudited.rs).
export CREDITBRIDGE_BENCH_UNAUDITED=nothing-is-audited

load1() { cut -d' ' -f1 /proc/loadavg; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime of the process, all threads
wait_up() { for _ in $(seq 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }

# wrk_run NAME URL LUA CONNECTIONS -> $work/NAME.txt; sets rps p99 requests errs
wrk_run() {
  wrk -t"$(( $4 >= 2 ? 2 : 1 ))" -c"$4" -d"${dur}s" --latency -s "$3" "$2" > "$work/$1.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/$1.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/$1.txt")
  requests=$(awk '/requests in/ {print $1}' "$work/$1.txt")
  errs=$(awk '/Non-2xx/ {print $5}' "$work/$1.txt"); errs=${errs:-0}
}
cpu_per_request() { # ticks requests -> µs of CPU per request
  awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN { printf "%.1f", t / hz / n * 1e6 }'
}

cat > "$work/echo.lua" <<'LUA'
wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"product":"sme","subject":"91440800000000000X","purpose":"loan_application","consent_id":"c_x"}'
LUA
measure_floor() {
  "$floor" 127.0.0.1:18099 & local pid=$!
  sleep 1
  local load; load=$(load1); local t0; t0=$(ticks $pid)
  wrk_run floor http://127.0.0.1:18099/echo "$work/echo.lua" 64
  local t1; t1=$(ticks $pid)
  echo "floor load1=$load requests/s=$rps p99=$p99 non2xx=$errs cpu_us_per_request=$(cpu_per_request $((t1 - t0)) "$requests")"
  kill $pid; wait $pid 2>/dev/null || true
}

# A database with a generated city (2,000 + 2,000), the committed champions, a bank key and one
# consent per subject; made once with the audited build, then copied for every run.
prepare() { # DIR DATABASE_URL PORT
  local dir=$1 url=$2 port=$3
  export CREDITBRIDGE_DATABASE_URL=$url CREDITBRIDGE_DATA_DIR=$dir
  mkdir -p "$dir/secrets"
  "$audited" audit keygen --out "$dir/secrets/ledger.key" > /dev/null
  for k in enterprises tax-grades tax-payments households farmer-assessments public-records loan-outcomes; do
    "$audited" import $k "$work/city/$k.csv" --quiet > /dev/null 2>&1
  done
  local ids
  ids=$("$audited" models import models --promote --force --reason benchmark --by bench-a | jq -r '.[].id')
  for id in $ids; do "$audited" models approve "$id" --by bench-b > /dev/null; done
  key=$("$audited" partners add --name bench --role bank | sed -E 's/.*"key":"([^"]+)".*/\1/')
  "$audited" serve --listen 127.0.0.1:$port > /dev/null & local pid=$!
  wait_up "http://127.0.0.1:$port/readyz"
  consented_score_bodies "http://127.0.0.1:$port" "$key" "$work"
  kill $pid; wait $pid 2>/dev/null || true
  score_lua "$key" "$work"
}

# One SQLite run of BUILD (audited|unaudited) on a fresh copy of the prepared database.
sqlite_run() { # BUILD ROUND
  local bin=$audited; [[ $1 == unaudited ]] && bin=$unaudited
  local dir="$work/run-$1-$2"
  rm -rf "$dir"; cp -a "$work/template" "$dir"
  export CREDITBRIDGE_DATABASE_URL="sqlite://$dir/creditbridge.db" CREDITBRIDGE_DATA_DIR=$dir
  "$bin" serve --listen 127.0.0.1:18098 > /dev/null 2>&1 & local pid=$!
  wait_up http://127.0.0.1:18098/readyz
  local load; load=$(load1); local t0; t0=$(ticks $pid)
  wrk_run "sqlite-$1-$2" http://127.0.0.1:18098/v1/scores "$work/score.lua" 64
  local t1; t1=$(ticks $pid)
  local line="sqlite $1 round=$2 load1=$load requests/s=$rps p99=$p99 non2xx=$errs requests=$requests cpu_us_per_request=$(cpu_per_request $((t1 - t0)) "$requests")"
  kill $pid; wait $pid 2>/dev/null || true
  if [[ $1 == audited ]]; then
    # Restarted, the sequencer covers every entry; verify checks them against the signed checkpoint.
    "$audited" serve --listen 127.0.0.1:18098 > /dev/null 2>&1 & pid=$!
    wait_up http://127.0.0.1:18098/healthz; sleep 2
    line="$line verify=$("$audited" audit verify | tr -d ' \n' || true)"
    kill $pid; wait $pid 2>/dev/null || true
  fi
  echo "$line"
  rm -rf "$dir"
}

"$audited" generate --out "$work/city" --enterprises 2000 --households 2000 > /dev/null
awk -F, -v n="$subjects" 'NR>1 && NR<=n+1 {print $1}' "$work/city/enterprises.csv" > "$work/subjects.txt"
echo "# $(date -u +%FT%TZ) $(uptime)"
measure_floor
prepare "$work/template" "sqlite://$work/template/creditbridge.db" 18098
for r in $(seq "$rounds"); do
  if (( r % 2 )); then sqlite_run audited "$r"; sqlite_run unaudited "$r"
  else sqlite_run unaudited "$r"; sqlite_run audited "$r"; fi
done
measure_floor

if [[ -n $pg ]]; then
  db=cb_ledger_bench
  psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  prepare "$work/pg" "$pg/$db" 18101
  export CREDITBRIDGE_DATABASE_URL="$pg/$db" CREDITBRIDGE_DATA_DIR="$work/pg"
  "$audited" serve --listen 127.0.0.1:18101 > /dev/null 2>&1 & pid1=$!
  "$audited" serve --listen 127.0.0.1:18102 > /dev/null 2>&1 & pid2=$!
  wait_up http://127.0.0.1:18101/readyz; wait_up http://127.0.0.1:18102/readyz
  cat > "$work/sample.sql" <<SQL
SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'),
       count(*) FILTER (WHERE wait_event_type = 'Lock' AND query ILIKE '%ledger%'),
       count(*) FILTER (WHERE state = 'active'),
       coalesce((SELECT string_agg(DISTINCT coalesce(l.relation::regclass::text, l.locktype), ' ')
                 FROM pg_locks l WHERE NOT l.granted), '-')
FROM pg_stat_activity WHERE datname = '$db' AND pid <> pg_backend_pid();
SQL
  ( end=$((SECONDS + dur)); while (( SECONDS < end )); do
      psql "$pg/$db" -XAtF' ' -f "$work/sample.sql"; sleep 0.2
    done ) > "$work/pg_samples.txt" &
  sampler=$!
  load=$(load1); a0=$(ticks $pid1); b0=$(ticks $pid2)
  wrk_run pg-replica-1 http://127.0.0.1:18101/v1/scores "$work/score.lua" 32 & w1=$!
  wrk_run pg-replica-2 http://127.0.0.1:18102/v1/scores "$work/score.lua" 32 & w2=$!
  wait $w1 $w2
  a1=$(ticks $pid1); b1=$(ticks $pid2)
  wait $sampler
  total=0; line="postgres two replicas load1=$load"
  for n in 1 2; do
    f="$work/pg-replica-$n.txt"
    r=$(awk '/Requests\/sec/ {print $2}' "$f"); q=$(awk '$1=="99%" {print $2}' "$f")
    c=$(awk '/requests in/ {print $1}' "$f"); e=$(awk '/Non-2xx/ {print $5}' "$f")
    total=$((total + c)); line="$line replica$n: requests/s=$r p99=$q non2xx=${e:-0};"
  done
  echo "$line sum requests/s=$(awk -v n=$total -v d="$dur" 'BEGIN {printf "%.0f", n / d}') cpu_us_per_request=$(cpu_per_request $((a1 - a0 + b1 - b0)) $total)"
  echo "  pg_stat_activity samples=$(wc -l < "$work/pg_samples.txt") with a lock wait=$(awk '$1 > 0' "$work/pg_samples.txt" | wc -l) with a lock wait on a ledger query=$(awk '$2 > 0' "$work/pg_samples.txt" | wc -l) mean active sessions=$(awk '{s += $3} END {printf "%.1f", s / NR}' "$work/pg_samples.txt") ungranted locks seen: $(awk '{for (i = 4; i <= NF; i++) print $i}' "$work/pg_samples.txt" | sort -u | tr '\n' ' ')"
  sleep 2
  echo "  audit ledger: $("$audited" audit verify | tr -d ' \n' || true)"
  kill $pid1 $pid2; wait $pid1 $pid2 2>/dev/null || true
fi
