"""scikit-learn's NMF at several iteration budgets from one run, in this process or as a fresh one.

:func:`run_budgets` runs ``sklearn.decomposition.NMF`` once for the largest
budget and reads the clock and the factors when iteration k + 1 begins (a wrapper
around the update function that ``sklearn.decomposition._nmf`` calls first in an
iteration), which is the state a run of k iterations with ``tol=0`` returns, less
its last few lines. scikit-learn is imported inside the call, so that a fresh
process pays for the import inside the timed span, as a user's first fit does.

Run as a script, it is the first fit of a fresh process::

    python benchmarks/sklearn_budgets.py FOLDER BETA SOLVER BUDGETS TOL dense|sparse

with ``FOLDER`` holding ``Xt.npy`` or (sparse) ``Xt.npz``, in scikit-learn's orientation, and
``init.npz`` (nmfcore's ``W`` and ``H``), ``BUDGETS`` comma-separated; it prints
``{budget: seconds}`` as JSON, each from before ``from sklearn.decomposition
import NMF`` to the start of iteration budget + 1 (to the end, for the largest
budget and for a run with ``TOL`` > 0, keyed then by its iteration count).
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np

# the function each scikit-learn solver calls first in an iteration (W's update, in its orientation)
_FIRST_UPDATE = {"cd": "_update_coordinate_descent", "mu": "_multiplicative_update_w"}


def run_budgets(Xt, W0: np.ndarray, H0: np.ndarray, beta: float, solver: str, budgets, tol: float = 0.0,
                origin: float | None = None) -> dict:
    """Run scikit-learn once for ``max(budgets)`` iterations; its time and factors at each budget.

    Parameters
    ----------
    Xt : ndarray or csr_matrix, shape (n, m)
        The data in scikit-learn's orientation (samples are nmfcore's items).
    W0 : ndarray, shape (m, r)
    H0 : ndarray, shape (r, n)
        nmfcore's start point (scikit-learn gets H0ᵀ and W0ᵀ).
    beta : float
    solver : {"cd", "mu"}
    budgets : iterable of int
    tol : float
        0 runs every iteration; > 0 stops as scikit-learn decides.
    origin : float, optional
        ``time.perf_counter()`` value the times count from (default: just before
        the fit, after the import).

    Returns
    -------
    dict
        ``{k: (seconds, W, H)}`` with nmfcore's W (m, r) and H (r, n) at budget k;
        with ``tol`` > 0 one entry, keyed by the iterations scikit-learn ran.
    """
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    module = sys.modules[NMF.__module__]
    name = _FIRST_UPDATE[solver]
    original = getattr(module, name)
    calls, seen = [0], {}
    wanted = set(budgets) if tol == 0 else set()

    def observed(X, W, H, *args, **kwargs):
        # cd calls it twice an iteration (W, then H with X's transpose): only the W call counts
        if solver == "mu" or calls[0] % 2 == 0:
            done = calls[0] // (2 if solver == "cd" else 1)
            if done in wanted:
                elapsed = time.perf_counter() - start
                Ht = H.T if solver == "cd" else H  # cd works on Hᵀ
                seen[done] = (elapsed, Ht.T.copy(), W.T.copy())  # sklearn's components are nmfcore's W
        calls[0] += 1
        return original(X, W, H, *args, **kwargs)

    model = NMF(W0.shape[1], beta_loss=beta, solver=solver, init="custom", max_iter=max(budgets), tol=tol)
    setattr(module, name, observed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter() if origin is None else origin
            coef = model.fit_transform(Xt, W=H0.T.copy(), H=W0.T.copy())
            total = time.perf_counter() - start
    finally:
        setattr(module, name, original)
    seen[model.n_iter_ if tol > 0 else max(budgets)] = (total, model.components_.T, coef.T)
    return seen


def main(argv: list[str]) -> None:
    folder, beta, solver, budgets, tol = argv[0], float(argv[1]), argv[2], argv[3], float(argv[4])
    if argv[5] == "sparse":
        import scipy.sparse as sp

        Xt = sp.load_npz(f"{folder}/Xt.npz")
    else:
        Xt = np.load(f"{folder}/Xt.npy")
    start = np.load(f"{folder}/init.npz")
    W0, H0 = start["W"], start["H"]
    origin = time.perf_counter()
    got = run_budgets(Xt, W0, H0, beta, solver, [int(k) for k in budgets.split(",")], tol, origin=origin)
    print(json.dumps({k: seconds for k, (seconds, _, _) in got.items()}))


if __name__ == "__main__":
    main(sys.argv[1:])
