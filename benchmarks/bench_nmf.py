"""Classic NMF: nmfcore against scikit-learn at every iteration budget, from the same start point.

For each case both libraries start from the same NNDSVDa factors. scikit-learn
runs budgets of 100, 200, 300, 500 and 1000 iterations with no early stop, and
once with its default ``tol`` (1e-4, at most 1000 iterations). For each of its
final losses, nmfcore's default solver runs ``nmfcore.nmf(..., max_iter=k,
tol=0)`` with k the first iteration at which it reaches that loss (to a relative
1e-9; found once from a probe run). Both libraries are timed, as a user pays
for them, two ways:

- **fresh**: the first fit in a fresh process (one subprocess per measurement,
  NumPy and SciPy loaded and the data read; the time runs from the library's
  import statement, ``import nmfcore`` or ``from sklearn.decomposition import
  NMF``, to the fit's return, so each pays for what it loads; numba's compile
  cache warm, as after ``python -m nmfcore.warmup``; Python's bytecode cache on,
  as in any install);
- **warm**: in this process, imported and kernels loaded.

Each is the fastest of ``--repeats`` (3) runs, interleaved with scikit-learn's
runs so that a busy spell of a shared machine does not fall on one side only
(scikit-learn's runs of over 30 s, classic4's, run once). The last column sets
nmfcore's fresh time against scikit-learn's warm one, the comparison least
favourable to nmfcore.

scikit-learn's times and factors at every budget come from one run of the
largest budget (``benchmarks/sklearn_budgets.py``, which is also the fresh
process's script).

Printed per case as well: nmfcore's median time per iteration beside that of its
floor, the matrix products the iteration cannot avoid (``floor_*`` below) with
outputs preallocated: BLAS products in the form nmfcore runs them (blocks on
threads with single-threaded BLAS for dense data), sparse ones with the faster of
SciPy's and a compiled kernel. The two are timed in alternation, iteration by
iteration, continuing from the fitted factors (:func:`_per_iteration`), for the
default solver and for ``solver="mu"`` (scikit-learn's own rule).

Run from the repository root: ``python benchmarks/bench_nmf.py`` (add ``--quick``
for a smoke run). Needs ``../shared/datasets``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
import scipy.io
import scipy.sparse as sp
from threadpoolctl import threadpool_info

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import nmfcore  # noqa: E402
from nmfcore.utils.parallel import block_count, blocks, run_tasks, single_threaded_blas  # noqa: E402
from nmfcore.classic.fit import choose_solver  # noqa: E402
from nmfcore.classic.products import sampled_product  # noqa: E402
from sklearn_budgets import run_budgets  # noqa: E402  (benchmarks/, this script's folder)

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


# -- scikit-learn, every budget from one run ---------------------------------


def sklearn_budgets(Xt, W0, H0, beta, solver, budgets, tol=0.0):
    """scikit-learn's time and loss at each budget, from one run in this process.

    Returns ``{budget: (seconds, loss)}`` (see :func:`sklearn_budgets.run_budgets`;
    with ``tol`` > 0, one entry keyed by the iterations it ran).
    """
    X = Xt.T
    return {k: (seconds, nmfcore.beta_divergence(X, W, H, beta))
            for k, (seconds, W, H) in run_budgets(Xt, W0, H0, beta, solver, budgets, tol).items()}


def fresh_sklearn(folder: str, beta: float, solver: str, budgets, tol: float, sparse: bool) -> dict:
    """Seconds to each budget of scikit-learn's first fit in a fresh process, its import included."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("sklearn_budgets.py")), folder, str(beta), solver,
         ",".join(map(str, budgets)), str(tol), "sparse" if sparse else "dense"],
        check=True, capture_output=True, text=True, env=_fresh_env(),
    )
    return {int(k): v for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()}


# -- nmfcore, warm and in a fresh process ------------------------------------

_FRESH_FIT = """
import json, sys, time
import numpy as np, scipy.sparse as sp
folder, solver, beta, max_iter = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
X = sp.load_npz(folder + "/X.npz") if sys.argv[5] == "sparse" else np.load(folder + "/X.npy")
start = np.load(folder + "/init.npz")
t = time.perf_counter()
import nmfcore
result = nmfcore.nmf(X, start["W"].shape[1], beta=beta, solver=solver, init=(start["W"], start["H"]),
                     max_iter=max_iter, tol=0)
print(json.dumps({"time": time.perf_counter() - t, "loss": float(result.loss[-1])}))
"""


def _fresh_env() -> dict:
    """This process's environment, with Python's bytecode cache on, as in any install."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def fresh_fit(folder: str, solver: str, beta: float, max_iter: int, sparse: bool) -> tuple[float, float]:
    """Seconds and final loss of ``nmfcore.nmf`` as the first fit of a fresh Python process."""
    out = subprocess.run(
        [sys.executable, "-c", _FRESH_FIT, folder, solver, str(beta), str(max_iter), "sparse" if sparse else "dense"],
        check=True, capture_output=True, text=True, env=_fresh_env(), cwd=Path(__file__).resolve().parents[1],
    )
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    return answer["time"], answer["loss"]


def warm_fit(X, rank, beta, solver, W0, H0, max_iter) -> tuple[float, float]:
    """Seconds and final loss of ``nmfcore.nmf`` in this process."""
    start = time.perf_counter()
    result = nmfcore.nmf(X, rank, beta=beta, solver=solver, init=(W0, H0), max_iter=max_iter, tol=0)
    return time.perf_counter() - start, float(result.loss[-1])


def _first_reach(losses: np.ndarray, target: float) -> int | None:
    reached = np.flatnonzero(losses <= target * (1 + 1e-9))
    return int(reached[0]) if reached.size else None


def run_case(name, X, rank, beta, sk_solver, floor_fn, budgets, repeats, folder):
    """The sweep of one case: rows per budget (and the tol row), and the per-iteration row."""
    W0, H0 = nmfcore.initialize(X, rank, "nndsvda", random_state=0)
    sparse = sp.issparse(X)
    Xt = X.T.tocsr() if sparse else np.ascontiguousarray(X.T)
    if sparse:
        sp.save_npz(f"{folder}/X.npz", X)
        sp.save_npz(f"{folder}/Xt.npz", Xt)
    else:
        np.save(f"{folder}/X.npy", X)
        np.save(f"{folder}/Xt.npy", Xt)
    np.savez(f"{folder}/init.npz", W=W0, H=H0)
    solver = choose_solver("auto", beta)
    sk = {}  # label -> [fastest seconds in this process, loss, iterations, fastest seconds in a fresh one]
    ours: dict = {}  # label -> [iterations, warm best, fresh best, final loss]
    sk_slow = False
    for rep in range(repeats):
        if rep == 0 or not sk_slow:
            for tol, labels in ((0.0, budgets), (1e-4, None)):
                run_start = time.perf_counter()
                got = sklearn_budgets(Xt, W0, H0, beta, sk_solver, budgets, tol)
                sk_slow = sk_slow or time.perf_counter() - run_start > 30  # once is enough for long runs
                fresh = fresh_sklearn(folder, beta, sk_solver, budgets, tol, sparse)
                for k, (seconds, loss) in got.items():
                    label = k if labels is not None else "tol"
                    entry = sk.setdefault(label, [np.inf, loss, k, np.inf])
                    entry[0] = min(entry[0], seconds)
                    entry[3] = min(entry[3], fresh[k])
        if rep == 0:  # the iterations nmfcore needs for each of scikit-learn's losses
            probe = nmfcore.nmf(X, rank, beta=beta, solver=solver, init=(W0, H0), max_iter=max(budgets), tol=0)
            for label, (_, loss, _, _) in sk.items():
                ours[label] = [_first_reach(probe.loss, loss), np.inf, np.inf, np.nan]
        for label, entry in ours.items():
            k = entry[0]
            if k is None:
                continue
            seconds, loss = warm_fit(X, rank, beta, solver, W0, H0, k)
            entry[1], entry[3] = min(entry[1], seconds), loss
            seconds, loss = fresh_fit(folder, solver, beta, k, sparse)
            entry[2] = min(entry[2], seconds)
    rows = []
    for label, (sk_time, sk_loss, sk_iters, sk_fresh) in sk.items():
        k, warm, fresh, loss = ours[label]
        rows.append({
            "case": name, "solver": solver, "budget": label, "sk_iters": sk_iters, "sk_time": sk_time,
            "sk_fresh": sk_fresh, "sk_loss": sk_loss, "iters": k, "warm": warm, "fresh": fresh, "loss": loss,
        })
    products = floor_fn(X, probe.W, probe.H)
    per_iter = []
    for label in dict.fromkeys((solver, "mu")):
        run = nmfcore.nmf(X, rank, beta=beta, solver=label, init=(W0, H0), max_iter=20, tol=0)
        seconds, floor = _per_iteration(X, rank, beta, label, run, products)
        per_iter.append({"case": name, "solver": label, "per_iter": seconds, "floor": floor,
                         "sk_per_iter": sk[max(budgets)][0] / max(budgets),
                         "blocked_over_plain": products.blocked_over_plain()})
    return rows, per_iter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="budgets of 10 and 20 iterations, for a smoke run")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs per measurement (fastest kept)")
    parser.add_argument("--cases", default="0,1,2", help="comma-separated case numbers to run")
    args = parser.parse_args()
    budgets = (10, 20) if args.quick else (100, 200, 300, 500, 1000)

    cbcl = scipy.io.loadmat(DATA / "CBCL.mat")["X"]
    classic = scipy.io.loadmat(DATA / "classic.mat")["X"].T.tocsr().astype(float)  # words x documents
    cases = [
        ("CBCL faces 361x2429, r=49, β=2 (sklearn cd)", cbcl, 49, 2, "cd", floor_frobenius),
        ("CBCL faces 361x2429, r=49, β=1 (sklearn mu)", cbcl, 49, 1, "mu", floor_kl),
        ("classic4 41681x7094 sparse, r=20, β=1 (sklearn mu)", classic, 20, 1, "mu", floor_kl_sparse),
    ]
    chosen = [cases[int(i)] for i in args.cases.split(",")]
    warm_up()
    began = time.perf_counter()
    rows, per_iter = [], []
    with tempfile.TemporaryDirectory() as folder:
        for case in chosen:
            got = run_case(*case, budgets, args.repeats, folder)
            rows += got[0]
            per_iter += got[1]

    print(f"Classic NMF benchmark, {datetime.date.today()}, {platform.machine()} with {os.cpu_count()} cores, "
          f"numpy {np.__version__}, scikit-learn {__import__('sklearn').__version__}, fastest of "
          f"{args.repeats} interleaved runs; {time.perf_counter() - began:.0f} s, load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())} at the end\n")
    print("| case | sklearn budget | sklearn final loss | nmfcore solver | nmfcore iterations "
          "| sklearn fresh process (s) | nmfcore fresh process (s) | speed-up fresh "
          "| sklearn warm (s) | nmfcore warm (s) | speed-up warm | nmfcore fresh against sklearn warm |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        budget = f"tol=1e-4 ({r['sk_iters']} it.)" if r["budget"] == "tol" else str(r["budget"])
        head = (f"| {r['case']} | {budget} | {r['sk_loss']:.6g} | {r['solver']} ")
        if r["iters"] is None:
            print(f"{head}| not reached in {max(budgets)} | {r['sk_fresh']:.2f} | – | – | {r['sk_time']:.2f} "
                  "| – | – | – |")
            continue
        print(f"{head}| {r['iters']} | {r['sk_fresh']:.2f} | {r['fresh']:.2f} | {r['sk_fresh'] / r['fresh']:.2f}x "
              f"| {r['sk_time']:.2f} | {r['warm']:.2f} | {r['sk_time'] / r['warm']:.2f}x "
              f"| {r['sk_time'] / r['fresh']:.2f}x |")
    print("\nTime per iteration (median of 120, continuing from 20 iterations) beside the matrix-product floor, "
          "and the floor's products in blocks on threads against multithreaded BLAS (best of 9 each):\n")
    print("| case | nmfcore solver | nmfcore s/iter | sklearn s/iter | floor s/iter | nmfcore / floor "
          "| blocked / multithreaded BLAS |")
    print("|---|---|---|---|---|---|---|")
    for r in per_iter:
        ratio = r["blocked_over_plain"]
        print(f"| {r['case']} | {r['solver']} | {r['per_iter']:.4f} | {r['sk_per_iter']:.4f} | {r['floor']:.4f} "
              f"| {r['per_iter'] / r['floor']:.2f}x | {'no BLAS products' if ratio is None else f'{ratio:.2f}'} |")


if __name__ == "__main__":
    main()
