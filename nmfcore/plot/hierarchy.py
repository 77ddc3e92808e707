"""How the factors of a deep model's layers merge into each other's."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from nmfcore.plot._style import as_2d, layout, plain


def merge_tree(
    H_layers: Sequence[np.ndarray],
    *,
    layer_names: Sequence[str] | None = None,
    factor_labels: Sequence[Sequence[str]] | None = None,
    min_weight: float = 0.1,
    title: str | None = "Merge tree between layers",
) -> go.Figure:
    """Sankey diagram of how the factors of each layer merge into the next layer's.

    Parameters
    ----------
    H_layers : sequence of ndarray
        The deep model's coupling matrices H_2, ..., H_L; H_l has shape
        (r_l, r_{l-1}) and its entry (k, j) says how much layer-(l-1) factor j
        goes into layer-l factor k.
    layer_names : sequence of str, optional
        Names of layers 1..L.
    factor_labels : sequence of sequences of str, optional
        A label per factor per layer (e.g. a topic's top words).
    min_weight : float
        Links whose share of factor j's column (H_l[:, j] normalised to sum 1) is
        below this are dropped.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    if not H_layers:
        raise ValueError("H_layers is empty; a merge tree needs a model with at least two layers")
    mats = [as_2d(Hl, "H_layers") for Hl in H_layers]
    sizes = [mats[0].shape[1]] + [Hl.shape[0] for Hl in mats]
    for l, Hl in enumerate(mats):
        if Hl.shape[1] != sizes[l]:
            raise ValueError(
                f"H_layers[{l}] has {Hl.shape[1]} columns but layer {l + 1} has {sizes[l]} factors"
            )
    names = list(layer_names) if layer_names is not None else [f"layer {l + 1}" for l in range(len(sizes))]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    node_labels, node_x = [], []
    for l, size in enumerate(sizes):
        for k in range(size):
            extra = f": {factor_labels[l][k]}" if factor_labels is not None else ""
            node_labels.append(plain(f"{names[l]} · {k}{extra}"))
            node_x.append(0.01 + 0.98 * l / max(len(sizes) - 1, 1))
    source, target, value = [], [], []
    for l, Hl in enumerate(mats):
        share = Hl / np.maximum(Hl.sum(axis=0, keepdims=True), np.finfo(float).tiny)
        for k, j in zip(*np.nonzero(share >= min_weight)):
            source.append(int(offsets[l] + j))
            target.append(int(offsets[l + 1] + k))
            value.append(float(share[k, j]))
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node=dict(label=node_labels, x=node_x, pad=8, thickness=14),
        link=dict(source=source, target=target, value=value),
    ))
    return layout(fig, title, height=max(300, 22 * max(sizes) + 100))
