#!/usr/bin/env bash
# Scores and key revocations during a large command-line import into SQLite (issue 18, item 5).
#   benches/import_beside_scoring.sh [ROWS]        (default 3,000,000 tax-payment rows)
# 1. A generated city (2,000 enterprises) is imported, the committed champions promoted, a bank
#    given 200 consents, 20 spare partners made (their keys are revoked during the import).
# 2. Baseline: a paced client asks one score every 50 ms for 20 s with no import running.
# 3. Load: `creditbridge import tax-payments` of ROWS new rows (a separate process, as an operator
#    would run it) while the same client scores every 50 ms and `creditbridge partners
#    revoke-key` runs every 2 s; both stop when the import ends.
# Prints per phase: scores sent, p50/p99/max latency, non-2xx count, server CPU per score (from
# /proc/PID/stat), revocations and their slowest wall time, the import's rows/s and `uptime`.
# Needs python3. BIN=… uses a given binary instead of building the release one.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-3000000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [[ -n ${KEEP:-} ]] && echo "kept $work" || rm -rf "$work"' EXIT
if [[ -z ${BIN:-} ]]; then cargo build --release --quiet --bin creditbridge; fi
bin=${BIN:-target/release/creditbridge}
export CREDITBRIDGE_DATA_DIR="$work/data" CREDITBRIDGE_PII_KEY=bench-pii-key-0123456789
export CREDITBRIDGE_DATABASE_URL="sqlite://$work/data/creditbridge.db"
export CREDITBRIDGE_RATE_LIMIT_PER_MINUTE=1000000000 CREDITBRIDGE_RETRAIN_SCHEDULE=false CREDITBRIDGE_LOG=warn
port=18097; base=http://127.0.0.1:$port

echo "uptime at start: $(uptime)"
$bin generate --out "$work/city" --enterprises 2000 --households 2000 > /dev/null
for k in enterprises tax-grades tax-payments households farmer-assessments public-records loan-outcomes; do
  $bin import $k "$work/city/$k.csv" --quiet > /dev/null 2>&1
done
# The committed champions, promoted (a forced promotion needs a second person's approval).
for id in $($bin models import models --promote --force --reason bench --by bench-a | python3 -c 'import json,sys; print(" ".join(m["id"] for m in json.load(sys.stdin)))'); do
  $bin models approve "$id" --by bench-b > /dev/null
done
mkdir -p "$work/data/secrets"
$bin audit keygen --out "$work/data/secrets/ledger.key" > /dev/null
key=$($bin partners add --name bench --role bank | sed -E 's/.*"key":"([^"]+)".*/\1/')
: > "$work/spare_keys.txt"
for i in $(seq 20); do
  $bin partners add --name "spare $i" --role insurer | sed -E 's/.*"key_id":"([^"]+)".*/\1/' >> "$work/spare_keys.txt"
done

# The file: ROWS payments of enterprises the city does not have (new keys, valid credit codes),
# 120 months each, as in docs/benchmarks.md's import benchmark.
python3 - "$work/payments.csv" "$rows" <<'PY'
import random, sys
CS = "0123456789ABCDEFGHJKLMNPQRTUWXY"; W = [1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28]
def uscc(n):
    org8 = "%08d" % (20000000 + n); s = sum(int(c) * w for c, w in zip(org8, [3,7,9,10,5,8,4,2]))
    body = "91440800" + org8 + {10: "X", 11: "0"}.get(11 - s % 11, str(11 - s % 11))
    return body + CS[(31 - sum(CS.index(ch) * w for ch, w in zip(body, W)) % 31) % 31]
random.seed(1); out = open(sys.argv[1], "w"); total = int(sys.argv[2]); rows = 0
out.write("uscc,period,tax_type,revenue,tax_due,tax_paid,filed_on,paid_on\n")
e = 0
while rows < total:
    code = uscc(e); e += 1
    for m in range(120):
        if rows == total: break
        y, mo = 2015 + m // 12, m % 12 + 1; ny, nm = (y, mo + 1) if mo < 12 else (y + 1, 1)
        rev = random.randint(0, 5_000_000) / 100; due = round(rev * 0.03, 2)
        paid = due if random.random() < 0.9 else 0
        filed = "%04d-%02d-%02d" % (ny, nm, random.randint(1, 28))
        out.write("%s,%04d-%02d,vat,%.2f,%.2f,%.2f,%s,%s\n" % (code, y, mo, rev, due, paid, filed, filed if paid > 0 else ""))
        rows += 1
PY

$bin serve --listen 127.0.0.1:$port & server=$!
for _ in $(seq 100); do curl -sf $base/readyz > /dev/null && break; sleep 0.2; done
evidence=$(printf 'a%.0s' $(seq 64))
signed=$(date -u -d 'yesterday' +%Y-%m-%dT00:00:00Z); valid=$(date -u -d '+300 days' +%Y-%m-%d)
: > "$work/bodies.txt"
awk -F, 'NR>1 && NR<=201 {print $1}' "$work/city/enterprises.csv" | while read -r subject; do
  consent=$(curl -s $base/v1/consents -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"subject\":\"$subject\",\"purpose\":\"loan_application\",\"valid_until\":\"$valid\",\"evidence_sha256\":\"$evidence\",\"signed_at\":\"$signed\"}" \
    | sed -E 's/.*"consent_id":"([^"]+)".*/\1/')
  echo "{\"product\":\"sme\",\"subject\":\"$subject\",\"purpose\":\"loan_application\",\"consent_id\":\"$consent\"}" >> "$work/bodies.txt"
done

# The paced client: one score every 50 ms on one keep-alive connection until STOP exists (or for
# SECONDS); prints sent, p50, p99, max (ms) and the non-2xx count.
cat > "$work/client.py" <<'PY'
import http.client, json, os, sys, time
host, port, key, bodies, stop, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], float(sys.argv[6])
bodies = open(bodies).read().splitlines()
conn = http.client.HTTPConnection(host, port, timeout=60)
lat, bad, i, start = [], 0, 0, time.monotonic()
while not os.path.exists(stop) and time.monotonic() - start < seconds:
    t0 = time.monotonic()
    try:
        conn.request("POST", "/v1/scores", bodies[i % len(bodies)], {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
        r = conn.getresponse(); r.read()
        if r.status // 100 != 2: bad += 1
    except Exception:
        bad += 1; conn = http.client.HTTPConnection(host, port, timeout=60)
    lat.append((time.monotonic() - t0) * 1000); i += 1
    time.sleep(max(0.0, 0.05 - (time.monotonic() - t0)))
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print("scores=%d p50=%.1fms p99=%.1fms max=%.1fms non2xx=%d" % (len(lat), q(0.5), q(0.99), lat[-1], bad))
PY
cpu() { awk '{print $14 + $15}' /proc/$server/stat; }  # utime + stime, clock ticks
tick=$(getconf CLK_TCK)

# 2. Baseline.
c0=$(cpu)
base_out=$(python3 "$work/client.py" 127.0.0.1 $port "$key" "$work/bodies.txt" "$work/none" 20)
c1=$(cpu); n=$(sed -E 's/scores=([0-9]+).*/\1/' <<< "$base_out")
echo "baseline (no import): $base_out server_cpu_per_score=$(( (c1 - c0) * 1000 / tick / n ))ms load: $(uptime | sed 's/.*load/load/')"

# 3. During the import.
python3 "$work/client.py" 127.0.0.1 $port "$key" "$work/bodies.txt" "$work/stop" 100000 > "$work/during.txt" & client=$!
( while [[ ! -f "$work/stop" ]]; do
    sleep 2
    id=$(head -1 "$work/spare_keys.txt"); [[ -z $id ]] && break; sed -i 1d "$work/spare_keys.txt"
    t0=$(date +%s.%N)
    if $bin partners revoke-key "$id" > /dev/null 2> "$work/revoke.err"; then ok=ok; else ok=FAILED; fi
    echo "$ok $(echo "$(date +%s.%N) - $t0" | bc)" >> "$work/revocations.txt"
  done ) & revoker=$!
c0=$(cpu); t0=$(date +%s.%N)
$bin import tax-payments "$work/payments.csv" --quiet > "$work/import.json" 2> "$work/import.err"
t1=$(date +%s.%N); touch "$work/stop"; wait $client; wait $revoker || true; c1=$(cpu)
during=$(cat "$work/during.txt"); n=$(sed -E 's/scores=([0-9]+).*/\1/' <<< "$during")
echo "during import: $during server_cpu_per_score=$(( (c1 - c0) * 1000 / tick / n ))ms load: $(uptime | sed 's/.*load/load/')"
echo "import: $rows rows in $(echo "$t1 - $t0" | bc | cut -c1-6) s = $(echo "$rows / ($t1 - $t0)" | bc) rows/s; $(tail -1 "$work/import.err")"
echo "revocations: $(grep -c '^ok' "$work/revocations.txt" || true) ok, $(grep -c FAILED "$work/revocations.txt" || true) failed, slowest $(sort -k2 -n "$work/revocations.txt" | tail -1 | cut -d' ' -f2 | cut -c1-5) s"
echo "uptime at end: $(uptime)"
kill $server; wait $server 2>/dev/null || true
