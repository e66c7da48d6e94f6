#!/usr/bin/env python3
"""Where an AUC gap to the optbinning peer comes from: the peer's own binning and logistic
regression (the same as ../shared/peers/optbinning_peer.py) fitted on subsets of the columns.

    PEER_VENV=/tmp/creditbridge-peer-venv  # created by ../shared/peers/run_optbinning.sh
    $PEER_VENV/bin/python benches/optbinning_ablation.py --train train.csv --test oot.csv \
        --target bad --exclude loan_id --categorical A,B \
        --subset "creditbridge card=x1,x2,x3" --drop "without wrong signs=x4,x5"

Prints one line per subset: its name, test AUC, and the peer's coefficient per column.
"""
import argparse, os
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(v, "1")
import numpy as np
import pandas as pd
from optbinning import BinningProcess
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

p = argparse.ArgumentParser()
p.add_argument("--train", required=True)
p.add_argument("--test", required=True)
p.add_argument("--target", required=True)
p.add_argument("--bad-value", default="1")
p.add_argument("--exclude", default="")
p.add_argument("--categorical", default="")
p.add_argument("--subset", action="append", default=[], help="NAME=COLS: keep only these")
p.add_argument("--drop", action="append", default=[], help="NAME=COLS: all but these")
a = p.parse_args()
tr, te = pd.read_csv(a.train), pd.read_csv(a.test)
ytr = (tr.pop(a.target).astype(str) == a.bad_value).astype(int).to_numpy()
yte = (te.pop(a.target).astype(str) == a.bad_value).astype(int).to_numpy()
drop = [c for c in a.exclude.split(",") if c]
tr, te = tr.drop(columns=drop), te.drop(columns=drop)
cats = [c for c in a.categorical.split(",") if c]
cats += [c for c in tr.columns if tr[c].dtype == object and c not in cats]
for c in cats:
    tr[c], te[c] = tr[c].astype(str), te[c].astype(str)
sets = [("all columns", list(tr.columns))]
for s in a.subset:
    name, cols = s.split("=", 1)
    sets.append((name, [c for c in cols.split(",") if c]))
for s in a.drop:
    name, cols = s.split("=", 1)
    out = set(cols.split(","))
    sets.append((name, [c for c in tr.columns if c not in out]))
for name, cols in sets:
    bp = BinningProcess(cols, categorical_variables=[c for c in cats if c in cols] or None)
    xtr = bp.fit_transform(tr[cols], ytr)
    lr = LogisticRegression(max_iter=10000).fit(xtr, ytr)
    auc = roc_auc_score(yte, lr.predict_proba(bp.transform(te[cols]))[:, 1])
    coef = {c: round(float(b), 2) for c, b in zip(cols, lr.coef_[0])}
    print(f"{name}: test AUC {auc:.4f}  coefficients {coef}")
