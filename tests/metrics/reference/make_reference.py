#!/usr/bin/python3
"""Reference values for tests/metrics/metrics_test.cpp, from scikit-learn (Debian
python3-sklearn 1.2.1). Run: /usr/bin/python3 tests/metrics/reference/make_reference.py

Inputs come from the same 64-bit LCG as the C++ test, so no numbers need pasting. Also
writes two_scores_random.csv and two_scores_ties.csv (label, two correlated scores, a fold),
the inputs of the DeLong, bootstrap and `vfp metrics` tests, and prints scikit-learn's values
for them; make_reference.R prints pROC's."""
import csv
import os

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


def signed(pair):
    """Scores moved to [-1, 1]: negative scores and exact zeros (from 0.5), and 20 000 rows
    take the radix-sort path of the C++ ranking."""
    s, y = pair
    return 2 * s - 1, y


for name, (s, y) in {"random200": lcg_set(200, 42), "ties300": lcg_set(300, 7, 1),
                     "signed_ties20000": signed(lcg_set(20000, 99, 3))}.items():
    p, r, _ = precision_recall_curve(y, s)
    print(f"{name}: positives={y.sum()} auroc={roc_auc_score(y, s)!r} "
          f"ap={average_precision_score(y, s)!r} auprc_trapz={auc(r, p)!r}")


def two_scores(n, seed, decimals=None):
    """label, score_a, score_b (correlated with a), fold (i % 5)."""
    x = seed
    rows = []

    def next_unit():
        nonlocal x
        x = (6364136223846793005 * x + 1442695040888963407) % M
        return (x >> 11) * 2.0**-53
    for i in range(n):
        a, u, v = next_unit(), next_unit(), next_unit()
        b = 0.6 * a + 0.4 * v
        if decimals is not None:
            a, b = round(a, decimals), round(b, decimals)
        rows.append((1 if u < 0.15 + 0.6 * a else 0, a, b, i % 5))
    return rows


here = os.path.dirname(os.path.abspath(__file__))
for name, rows in {"two_scores_random": two_scores(300, 11),
                   "two_scores_ties": two_scores(300, 13, 1)}.items():
    with open(os.path.join(here, name + ".csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["label", "score_a", "score_b", "fold"])
        for label, a, b, fold in rows:
            w.writerow([label, repr(a), repr(b), fold])
    y = np.array([r[0] for r in rows])
    for col in (1, 2):
        s = np.array([r[col] for r in rows])
        print(f"{name} score_{'ab'[col - 1]}: positives={y.sum()} auroc={roc_auc_score(y, s)!r} "
              f"ap={average_precision_score(y, s)!r}")
