"""Deep KL-NMF on CBCL: the paper's table, time per iteration against its GEMM floor, full-run time.

Reproduces Leplat, Hien, Onwunta & Gillis (2024), CBCL faces: X.T (2429 x 361),
ranks [80, 40, 20], β = 1, ``--iters`` multilayer iterations per layer then as
many deep iterations. Prints markdown tables:

1. the paper's protocol (caption of its Figure 2): per-layer error of deep KL-NMF
   (``--iters`` multilayer iterations as its start, then ``--iters`` deep ones) divided
   by that of multilayer KL-NMF run for ``2 * --iters`` iterations per layer, and the
   mean Hoyer sparsity of the layer features (rows of H_l … H_1, i.e. basis images)
   of both, ours beside the paper's;
2. seconds per deep iteration against the floor of its unavoidable matrix
   products (the four m-sized GEMMs per layer, timed alone in the same run);
   then ours, nn-fac's deep KL step (``pip install nn-fac``) and the floor
   interleaved from the same multilayer start;
3. the full run's wall time in float64 and float32;
4. Samson (156 bands x 9025 pixels, r = [3, 2]): SAD of the layer-1 endmembers
   against the ground truth for multilayer, deep and min-vol deep KL-NMF, and
   which materials layer 2 merges.

Usage: ``python benchmarks/bench_deep.py [--iters 500] [--data ../shared/datasets/CBCL.mat]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import scipy.io

from nmfcore.deep import deep_nmf, multilayer_nmf
from nmfcore.judge.metrics import hoyer_sparsity, spectral_angle_distance

RANKS = [80, 40, 20]
PAPER_RATIO = [108.3, 26.8, 4.4]
OCTAVE_RATIO = [108.1, 25.0, 4.5]
PAPER_HOYER = [(58.5, 70.1), (37.3, 50.6), (22.1, 27.1)]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DEFAULT_DATA = SHARED / "CBCL.mat"
MATERIALS = ["soil", "tree", "water"]


def _best_of(func, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def gemm_floor(X: np.ndarray, result, repeats: int = 20) -> float:
    """Seconds for the matrix products one deep iteration cannot avoid, at the same shapes and dtype.

    Per layer: Wᵀ(Y ⊘ V) for H, W H for the new V, (Y ⊘ V) Hᵀ for W, and W H for
    the loss; all four are (m x r_{l−1}) by r_l products.
    """
    products = _floor_products(X, [W.astype(X.dtype) for W in result.W], [H.astype(X.dtype) for H in result.H])
    products()
    return _best_of(products, repeats)


def _floor_products(X: np.ndarray, Ws: list, Hs: list):
    """A function running the four unavoidable products of every layer (see :func:`gemm_floor`)."""
    Ys = [X] + Ws[:-1]

    def products():
        for Y, W, H in zip(Ys, Ws, Hs):
            W.T @ Y
            W @ H
            Y @ H.T
            W @ H

    return products


def side_by_side(X: np.ndarray, result, n_steps: int) -> tuple[float, float, float] | None:
    """Median seconds per deep iteration of ours, nn-fac and the GEMM floor, interleaved.

    Both start from our multilayer initialisation (``result.init``) in X's dtype
    and take ``n_steps`` iterations in turn, so that load on the machine hits
    both alike. None when nn-fac is not installed.
    """
    try:
        from nn_fac.deep_nmf import one_step_deep_KL_nmf
    except ImportError:
        return None
    from nmfcore.deep.state import DeepState

    init = result.init
    scale = float(X.mean())
    ours = DeepState(X / scale, [W / scale for W in init.W], [H.copy() for H in init.H], 1.0, "rows",
                     init.lambdas * scale)
    for layer in range(len(RANKS)):
        ours.error(layer)
    W = [w.copy() for w in init.W]
    H = [h.copy() for h in init.H]
    lam = init.lambdas
    floor = _floor_products(X, [w.copy() for w in init.W], [h.copy() for h in init.H])

    times: dict[str, list[float]] = {"ours": [], "nn-fac": [], "floor": []}
    with np.errstate(all="ignore"):  # nn-fac's Lambert-W form overflows on some entries
        for _ in range(n_steps):
            for name, step in (("ours", lambda: [ours.step(l) for l in range(len(RANKS))]),
                               ("nn-fac", lambda: one_step_deep_KL_nmf(X, W, H, RANKS, lam, 1e-6)),
                               ("floor", floor)):
                start = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - start)
    return tuple(float(np.median(times[name])) for name in ("ours", "nn-fac", "floor"))


def _nnfac_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nn-fac")
    except PackageNotFoundError:
        return ""


def features_sparsity(result) -> list[float]:
    return [100 * float(hoyer_sparsity(result.coefficients(l), axis=1).mean()) for l in range(1, 4)]


def samson_table(iters: int, alpha: float, seed: int) -> None:
    """SAD (degrees) of the layer-1 endmembers on Samson for the three models."""
    data = scipy.io.loadmat(SHARED / "samson.mat")
    truth = scipy.io.loadmat(SHARED / "samson_groundtruth.mat")["M"]
    X = data["V"].astype(float)
    deep = deep_nmf(X, [3, 2], init_iter=iters, max_iter=iters, tol=0, random_state=seed)
    minvol = deep_nmf(X, [3, 2], min_volume=[alpha, alpha], init_iter=iters, max_iter=iters, tol=0,
                      random_state=seed)
    print(f"\n## Samson, r = [3, 2], {iters} + {iters} iterations: SAD of layer-1 endmembers (degrees)\n")
    print("| model | mean SAD | " + " | ".join(MATERIALS) + " |")
    print("|---|---|" + "---|" * len(MATERIALS))
    for name, W in (("multilayer KL-NMF", deep.init.W[0]), ("deep KL-NMF", deep.W[0]),
                    (f"min-vol deep KL-NMF (α̃ = {alpha:g})", minvol.W[0])):
        mean, per, _ = spectral_angle_distance(W, truth)
        print(f"| {name} | {mean:.2f} | " + " | ".join(f"{v:.1f}" for v in per) + " |")
    _, _, perm = spectral_angle_distance(minvol.W[0], truth)
    name_of = {int(perm[k]): MATERIALS[k] for k in range(len(MATERIALS))}
    groups = [" + ".join(name_of[j] for j in children) for children in minvol.tree()[2]]
    print(f"\nMin-vol layer 2 factors merge: {'; '.join(groups)}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=500, help="multilayer iterations per layer = deep iterations")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samson-iters", type=int, default=100)
    parser.add_argument("--samson-alpha", type=float, default=10.0)
    args = parser.parse_args()

    X64 = scipy.io.loadmat(args.data)["X"].T.copy()
    runs = {}
    for dtype in (np.float64, np.float32):
        X = X64.astype(dtype)
        start = time.perf_counter()
        result = deep_nmf(X, RANKS, beta=1, init_iter=args.iters, max_iter=args.iters, tol=0,
                          random_state=args.seed)
        runs[np.dtype(dtype).name] = (result, time.perf_counter() - start, gemm_floor(X, result))

    result = runs["float64"][0]
    baseline = multilayer_nmf(X64, RANKS, beta=1, max_iter=2 * args.iters, random_state=args.seed)
    ratio = 100 * result.layer_errors[-1] / baseline.layer_errors[-1]
    sparsity_ml = features_sparsity(baseline)
    sparsity_deep = features_sparsity(result)
    print(f"## Deep KL-NMF on CBCL (X.T, r = {RANKS}, {args.iters} + {args.iters} iterations, float64), "
          f"against multilayer KL-NMF after {2 * args.iters} iterations per layer\n")
    print(f"{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}\n")
    print("| layer | error deep / multilayer (ours) | paper | authors' code (Octave) "
          "| Hoyer multilayer (ours / paper) | Hoyer deep (ours / paper) |")
    print("|---|---|---|---|---|---|")
    for l in range(3):
        print(f"| {l + 1} | {ratio[l]:.1f} % | {PAPER_RATIO[l]} % | {OCTAVE_RATIO[l]} % "
              f"| {sparsity_ml[l]:.1f} / {PAPER_HOYER[l][0]} % | {sparsity_deep[l]:.1f} / {PAPER_HOYER[l][1]} % |")

    print("\n## Time per deep iteration vs its matrix-product floor\n")
    print("| run | median s / iteration | GEMM floor (s) | ratio to floor | full run (s) | of which init (s) |")
    print("|---|---|---|---|---|---|")
    for name, (res, total, floor) in runs.items():
        per_iter = float(np.median(np.diff(res.times[1:]))) if res.n_iter > 1 else float("nan")
        print(f"| ours, {name} | {per_iter:.4f} | {floor:.4f} | {per_iter / floor:.2f}x | {total:.1f} "
              f"| {res.times[0]:.1f} |")
    n_side = min(30, args.iters)
    side = side_by_side(X64, result, n_side)
    print(f"\n## Side by side with nn-fac: same multilayer start, float64, {n_side} iterations "
          "each, interleaved (medians)\n")
    if side is None:
        print("nn-fac is not installed (pip install nn-fac); no comparison.")
    else:
        ours, nnfac, floor = side
        print("| run | s / iteration | ratio to GEMM floor | nn-fac / ours |")
        print("|---|---|---|---|")
        print(f"| ours | {ours:.4f} | {ours / floor:.2f}x | |")
        print(f"| nn-fac {_nnfac_version()} | {nnfac:.4f} | {nnfac / floor:.2f}x | {nnfac / ours:.1f}x |")
        print(f"| GEMM floor | {floor:.4f} | 1.00x | |")
    samson_table(args.samson_iters, args.samson_alpha, args.seed)


if __name__ == "__main__":
    main()
