"""Lesson 5, deep NMF: swimmer-like stick figures, deep β-NMF against the multilayer NMF it starts from."""

from __future__ import annotations

from typing import Any

import numpy as np

from nmfcore.deep import deep_nmf


def swimmer_like(seed: int = 0) -> tuple[np.ndarray, tuple[int, int]]:
    """Swimmer-like stick figures: a torso plus four limbs, each limb in one of four positions.

    Returns
    -------
    X : ndarray, shape (11 * 11, 256)
        One 11 x 11 image per column (all 4⁴ limb combinations), flattened in C order.
    shape : (11, 11)
    """
    size = 11
    torso = np.zeros((size, size))
    torso[3:8, 5] = 1
    slopes = ((0.0, 1.0), (0.5, 1.0), (1.0, 1.0), (1.0, 0.5))  # (down, out) per step
    limbs = []
    for anchor_row, anchor_col, up, side in ((3, 4, -1, -1), (3, 6, -1, 1), (7, 4, 1, -1), (7, 6, 1, 1)):
        positions = []
        for down, out in slopes:
            image = np.zeros((size, size))
            for step in range(1, 4):
                image[int(np.floor(anchor_row + up * down * step + 0.5)),
                      int(np.floor(anchor_col + side * out * step + 0.5))] = 1
            positions.append(image)
        limbs.append(positions)
    items = []
    for choice in np.ndindex(4, 4, 4, 4):
        image = torso.copy()
        for limb, position in zip(limbs, choice):
            image = np.maximum(image, limb[position])
        items.append(image.ravel())
    return np.array(items).T, (size, size)


def deep_vs_multilayer(
    X: np.ndarray, ranks: list[int], *, max_iter: int = 100, init_iter: int = 200, seed: int = 0
) -> dict[str, Any]:
    """Deep β-NMF (β = 1) and the multilayer NMF it starts from, with the error of each layer.

    Returns
    -------
    dict
        ``deep`` (DeepNMFResult; ``deep.init`` is the multilayer result),
        ``table`` one row per layer with both errors and their ratio in percent
        (the paper's table: deep trades the first layer for the deeper ones).
    """
    deep = deep_nmf(X, list(ranks), beta=1, max_iter=max_iter, init_iter=init_iter, random_state=seed)
    multi = deep.init.layer_errors[-1]
    final = deep.layer_errors[-1]
    table = [
        {"layer": l + 1, "rank": int(r), "multilayer error": float(multi[l]),
         "deep error": float(final[l]), "deep / multilayer (%)": round(100 * final[l] / multi[l], 1)}
        for l, r in enumerate(ranks)
    ]
    return {"deep": deep, "table": table}
