"""Canonical scales at scale: exact H0 without dense distances, and pNMF memory on 10,000 cells.

Prints two markdown tables:

1. time of :func:`nmfcore.canonical_scales` (exact Euclidean MST + diameter) on
   50,000 points in 20 dimensions (uniform cube and ten Gaussian blobs), with
   the MST checked against a k-d-tree-free reference on a 3,000-point subsample;
2. peak traced memory of :func:`nmfcore.pnmf` on a synthetic 10,000-cell sparse
   count matrix (2,000 genes, ten cell types) with 20 selected scales, against
   the 20 x n² x 8 bytes that dense per-scale adjacencies alone would need.

Run: ``python benchmarks/bench_scales.py`` (about two to four minutes on 2 cores).
"""

from __future__ import annotations

import math
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.cluster.hierarchy import linkage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nmfcore import canonical_scales, cluster_scores, pnmf  # noqa: E402
from nmfcore.topology.homology import barcodes  # noqa: E402


def _points(kind: str, n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "uniform":
        return rng.random((n, dim))
    centres = rng.random((10, dim)) * 20
    return np.abs(centres[rng.integers(0, 10, n)] + rng.normal(size=(n, dim)))


def _cells(n_cells: int, n_genes: int, rng: np.random.Generator) -> tuple[sp.csr_matrix, np.ndarray]:
    labels = rng.integers(0, 10, n_cells)
    programmes = rng.gamma(0.3, 1.0, size=(10, n_genes))
    rates = programmes[labels] * rng.gamma(2.0, 0.5, size=(n_cells, 1))
    counts = rng.poisson(rates * 0.4)
    return sp.csr_matrix(counts.T.astype(np.float64)), labels


def scales_table(rng: np.random.Generator) -> None:
    print("| data (n x d) | canonical scales | seconds | MST == single linkage on a 3,000-point subsample |")
    print("| --- | --- | --- | --- |")
    for kind in ("uniform", "blobs"):
        points = _points(kind, 50_000, 20, rng)
        start = time.perf_counter()
        scales = canonical_scales(points.T)
        seconds = time.perf_counter() - start
        sub = points[:3000]
        ok = np.allclose(barcodes(sub.T, maxdim=0).deaths, np.sort(linkage(sub, "single")[:, 2]), rtol=1e-10)
        print(f"| {kind} (50000 x 20) | {scales.size} | {seconds:.1f} | {ok} |")


def memory_table(rng: np.random.Generator) -> None:
    n_cells, n_genes, n_scales = 10_000, 2_000, 20
    X, labels = _cells(n_cells, n_genes, rng)
    rank = math.ceil(math.sqrt(n_cells))
    tracemalloc.start()
    start = time.perf_counter()
    result = pnmf(
        X, rank, n_scales=n_scales, preprocess="log1p_l2", max_iter=2, init_iter=2, random_state=0
    )
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    dense_graphs = n_scales * n_cells**2 * 8
    ari = cluster_scores(result.H[0], labels)["ari"]
    print("| cells x genes (nnz) | scales | rank | sweeps | seconds | peak traced memory | dense T x n² adjacencies alone | ARI t=1 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {n_cells} x {n_genes} ({X.nnz}) | {n_scales} | {rank} | {result.n_sweeps} | {seconds:.0f} | "
        f"{peak / 2**30:.2f} GiB | {dense_graphs / 2**30:.1f} GiB | {ari:.3f} |"
    )


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"# Scales benchmark ({time.strftime('%Y-%m-%d')}, {platform.machine()}, {platform.python_version()})\n")
    scales_table(rng)
    print()
    memory_table(rng)


if __name__ == "__main__":
    main()
