"""A planted single-cell atlas for the out-of-core benchmarks, written chunk by chunk.

Counts are Poisson draws from a rank-``r`` model with known truth:

    X[c, g] ~ Poisson(s * l_c * (W h_c)[g])      (cells x genes, as AnnData stores them)

- ``W`` (genes x r): program k has a set of marker genes with high loadings over a
  low background; every column sums to 1, so ``W h_c`` is a distribution over genes;
- each cell belongs to one of K clusters (uniformly); cluster k's program mixture
  puts about 70 % of its weight on program ``k mod r`` and spreads the rest, and each
  cell's mixture ``h_c`` is its cluster's mixture with Gamma noise, renormalised;
- ``l_c`` is a log-normal library size around 1 and ``s`` is the mean count per cell,
  tuned (by bisection on a pilot of cells) so that the expected fraction of non-zero
  entries is ``--density``.

Output, in the folder given (default ``benchmarks/results/atlas/``, git-ignored):

- ``atlas.h5ad``: X as CSR (float32 values, int32 indices, int64 pointers), cells x
  genes, in anndata's on-disk layout; ``obs["cluster"]`` is the cluster of each cell
  (categorical), ``obs_names`` are ``cell0000000``..., ``var_names`` ``gene00000``...;
- ``atlas_truth.npz``: ``W``, ``mixtures`` (K x r), ``labels`` (cells), ``library``
  (cells), ``scale`` and the expected ``density``.

Only one chunk of cells is in memory at a time (its dense rates and counts), so memory
stays bounded whatever ``--cells`` is: ``--chunk`` defaults to 2^24 / genes cells
(about 128 MiB of float64 rates). The defaults (2,000,000 cells x 2,000 genes at 5 %)
write about 200 M non-zeros: about 1.8 GB on disk (1.6 GB of CSR, the rest cell names).

Run from the repository root: ``python benchmarks/make_atlas.py [folder] --cells N``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import h5py
import numpy as np

DEFAULT_FOLDER = Path(__file__).resolve().parent / "results" / "atlas"
#: Storage chunk of the 1-D arrays (values, indices) in entries.
_H5_CHUNK = 2**20


def planted_truth(genes: int, rank: int, clusters: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(W genes x rank with unit column sums, mixtures clusters x rank with unit row sums)."""
    W = rng.gamma(0.3, 1.0, size=(genes, rank))
    markers = max(genes // (2 * rank), 1)
    for k in range(rank):
        W[rng.choice(genes, size=markers, replace=False), k] += rng.gamma(2.0, 5.0, size=markers)
    W /= W.sum(axis=0)
    mixtures = 0.3 * rng.dirichlet(np.full(rank, 0.3), size=clusters)
    mixtures[np.arange(clusters), np.arange(clusters) % rank] += 0.7
    return W, mixtures / mixtures.sum(axis=1, keepdims=True)


def cell_rates(W: np.ndarray, mixtures: np.ndarray, labels: np.ndarray, library: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """Poisson rates before the scale, cells x genes: l_c * (W h_c)."""
    H = mixtures[labels] * rng.gamma(10.0, 0.1, size=(labels.size, mixtures.shape[1]))
    H /= H.sum(axis=1, keepdims=True)
    return (H * library[:, None]) @ W.T


def tune_scale(W: np.ndarray, mixtures: np.ndarray, density: float, rng: np.random.Generator,
               pilot: int = 2000) -> float:
    """The mean count per cell s at which E[fraction of non-zeros] = density, on a pilot of cells."""
    labels = rng.integers(0, mixtures.shape[0], size=pilot)
    rates = cell_rates(W, mixtures, labels, rng.lognormal(0.0, 0.3, size=pilot), rng)
    low, high = 1e-3, 1e9
    for _ in range(100):
        mid = np.sqrt(low * high)
        if np.mean(-np.expm1(-mid * rates)) < density:
            low = mid
        else:
            high = mid
    return float(np.sqrt(low * high))


def _strings(f: h5py.Group, name: str, values: np.ndarray) -> h5py.Dataset:
    dataset = f.create_dataset(name, data=values.astype(object), dtype=h5py.string_dtype())
    dataset.attrs["encoding-type"], dataset.attrs["encoding-version"] = "string-array", "0.2.0"
    return dataset


def _names(prefix: str, start: int, stop: int, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(start, stop).astype(str), width))


def write_atlas(folder: Path, cells: int = 2_000_000, genes: int = 2_000, density: float = 0.05,
                rank: int = 20, clusters: int | None = None, chunk: int | None = None,
                seed: int = 0, log=print) -> dict:
    """Write ``atlas.h5ad`` and ``atlas_truth.npz`` into ``folder``; return a summary.

    Parameters
    ----------
    folder : Path
    cells, genes : int
    density : float
        Expected fraction of non-zero entries, in (0, 1).
    rank : int
        Planted programs.
    clusters : int, optional
        Cell clusters; default ``rank``.
    chunk : int, optional
        Cells generated and written at a time; default 2^24 // genes.
    seed : int
    log : callable
        Progress messages.

    Returns
    -------
    dict
        path, truth, nnz, density (observed), scale, seconds.
    """
    if not 0 < density < 1:
        raise ValueError(f"density must be in (0, 1), got {density}")
    clusters = clusters or rank
    chunk = chunk or max(1, 2**24 // genes)
    rng = np.random.default_rng(seed)
    W, mixtures = planted_truth(genes, rank, clusters, rng)
    scale = tune_scale(W, mixtures, density, rng)
    labels = rng.integers(0, clusters, size=cells).astype(np.int16)
    library = rng.lognormal(0.0, 0.3, size=cells).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "atlas.h5ad"
    started = time.perf_counter()
    nnz = 0
    with h5py.File(path, "w") as f:
        f.attrs["encoding-type"], f.attrs["encoding-version"] = "anndata", "0.1.0"
        X = f.create_group("X")
        X.attrs["encoding-type"], X.attrs["encoding-version"] = "csr_matrix", "0.1.0"
        X.attrs["shape"] = np.array([cells, genes], dtype=np.int64)
        data = X.create_dataset("data", shape=(0,), maxshape=(None,), dtype=np.float32, chunks=(_H5_CHUNK,))
        indices = X.create_dataset("indices", shape=(0,), maxshape=(None,), dtype=np.int32, chunks=(_H5_CHUNK,))
        indptr = X.create_dataset("indptr", shape=(cells + 1,), dtype=np.int64)
        indptr[0] = 0
        obs = f.create_group("obs")
        obs.attrs.update({"encoding-type": "dataframe", "encoding-version": "0.2.0", "_index": "_index",
                          "column-order": np.array(["cluster"], dtype=object)})
        names = obs.create_dataset("_index", shape=(cells,), dtype=h5py.string_dtype())
        names.attrs["encoding-type"], names.attrs["encoding-version"] = "string-array", "0.2.0"
        for start in range(0, cells, chunk):
            stop = min(start + chunk, cells)
            rates = cell_rates(W, mixtures, labels[start:stop], library[start:stop], rng)
            rates *= scale
            counts = rng.poisson(rates)
            del rates
            rows, columns = np.nonzero(counts)  # in row-major order: CSR's order
            values = counts[rows, columns].astype(np.float32)
            del counts
            added = values.size
            data.resize((nnz + added,))
            indices.resize((nnz + added,))
            data[nnz:] = values
            indices[nnz:] = columns.astype(np.int32)
            indptr[start + 1:stop + 1] = nnz + np.cumsum(np.bincount(rows, minlength=stop - start))
            nnz += added
            names[start:stop] = _names("cell", start, stop, 7).astype(object)
            if (start // chunk) % 20 == 0:
                log(f"  {stop:,} / {cells:,} cells, {nnz:,} non-zeros, {time.perf_counter() - started:.0f} s")
        cluster = obs.create_group("cluster")
        cluster.attrs.update({"encoding-type": "categorical", "encoding-version": "0.2.0", "ordered": False})
        codes = cluster.create_dataset("codes", data=labels.astype(np.int8 if clusters < 128 else np.int16))
        codes.attrs["encoding-type"], codes.attrs["encoding-version"] = "array", "0.2.0"
        _strings(cluster, "categories", np.array([f"cluster{k}" for k in range(clusters)]))
        var = f.create_group("var")
        var.attrs.update({"encoding-type": "dataframe", "encoding-version": "0.2.0", "_index": "_index",
                          "column-order": np.array([], dtype=np.float64)})
        _strings(var, "_index", _names("gene", 0, genes, 5))
        for empty in ("layers", "obsm", "obsp", "varm", "varp", "uns"):
            group = f.create_group(empty)
            group.attrs["encoding-type"], group.attrs["encoding-version"] = "dict", "0.1.0"
    truth = folder / "atlas_truth.npz"
    np.savez(truth, W=W, mixtures=mixtures, labels=labels, library=library, scale=scale, density=density)
    seconds = time.perf_counter() - started
    return {"path": path, "truth": truth, "nnz": nnz, "density": nnz / (cells * genes), "scale": scale,
            "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER,
                        help=f"output folder (default {DEFAULT_FOLDER})")
    parser.add_argument("--cells", type=int, default=2_000_000)
    parser.add_argument("--genes", type=int, default=2_000)
    parser.add_argument("--density", type=float, default=0.05, help="expected fraction of non-zeros")
    parser.add_argument("--rank", type=int, default=20, help="planted programs")
    parser.add_argument("--clusters", type=int, default=None, help="cell clusters (default: rank)")
    parser.add_argument("--chunk", type=int, default=None, help="cells per write (default 2^24 / genes)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"planting {args.cells:,} cells x {args.genes:,} genes, rank {args.rank}, density {args.density:g}")
    summary = write_atlas(args.folder, args.cells, args.genes, args.density, args.rank, args.clusters,
                          args.chunk, args.seed)
    print(f"wrote {summary['path']} ({summary['nnz']:,} non-zeros, density {summary['density']:.4f}, "
          f"mean count per cell {summary['scale']:.1f}) and {summary['truth']} in {summary['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
