"""Classic NMF: nmfcore against scikit-learn, side by side, from the same start point.

For each case both libraries start from the same NNDSVDa factors and run the same
iteration budget with no early stop. The runs are interleaved (scikit-learn,
nmfcore's default solver, nmfcore's classic MU, then again) ``--repeats`` times,
and each keeps its fastest run, so that a busy spell of a shared machine does not
fall on one side only. Printed per case:

- scikit-learn's time and final loss;
- nmfcore's time to reach scikit-learn's final loss (to a relative 1e-9: for the
  same update rule the two differ only by rounding), the iteration where it does,
  and its final loss;
- nmfcore's median time per iteration beside that of its floor, the matrix
  products the iteration cannot avoid (``floor_*`` below) with outputs
  preallocated: BLAS products in the form nmfcore runs them (blocks on threads
  with single-threaded BLAS for dense data), sparse ones with the faster of
  SciPy's and a compiled kernel. The two are timed in alternation, iteration by
  iteration, continuing from the fitted factors (:func:`_per_iteration`); a
  second table compares the blocked products with multithreaded BLAS;
- the same for nmfcore's ``solver="mu"``, which uses scikit-learn's update rule.

Run from the repository root: ``python benchmarks/bench_nmf.py`` (add ``--quick``
for a smoke run). Needs ``../shared/datasets``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numba
import numpy as np
import scipy.io
import scipy.sparse as sp
from sklearn.decomposition import NMF as SklearnNMF
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import nmfcore  # noqa: E402
from nmfcore.utils.parallel import block_count, blocks, run_tasks, single_threaded_blas  # noqa: E402
from nmfcore.classic.products import sampled_product  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def best_of(fn, repeats: int = 9) -> float:
    """Smallest wall time of ``repeats`` calls (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _dense(X) -> np.ndarray:
    return np.ascontiguousarray(X)  # the layout nmfcore works in


def _faster(*candidates):
    """The candidate (a zero-argument callable) with the best time."""
    return min(candidates, key=best_of)


class Products:
    """The products an iteration cannot avoid, run two ways: with multithreaded BLAS
    (``plain``), and split into blocks on nmfcore's threads with single-threaded
    BLAS (``blocked``, the caller holds the BLAS limit), as nmfcore's dense solvers
    run them."""

    def __init__(self, plain, blocked_task=None, n_blocks: int = 1):
        self.plain = plain
        self._task, self._n_blocks = blocked_task, n_blocks

    def blocked(self):
        if self._task is None:
            return self.plain()
        return run_tasks(self._task, self._n_blocks)

    def blocked_over_plain(self) -> float | None:
        """Best time of the blocked form over the best time of the plain form (None: one form).

        Each starts after a pause: OpenBLAS's workers spin for about 0.1 s after a
        multithreaded call and would slow whichever form comes next.
        """
        if self._task is None:
            return None
        time.sleep(0.3)
        with single_threaded_blas():
            blocked = best_of(self.blocked)
        time.sleep(0.3)
        return blocked / best_of(self.plain)


def floor_frobenius(X, W, H) -> Products:
    """HALS β=2: the products of one plain HALS iteration, WᵀX, WᵀW, (WᵀW)H for H's
    gradient, then XHᵀ, HHᵀ, W(HHᵀ) for W's."""
    if sp.issparse(X):
        XT = X.T.tocsr()
        return Products(lambda: (XT @ W, (W.T @ W) @ H, X @ H.T, W @ (H @ H.T)))
    X = _dense(X)
    WtX, XHt, BH = np.empty_like(H), np.empty_like(W), np.empty_like(H)
    count = block_count(1 << 20, float("inf"))
    rows, cols = blocks(X.shape[0], count), blocks(X.shape[1], count)

    def products():
        np.matmul(W.T, X, out=WtX)
        np.matmul(W.T @ W, H, out=BH)
        np.matmul(X, H.T, out=XHt)
        return W @ (H @ H.T)

    def blocked(b):
        np.matmul(W.T, X[:, cols[b]], out=WtX[:, cols[b]])
        np.matmul(W.T @ W, H[:, cols[b]], out=BH[:, cols[b]])
        np.matmul(X[rows[b]], H.T, out=XHt[rows[b]])
        return W[rows[b]] @ (H[:, cols[b]] @ H[:, cols[b]].T)

    return Products(products, blocked, count)


def floor_kl(X, W, H) -> Products:
    """MU β=1, dense: V = WH twice, Wᵀ(X/V) and (X/V)Hᵀ; the products alone."""
    X = _dense(X)
    R = X / (W @ H)
    V, WtR, RHt = np.empty_like(X), np.empty_like(H), np.empty_like(W)
    count = block_count(1 << 20, float("inf"))
    rows = blocks(X.shape[0], count)
    parts = [np.empty_like(H) for _ in range(count)]

    def products():
        np.matmul(W, H, out=V)
        np.matmul(W.T, R, out=WtR)
        np.matmul(W, H, out=V)
        np.matmul(R, H.T, out=RHt)

    def blocked(b):
        np.matmul(W[rows[b]], H, out=V[rows[b]])
        np.matmul(W[rows[b]].T, R[rows[b]], out=parts[b])
        np.matmul(W[rows[b]], H, out=V[rows[b]])
        np.matmul(R[rows[b]], H.T, out=RHt[rows[b]])

    return Products(products, blocked, count)


@numba.njit(parallel=True, cache=True, fastmath=True)
def _csr_times_dense(indptr, indices, data, B, out):  # pragma: no cover - compiled
    """out = X B for CSR X, rows in parallel (a compiled SpMM, to compare with SciPy's)."""
    for i in numba.prange(indptr.size - 1):
        acc = out[i]
        acc[:] = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            b = B[indices[k]]
            x = data[k]
            for c in range(b.size):
                acc[c] += x * b[c]


def floor_kl_sparse(X, W, H) -> Products:
    """MU β=1, sparse: two evaluations of W H at X's non-zeros (compiled sampled product)
    and two products of X's pattern with a dense factor (Xᵀ-side and X-side), each
    with the faster of SciPy's and a compiled parallel kernel. No BLAS is involved."""
    XT = X.T.tocsr()
    Ht = np.ascontiguousarray(H.T)
    out = np.empty(X.nnz)
    XtW, XHt = np.empty((X.shape[1], W.shape[1])), np.empty_like(W)
    spmm_t = _faster(lambda: XT @ W, lambda: _csr_times_dense(XT.indptr, XT.indices, XT.data, W, XtW))
    spmm = _faster(lambda: X @ Ht, lambda: _csr_times_dense(X.indptr, X.indices, X.data, Ht, XHt))
    return Products(lambda: (sampled_product(W, H, X, out), spmm_t(), sampled_product(W, H, X, out), spmm()))


def warm_up() -> None:
    """Load (or compile, on a fresh install) nmfcore's compiled kernels before timing."""
    rng = np.random.default_rng(0)
    for X in (rng.random((20, 15)), sp.random(20, 15, density=0.3, random_state=0, format="csr")):
        for beta in (1, 2):
            for solver in ("auto", "mu"):
                nmfcore.nmf(X, 2, beta=beta, solver=solver, max_iter=2)
        floor_kl_sparse(sp.csr_matrix(X), rng.random((20, 2)), rng.random((2, 15))).plain()


def _reach(result, target: float) -> tuple[float, int | None]:
    """Seconds and iteration at which ``result`` first reaches ``target`` (nan, None if never)."""
    reached = np.flatnonzero(result.loss <= target * (1 + 1e-9))
    if not reached.size:
        return float("nan"), None
    return float(result.times[reached[0]]), int(reached[0])


def _per_iteration(X, rank, beta, solver, result, products: Products, iters: int = 120):
    """Median seconds of an iteration of ``solver`` and of its floor, in alternation.

    The fit continues from ``result``'s factors; after each iteration its callback
    runs the floor's products once, in the form the solver uses (blocked inside a
    block-parallel fit, whose BLAS limit is then in force; plain otherwise), so
    that both see the same machine from one moment to the next. An iteration's
    time is its wall time less the callback's.
    """
    floor_times: list[float] = []
    form: list = []  # decided at the first call: asking threadpoolctl takes milliseconds

    def callback(iteration, W, H, loss):
        if not form:
            form.append(products.blocked if blas_limited() else products.plain)
        start = time.perf_counter()
        form[0]()
        floor_times.append(time.perf_counter() - start)

    run = nmfcore.nmf(X, rank, beta=beta, solver=solver, init=(result.W, result.H), max_iter=iters, tol=0,
                      callback=callback)
    iteration_times = np.diff(run.times)[1:] - np.array(floor_times[:-1])
    return float(np.median(iteration_times)), float(np.median(floor_times))


def blas_limited() -> bool:
    """Whether BLAS is limited to one thread here (inside a block-parallel fit)."""
    return all(info["num_threads"] == 1 for info in threadpool_info() if info["user_api"] == "blas")


def run_case(name, X, rank, beta, sk_solver, budget, floor_fn, repeats):
    W0, H0 = nmfcore.initialize(X, rank, "nndsvda", random_state=0)
    Xt = X.T.tocsr() if sp.issparse(X) else np.ascontiguousarray(X.T)
    sk_time, ours, classic = np.inf, None, None
    for _ in range(repeats):
        model = SklearnNMF(rank, beta_loss=beta, solver=sk_solver, init="custom", max_iter=budget, tol=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            coef = model.fit_transform(Xt, W=H0.T.copy(), H=W0.T.copy())
            sk_time = min(sk_time, time.perf_counter() - start)
        sk_loss = nmfcore.beta_divergence(X, model.components_.T, coef.T, beta)
        run = nmfcore.nmf(X, rank, beta=beta, init=(W0, H0), max_iter=budget, tol=0)
        if ours is None or run.times[-1] < ours.times[-1]:
            ours = run
        run = nmfcore.nmf(X, rank, beta=beta, solver="mu", init=(W0, H0), max_iter=budget, tol=0)
        if classic is None or run.times[-1] < classic.times[-1]:
            classic = run
    products = floor_fn(X, ours.W, ours.H)
    blocked_over_plain = products.blocked_over_plain()
    rows = []
    for label, result in ((ours.params["solver"], ours), ("mu", classic)):
        t_reach, it_reach = _reach(result, sk_loss)
        per_iter, floor_time = _per_iteration(X, rank, beta, label, result, products)
        rows.append({
            "case": name, "solver": label, "iters": budget, "sk_time": sk_time, "sk_loss": sk_loss,
            "reach": t_reach, "reach_iter": it_reach, "speedup": sk_time / t_reach,
            "per_iter": per_iter, "sk_per_iter": sk_time / budget, "floor": floor_time,
            "loss": float(result.loss[-1]), "blocked_over_plain": blocked_over_plain,
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budgets, for a smoke run")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs per library (fastest kept)")
    parser.add_argument("--cases", default="0,1,2,3", help="comma-separated case numbers to run")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0

    cbcl = scipy.io.loadmat(DATA / "CBCL.mat")["X"]
    classic = scipy.io.loadmat(DATA / "classic.mat")["X"].T.tocsr().astype(float)  # words x documents
    rng = np.random.default_rng(0)
    synthetic = sp.random(20000, 2000, density=0.05, random_state=0, format="csr",
                          data_rvs=lambda k: rng.poisson(3, k) + 1.0)

    cases = [
        ("CBCL faces 361x2429, r=49, β=2 (sklearn cd)", cbcl, 49, 2, "cd", 200, floor_frobenius),
        ("CBCL faces 361x2429, r=49, β=1 (sklearn mu)", cbcl, 49, 1, "mu", 200, floor_kl),
        ("classic4 41681x7094 sparse, r=20, β=1 (sklearn mu)", classic, 20, 1, "mu", 100, floor_kl_sparse),
        ("synthetic 20000x2000 5% counts, r=20, β=1 (sklearn mu)", synthetic, 20, 1, "mu", 50, floor_kl_sparse),
    ]
    chosen = [cases[int(i)] for i in args.cases.split(",")]
    warm_up()
    rows = [row for n, X, r, b, s, it, f in chosen
            for row in run_case(n, X, r, b, s, max(5, int(it * scale)), f, args.repeats)]

    print(f"Classic NMF benchmark, {datetime.date.today()}, {platform.machine()} with "
          f"{os.cpu_count()} cores, numpy {np.__version__}, scikit-learn "
          f"{__import__('sklearn').__version__}, fastest of {args.repeats} interleaved runs\n")
    print("| case | nmfcore solver | iterations | sklearn time (s) | nmfcore time to sklearn's loss (s) "
          "| speed-up | nmfcore s/iter | sklearn s/iter | floor s/iter | nmfcore / floor "
          "| final loss sklearn | final loss nmfcore |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['solver']} | {r['iters']} | {r['sk_time']:.2f} | {r['reach']:.2f} "
              f"(iter {r['reach_iter']}) | {r['speedup']:.2f}x | {r['per_iter']:.4f} | {r['sk_per_iter']:.4f} "
              f"| {r['floor']:.4f} | {r['per_iter'] / r['floor']:.2f}x | {r['sk_loss']:.6g} | {r['loss']:.6g} |")
    print("\nThe floor's products in blocks on threads (how nmfcore runs them on dense data) against "
          "the same products with multithreaded BLAS, best of 9 each:\n")
    print("| case | blocked / multithreaded BLAS |\n|---|---|")
    for r in rows[::2]:
        ratio = r["blocked_over_plain"]
        print(f"| {r['case']} | {'no BLAS products' if ratio is None else f'{ratio:.2f}'} |")


if __name__ == "__main__":
    main()
