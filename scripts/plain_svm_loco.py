#!/usr/bin/env python3
"""The reference issue 13 measures the bundled model against: a plain class-balanced linear SVM
(scikit-learn SVC, C = 1, no feature selection) on z-scored eGeMAPSv02 functionals of the four
shared corpora, leave-one-corpus-out. Each held-out corpus is scored as it comes, batch-adapted
(standardised by its own statistics) and on its degraded copies.

The functionals are valar's own (equal to openSMILE's within the parity tolerances,
docs/parity.md), read from valar's feature cache, which holds the clean features and degraded
copy 1 of every file once `valar cross-corpus ... --score-degraded` has run.

  pip install scikit-learn pandas
  python3 scripts/plain_svm_loco.py [CORPORA_DIR] [CACHE_CSV]
"""
import hashlib
import os
import sys
import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score as uar
from sklearn.svm import SVC

warnings.filterwarnings("ignore")
corpora = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../shared/corpora")
cache_csv = sys.argv[2] if len(sys.argv) > 2 else os.path.expanduser("~/.cache/valar/features-valar-egemaps-2-decoder3.csv")

cache = {}
with open(cache_csv) as f:
    for line in f:
        key, *values = line.rstrip().split(",")
        cache[key] = np.array(values, dtype=float)

names, clean, degraded, act, val = [], [], [], [], []
for c in ["emodb", "ravdess", "banglaser", "baved"]:
    m = pd.read_csv(os.path.join(corpora, c, "manifest.csv"))
    for r in m.itertuples():
        with open(os.path.join(corpora, c, r.path), "rb") as f:
            key = hashlib.sha256(f.read()).hexdigest()
        names.append(c)
        clean.append(cache[key])
        degraded.append(cache[key + "~degraded1-1"])
        act.append(r.activation)
        val.append(r.valence)
corpus, X, D = np.array(names), np.array(clean), np.array(degraded)
labels = {"activation": np.array(act, float), "valence": np.array(val, float)}

means = {"activation": [], "valence": []}
for held in ["emodb", "ravdess", "banglaser", "baved"]:
    tr, te = corpus != held, corpus == held
    mu, sd = X[tr].mean(0), X[tr].std(0)
    sd[sd == 0] = 1
    own_mu, own_sd = X[te].mean(0), X[te].std(0)
    own_sd[own_sd == 0] = 1
    for task, y in labels.items():
        trm, tem = tr & ~np.isnan(y), te & ~np.isnan(y)
        if not tem.any():
            continue
        svm = SVC(kernel="linear", C=1, class_weight="balanced").fit((X[trm] - mu) / sd, y[trm])
        cells = [
            100 * uar(y[tem], svm.predict((X[tem] - mu) / sd)),
            100 * uar(y[tem], svm.predict((X[tem] - own_mu) / own_sd)),
            100 * uar(y[tem], svm.predict((D[tem] - mu) / sd)),
        ]
        means[task].append(cells)
        print(f"{held:10s} {task:10s} " + " / ".join(f"{v:.1f}" for v in cells))
a, v = np.mean(means["activation"], 0), np.mean(means["valence"], 0)
print("mean activation  " + " / ".join(f"{x:.1f}" for x in a))
print("mean valence     " + " / ".join(f"{x:.1f}" for x in v))
print("mean of both tasks (as they come / batch-adapted / degraded) " + " / ".join(f"{x:.2f}" for x in (a + v) / 2))
