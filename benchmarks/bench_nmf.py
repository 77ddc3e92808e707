"""Classic NMF: nmfcore against scikit-learn, side by side, from the same start point.

For each case both libraries start from the same NNDSVDa factors and run the same
iteration budget with no early stop. Printed per case:

- scikit-learn's total time and final loss;
- nmfcore's time to reach scikit-learn's final loss (to a relative 1e-9: for the
  same update rule the two differ only by rounding), its time per iteration and
  final loss;
- the floor of one iteration: the time of the matrix products the iteration cannot
  avoid, measured here in the same run (see ``floor_*`` below).

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

import numpy as np
import scipy.io
import scipy.sparse as sp
from sklearn.decomposition import NMF as SklearnNMF
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import nmfcore  # noqa: E402
from nmfcore._products import sampled_product  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def best_of(fn, repeats: int = 5) -> float:
    """Smallest wall time of ``repeats`` calls (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def floor_frobenius(X, W, H) -> float:
    """HALS/MU β=2: WᵀX and XHᵀ (plus the r x r Gram matrices)."""
    return best_of(lambda: (W.T @ X, X @ H.T, W.T @ W, H @ H.T))


def floor_kl(X, W, H) -> float:
    """MU β=1, dense: V = WH twice, Wᵀ(X/V) and (X/V)Hᵀ; the products alone."""
    R = X / (W @ H)
    return best_of(lambda: (W @ H, W.T @ R, W @ H, R @ H.T))


def floor_kl_sparse(X, W, H) -> float:
    """MU β=1, sparse: two products of X's pattern with a dense factor (Xᵀ-side and X-side)
    and two evaluations of W H at X's non-zeros (compiled sampled product, the fastest
    kernel for it that we know of)."""
    XT = X.T.tocsr()
    out = np.empty(X.nnz)
    return best_of(lambda: (XT @ W, X @ H.T, sampled_product(W, H, X, out), sampled_product(W, H, X, out)))


def warm_up() -> None:
    """Load (or compile, on a fresh install) nmfcore's compiled kernels before timing."""
    rng = np.random.default_rng(0)
    for X in (rng.random((20, 15)), sp.random(20, 15, density=0.3, random_state=0, format="csr")):
        for beta in (1, 2):
            nmfcore.nmf(X, 2, beta=beta, max_iter=2)


def run_case(name, X, rank, beta, sk_solver, budget, floor_fn):
    W0, H0 = nmfcore.initialize(X, rank, "nndsvda", random_state=0)
    Xt = X.T.tocsr() if sp.issparse(X) else np.ascontiguousarray(X.T)
    model = SklearnNMF(rank, beta_loss=beta, solver=sk_solver, init="custom", max_iter=budget, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        coef = model.fit_transform(Xt, W=H0.T.copy(), H=W0.T.copy())
        sk_time = time.perf_counter() - start
    sk_loss = nmfcore.beta_divergence(X, model.components_.T, coef.T, beta)

    ours = nmfcore.nmf(X, rank, beta=beta, init=(W0, H0), max_iter=budget, tol=0)
    # Identical update rules (MU) give the same losses up to rounding: "reached" allows 1e-9.
    reached = np.flatnonzero(ours.loss <= sk_loss * (1 + 1e-9))
    t_reach = float(ours.times[reached[0]]) if reached.size else float("nan")
    per_iter = float(np.median(np.diff(ours.times)))
    floor = floor_fn(X, ours.W, ours.H)
    return {
        "case": name,
        "iters": budget,
        "sk_time": sk_time,
        "sk_loss": sk_loss,
        "our_reach": t_reach,
        "reach_iter": int(reached[0]) if reached.size else None,
        "speedup": sk_time / t_reach if reached.size else float("nan"),
        "per_iter": per_iter,
        "sk_per_iter": sk_time / budget,
        "floor": floor,
        "our_loss": float(ours.loss[-1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budgets, for a smoke run")
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
    warm_up()
    rows = [run_case(n, X, r, b, s, max(5, int(it * scale)), f) for n, X, r, b, s, it, f in cases]

    print(f"Classic NMF benchmark, {datetime.date.today()}, {platform.machine()} with "
          f"{os.cpu_count()} cores, numpy {np.__version__}, scikit-learn "
          f"{__import__('sklearn').__version__}\n")
    print("| case | iterations | sklearn time (s) | nmfcore time to sklearn's loss (s) | speed-up "
          "| nmfcore s/iter | sklearn s/iter | floor s/iter | nmfcore / floor | final loss sklearn | final loss nmfcore |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['iters']} | {r['sk_time']:.2f} | {r['our_reach']:.2f} (iter {r['reach_iter']}) "
              f"| {r['speedup']:.2f}x | {r['per_iter']:.4f} | {r['sk_per_iter']:.4f} | {r['floor']:.4f} "
              f"| {r['per_iter'] / r['floor']:.2f}x | {r['sk_loss']:.6g} | {r['our_loss']:.6g} |")


if __name__ == "__main__":
    main()
