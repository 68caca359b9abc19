"""Reference for bench_data: random-order single-patch reads of a vfp patch cache through h5py.

Usage: h5py_reads.py CACHE.h5 INDEX_FILE
INDEX_FILE holds the patch indices to read, one per line (the order bench_data reads in).
Reads them once to warm the page cache, then times a second pass, like bench_data's own
reads, and prints one line: "h5py patches_per_s=<n> reads=<n>".
"""
import sys
import time

import h5py
import numpy as np


def main():
    cache, index_file = sys.argv[1], sys.argv[2]
    order = np.loadtxt(index_file, dtype=np.int64, ndmin=1)
    with h5py.File(cache, "r") as f:
        patches = f["patches"]
        buffer = np.empty(patches.shape[1:], dtype=np.float32)
        for i in order:  # warm-up pass
            patches.read_direct(buffer, np.s_[int(i)])
        start = time.perf_counter()
        total = 0.0
        for i in order:
            patches.read_direct(buffer, np.s_[int(i)])
            total += float(buffer.flat[buffer.size // 2])
        seconds = time.perf_counter() - start
    print(f"h5py patches_per_s={len(order) / seconds:.1f} reads={len(order)} check={total:.3f}")


if __name__ == "__main__":
    main()
