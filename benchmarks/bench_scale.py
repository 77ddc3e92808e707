"""Atlas scale: KL-NMF of a planted 2,000,000 x 2,000 count matrix, five ways, side by side.

The matrix is written by :mod:`make_atlas` (``--atlas`` folder; made when missing) as a
chunked ``.h5ad``: Poisson counts of a rank-20 model whose cells fall in 20 known
clusters, about 5 % non-zeros. Rank 20, β = 1, the same data in every row:

1. nmfcore out of core, full batch (MU): ``load(lazy=True)`` and Dask's local threads,
   reading the chunks from disk every pass (``memory_limit`` 1 GiB, ``persist=False``);
2. nmfcore online (``solver="online"``) on the same lazy array, also within 1 GiB;
3. nmfcore full batch on a ``LocalCluster`` of 2 worker processes, 1 thread each, the
   workers reading their own chunks from the file and keeping them (``persist="auto"``);
4. scikit-learn's ``MiniBatchNMF(beta_loss="kullback-leibler")`` on the whole CSR matrix
   in memory (cells x genes, scikit-learn's orientation), its defaults otherwise;
5. nmfcore full batch in memory, the reference loss.

Row 4 runs first: its final loss is the target the other rows stop at, once they have run
``--least`` iterations (passes), so that their final loss and ARI are not those of a first
pass; each also stops at ``--max-iter`` iterations, or ``--passes`` for online. Every row's figures are kept in
``bench_scale.json`` in the atlas folder, so that rows run later reuse row 4's target and
the table shows every row run so far. Each row runs in its own fresh
process, which reports its peak resident memory when the fit returns (``ru_maxrss``; row 3 also its workers').
Printed per row: peak memory, time per pass, time to reach MiniBatchNMF's final loss,
final loss, the adjusted Rand index of the planted clusters (each cell's dominant
program), and for row 3 the bytes moved out of the workers per iteration (Dask's
``transfer_outgoing_bytes_total``) beside the partials-only figure
``workers x m x r x 8 x 2``. Losses are D_KL(X | W H) over the whole matrix; row 4's is
computed from its factors by streaming over the file, like nmfcore's own.

Run from the repository root: ``python benchmarks/bench_scale.py`` (about an hour on two
cores; ``--cells 100000 --atlas /tmp/small`` for a smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

RANK = 20
GIB = 2**30
ROWS = {
    1: "nmfcore out of core (threads, from disk)",
    2: "nmfcore online (threads, from disk)",
    3: "nmfcore on a LocalCluster (2 processes)",
    4: "scikit-learn MiniBatchNMF (in memory)",
    5: "nmfcore in memory (reference)",
}


def peak_rss() -> int:
    """Peak resident bytes of this process (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def read_csr(path: Path):
    """The atlas's X (cells x genes) as one in-memory CSR matrix, float32 values."""
    import h5py
    import scipy.sparse as sp

    with h5py.File(path, "r") as f:
        group = f["X"]
        shape = tuple(int(s) for s in group.attrs["shape"])
        return sp.csr_matrix((group["data"][:], group["indices"][:], group["indptr"][:]), shape=shape)


def streamed_kl(path: Path, cells: np.ndarray, genes: np.ndarray, block: int = 65536) -> float:
    """D_KL(X | cells @ genes) of the atlas (X cells x genes), read ``block`` cells at a time.

    ``cells`` is (n, r), ``genes`` (r, m): the factors in scikit-learn's orientation.
    """
    import h5py
    import scipy.sparse as sp

    from nmfcore.classic.divergence import beta_divergence

    total = 0.0
    with h5py.File(path, "r") as f:
        group = f["X"]
        n, m = (int(s) for s in group.attrs["shape"])
        indptr = group["indptr"][:]
        for start in range(0, n, block):
            stop = min(start + block, n)
            lo, hi = int(indptr[start]), int(indptr[stop])
            X = sp.csr_matrix((group["data"][lo:hi].astype(np.float64), group["indices"][lo:hi],
                               indptr[start:stop + 1] - lo), shape=(stop - start, m))
            total += beta_divergence(X, cells[start:stop].astype(np.float64), genes.astype(np.float64), 1)
    return total


def ari(labels: np.ndarray, H, basis_sums: np.ndarray) -> float:
    """Adjusted Rand index of the planted clusters against each cell's dominant program.

    ``H`` is (r, n), NumPy or Dask: the program of a cell is the argmax of its
    coefficients scaled by the basis columns' sums (``basis_sums``, (r,)), found chunk by
    chunk for a Dask H, so that only the n labels are ever whole.
    """
    from sklearn.metrics import adjusted_rand_score

    found = (H * basis_sums[:, None]).argmax(axis=0)
    return float(adjusted_rand_score(labels, np.asarray(found.compute() if hasattr(found, "compute") else found)))


class Recorder:
    """A callback recording (seconds, loss) per iteration, stopping at a target loss after ``least`` iterations."""

    def __init__(self, target: float | None, least: int, extra=None) -> None:
        self.start = time.perf_counter()
        self.target, self.least, self.extra = target, least, extra
        self.trace: list[tuple[float, float]] = []
        self.reached: float | None = None

    def __call__(self, iteration, W, H, loss) -> bool:
        now = time.perf_counter() - self.start
        self.trace.append((now, float(loss)))
        if self.extra is not None:
            self.extra(iteration)
        if self.target is not None and loss <= self.target and self.reached is None:
            self.reached = now
        return self.reached is None or len(self.trace) < self.least


def run_ours(row: int, atlas: Path, target: float | None, max_iter: int, passes: int, least: int) -> dict:
    """Rows 1, 2, 3 and 5: nmfcore's fit, stopped at the target loss."""
    import nmfcore
    from nmfcore.distributed import fit_chunked

    truth = np.load(atlas / "atlas_truth.npz")
    path = atlas / "atlas.h5ad"
    out: dict = {}
    client = cluster = None
    moved: list[int] = []
    if row == 3:
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)

        def record(iteration: int) -> None:
            moved.append(sum(client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total).values()))
    else:
        record = None
    callback = Recorder(target, least, record)
    started = time.perf_counter()
    if row == 5:
        X = nmfcore.load(path, max_bytes=16 * GIB).X
        callback.start = started = time.perf_counter()
        result = nmfcore.nmf(X, RANK, beta="kl", solver="mu", max_iter=max_iter, tol=0, callback=callback,
                             random_state=0)
    else:
        X = nmfcore.load(path, lazy=True).X
        out["chunks"] = len(X.chunks[1])
        callback.start = started = time.perf_counter()
        # rows 1 and 2 may use 1 GiB, so they read the chunks from disk every pass; the cluster's
        # workers keep theirs in memory when they fit (persist="auto"), as a cluster user's would
        result = fit_chunked(X, RANK, beta="kl", solver="online" if row == 2 else "mu",
                             max_iter=passes if row == 2 else max_iter, tol=0, callback=callback, random_state=0,
                             client=client if row == 3 else "threads", memory_limit=None if row == 3 else GIB,
                             persist="auto" if row == 3 else False)
    seconds = time.perf_counter() - started
    peak = peak_rss()  # the fit's: the ARI below imports scikit-learn's metrics, which the fit does not need
    out.update(seconds=seconds, passes=len(callback.trace), loss=callback.trace[-1][1],
               reached=callback.reached, trace=callback.trace,
               ari=ari(truth["labels"], result.H, result.W.sum(axis=0)), peak=peak)
    if row == 3:
        import resource as res

        out["worker_peaks"] = list(client.run(lambda: res.getrusage(res.RUSAGE_SELF).ru_maxrss * 1024).values())
        out["workers"] = len(out["worker_peaks"])
        if len(moved) >= 3:  # iteration 1 includes the set-up; later ones are steady
            out["moved_per_iter"] = (moved[-1] - moved[1]) / (len(moved) - 2)
        client.close()
        cluster.close()
    return out


def run_sklearn(atlas: Path, max_iter: int) -> dict:
    """Row 4: scikit-learn's MiniBatchNMF on the matrix in memory, its defaults but ``max_iter``."""
    from sklearn.decomposition import MiniBatchNMF

    truth = np.load(atlas / "atlas_truth.npz")
    X = read_csr(atlas / "atlas.h5ad")
    model = MiniBatchNMF(n_components=RANK, beta_loss="kullback-leibler", max_iter=max_iter, random_state=0)
    started = time.perf_counter()
    cells = model.fit_transform(X)
    seconds = time.perf_counter() - started
    peak = peak_rss()
    del X
    genes = model.components_
    loss = streamed_kl(atlas / "atlas.h5ad", cells, genes)
    return {"seconds": seconds, "passes": int(model.n_iter_), "steps": int(model.n_steps_), "loss": loss,
            "reached": seconds, "ari": ari(truth["labels"], cells.T, genes.sum(axis=1)), "peak": peak}


def child(args: argparse.Namespace) -> int:
    if args.row == 4:
        out = run_sklearn(args.atlas, args.sk_max_iter)
    else:
        out = run_ours(args.row, args.atlas, args.target, args.max_iter, args.passes, args.least)
    print("RESULT " + json.dumps(out))
    return 0


def in_child(row: int, args: argparse.Namespace, target: float | None) -> dict:
    command = [sys.executable, __file__, "--row", str(row), "--atlas", str(args.atlas),
               "--max-iter", str(args.max_iter), "--passes", str(args.passes), "--least", str(args.least),
               "--sk-max-iter", str(args.sk_max_iter)]
    if target is not None:
        command += ["--target", repr(target)]
    done = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]}
    return json.loads(lines[-1][len("RESULT "):])


def per_pass(out: dict) -> float:
    """Seconds per pass after the first (the first also holds the start point and set-up)."""
    trace = out.get("trace") or []
    if len(trace) >= 2:
        return (trace[-1][0] - trace[0][0]) / (len(trace) - 1)
    return out["seconds"] / max(out["passes"], 1)


def table(results: dict[int, dict], csr_bytes: int, m: int) -> str:
    target = results[4].get("loss")
    lines = ["| row | peak memory | first loss at | time per pass | time to MiniBatchNMF's loss | passes "
             "| final loss | ARI | bytes moved per iteration |", "|---|---|---|---|---|---|---|---|---|"]
    for row, out in sorted(results.items()):
        if "error" in out:
            lines.append(f"| {row}. {ROWS[row]} | failed: {out['error'][0]} | | | | | | | |")
            continue
        peak = f"{out['peak'] / GIB:.2f} GiB"
        if "worker_peaks" in out:
            peak += f" (workers {', '.join(f'{p / GIB:.2f}' for p in out['worker_peaks'])})"
        reached = "–" if out.get("reached") is None else f"{out['reached']:.0f} s"
        if row != 4 and out.get("reached") is not None and results[4].get("seconds"):
            reached += f" (speed-up {results[4]['seconds'] / out['reached']:.2f}x)"
        moved = "–"
        if "moved_per_iter" in out:
            formula = out["workers"] * m * RANK * 8 * 2
            moved = f"{out['moved_per_iter'] / 1e6:.2f} MB ({out['moved_per_iter'] / formula:.2f} x formula)"
        relative = f" ({100 * (out['loss'] / target - 1):+.2f} %)" if target and row != 4 else ""
        first = f"{out['trace'][0][0]:.0f} s" if out.get("trace") else "–"
        lines.append(f"| {row}. {ROWS[row]} | {peak} | {first} | {per_pass(out):.1f} s "
                     f"| {reached} | {out['passes']} | {out['loss']:.6e}{relative} | {out['ari']:.3f} | {moved} |")
    lines.append(f"\nThe in-memory CSR form of X (float32 values, int32 indices, int64 pointers): "
                 f"{csr_bytes / GIB:.2f} GiB.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--atlas", type=Path, default=HERE / "results" / "atlas")
    parser.add_argument("--cells", type=int, default=2_000_000, help="cells of the atlas, when it is written")
    parser.add_argument("--rows", default="4,5,1,2,3",
                        help="rows to run, row 4 first; '' prints the table of the rows kept")
    parser.add_argument("--max-iter", type=int, default=200, help="full-batch iterations at most")
    parser.add_argument("--passes", type=int, default=10, help="online passes at most")
    parser.add_argument("--least", type=int, default=4,
                        help="iterations (passes) each nmfcore row runs at least, past the target if need be")
    parser.add_argument("--sk-max-iter", type=int, default=200, help="MiniBatchNMF's max_iter (its default)")
    parser.add_argument("--row", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--target", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.row is not None:
        return child(args)
    path = args.atlas / "atlas.h5ad"
    if not path.exists():
        import make_atlas

        make_atlas.main([str(args.atlas), "--cells", str(args.cells)])
    import h5py

    with h5py.File(path, "r") as f:
        n, m = (int(s) for s in f["X"].attrs["shape"])
        nnz = int(f["X"]["data"].shape[0])
    csr_bytes = nnz * 8 + (n + 1) * 8
    print(f"# bench_scale: {n:,} cells x {m:,} genes, {nnz:,} non-zeros ({nnz / (n * m):.2%}), rank {RANK}, KL")
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.1f} at the start\n")
    store = args.atlas / "bench_scale.json"
    saved = {int(k): v for k, v in json.loads(store.read_text()).items()} if store.exists() else {}
    results: dict[int, dict] = {}
    for row in (int(r) for r in args.rows.split(",") if r):
        print(f"row {row}: {ROWS[row]} ...", flush=True)
        target = results.get(4, saved.get(4, {})).get("loss")
        results[row] = in_child(row, args, None if row == 4 else target)
        brief = {k: v for k, v in results[row].items() if k != "trace"}
        print(f"  {brief}", flush=True)
        store.write_text(json.dumps({**saved, **results}))
    results = {**saved, **results}
    if 4 in results:
        print()
        print(table(results, csr_bytes, m))
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
