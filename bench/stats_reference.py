"""bench_stats's scikit-learn side: times roc_auc_score and average_precision_score on the
raw float64 file the benchmark wrote (scores, then labels). Prints one tagged line.
Usage: /usr/bin/python3 stats_reference.py FILE N"""
import statistics
import sys
import time

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

path, n = sys.argv[1], int(sys.argv[2])
v = np.fromfile(path, dtype=np.float64, count=2 * n)
scores, labels = v[:n], v[n:].astype(np.int64)


def timed(fn, repeats=3):
    ms, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn(labels, scores)
        ms.append((time.perf_counter() - start) * 1000)
    return statistics.median(ms), value


auroc_ms, auroc = timed(roc_auc_score)
ap_ms, ap = timed(average_precision_score)
print("vfp-bench-stats auroc_ms=%.3f auroc=%.15g ap_ms=%.3f ap=%.15g" % (auroc_ms, auroc, ap_ms, ap))
