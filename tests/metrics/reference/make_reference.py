#!/usr/bin/python3
"""Reference values for tests/metrics/metrics_test.cpp, from scikit-learn (Debian
python3-sklearn 1.2.1). Run: /usr/bin/python3 tests/metrics/reference/make_reference.py

Inputs come from the same 64-bit LCG as the C++ test, so no numbers need pasting."""
import numpy as np
from sklearn.metrics import (auc, average_precision_score, precision_recall_curve,
                             roc_auc_score)

M = 2**64


def lcg_set(n, seed, decimals=None):
    x = seed
    scores, labels = [], []
    for _ in range(n):
        x = (6364136223846793005 * x + 1442695040888963407) % M
        s = (x >> 11) * 2.0**-53
        x = (6364136223846793005 * x + 1442695040888963407) % M
        u = (x >> 11) * 2.0**-53
        if decimals is not None:
            s = round(s, decimals)
        scores.append(s)
        labels.append(1 if u < 0.2 + 0.5 * s else 0)
    return np.array(scores), np.array(labels)


for name, (s, y) in {"random200": lcg_set(200, 42), "ties300": lcg_set(300, 7, 1)}.items():
    p, r, _ = precision_recall_curve(y, s)
    print(f"{name}: positives={y.sum()} auroc={roc_auc_score(y, s)!r} "
          f"ap={average_precision_score(y, s)!r} auprc_trapz={auc(r, p)!r}")
