"""Persistence page: barcodes, canonical scales, the graph and the pNMF embedding at a scale."""

from __future__ import annotations

import numpy as np
import streamlit as st

import nmfcore
from nmfcore import plot
from pages import _state

MAX_SCALE_LINES = 200
MAX_GRAPH_ITEMS = 3000


def _barcodes(ds, fingerprint: str, maxdim: int):
    key = (fingerprint, maxdim)
    cache = st.session_state.setdefault("barcodes", {})
    if key not in cache:
        with st.spinner("Computing persistence…"):
            cache[key] = nmfcore.barcodes(ds.X, maxdim=maxdim)
    return cache[key]


def _item_coords(ds, fingerprint: str) -> np.ndarray:
    cache = st.session_state.setdefault("item_coords", {})
    if fingerprint not in cache:
        cache[fingerprint] = plot.embed_items(ds.X)
    return cache[fingerprint]


def _graph_edges(ds, bc, eps: float) -> tuple[np.ndarray, str]:
    if ds.shape[1] <= MAX_GRAPH_ITEMS:
        laplacian = nmfcore.scale_graphs(ds.X, [eps])[0]
        return plot.graph_edges(laplacian), "edges of the ε-graph (heaviest 3000)"
    # a coarse ε-graph on many items has ~n² edges; its spanning tree shows the same components
    edges = bc.mst_edges[bc.deaths < eps] if bc.mst_edges is not None else np.empty((0, 2), int)
    return edges, "spanning-tree edges shorter than ε"


def _pnmf_results() -> list[str]:
    kept = _state.results()
    return [name for name, r in kept.items() if (getattr(r, "params", {}) or {}).get("model") == "pnmf"]


def _cluster_scores(name: str, result, labels) -> dict[str, list[float]]:
    cache = st.session_state.setdefault("scale_scores", {})
    if name not in cache:
        with st.spinner("Scoring k-means clusters at every scale…"):
            per_scale = [nmfcore.cluster_scores(layer.H, labels) for layer in result.layers()]
        cache[name] = {k: [s[k] for s in per_scale] for k in ("ari", "nmi", "purity", "accuracy")}
    return cache[name]


st.title("Persistence")
ds = _state.require_dataset()
fingerprint = st.session_state["fingerprint"]

pnmf_names = _pnmf_results()
result_name = None
if pnmf_names:
    result_name = st.selectbox("pNMF result", pnmf_names, index=len(pnmf_names) - 1, key="pers_result",
                               help="Its scales are the selected set; its H_t are drawn below.")
result = _state.results()[result_name] if result_name else None
origin = _state.info(result_name) if result_name else None
if origin is not None and origin.dataset is not None and origin.fingerprint != fingerprint:
    ds, fingerprint = origin.dataset, origin.fingerprint
    st.caption("Showing the data this pNMF result was fitted on, not the data loaded now.")

n = ds.shape[1]
with_h1 = st.checkbox("Also compute H1 (loops)", value=n <= 1000, key="with_h1",
                      help="H1 uses ripser; above 1000 items it runs on a greedy landmark subsample.")
try:
    bc = _barcodes(ds, fingerprint, 1 if with_h1 else 0)
except ValueError as exc:
    st.error(str(exc))
    st.stop()
st.caption(bc.note)

full = nmfcore.canonical_scales(bc)
if result is not None and getattr(result, "scales", None) is not None:
    selected = np.asarray(result.scales, dtype=float)
    st.caption(f"Selected scales: the {selected.size} scales of **{result_name}**.")
else:
    c1, c2 = st.columns(2)
    k = int(c1.number_input("Scales in the reduced set", 2, max(2, full.size), min(10, max(2, full.size)),
                            key="n_scales", help="How many canonical scales a pNMF fit would use."))
    method = c2.radio("Reduction", ["levels", "gaps"], horizontal=True, key="scale_method",
                      help="levels: equal relative drops in the number of components; gaps: longest-lived.")
    selected = nmfcore.canonical_scales(bc, n_scales=k, method=method)

t = st.select_slider("Scale", options=list(range(selected.size)), value=0, key="scale_index",
                     format_func=lambda i: f"{i + 1}: ε = {selected[i]:.4g}",
                     help="Scale 1 is the finest (no edges); the last joins every item.")
eps = float(selected[t])
bars = {0: bc.h0} if bc.h1 is None else {0: bc.h0, 1: bc.h1}
lines = full if full.size <= MAX_SCALE_LINES else None
left, right = st.columns(2)
left.plotly_chart(plot.barcode(bars, scales=lines, selected=selected, current=eps), key="barcode")
right.plotly_chart(plot.persistence_diagram(bars, scales=lines, selected=selected), key="diagram")
st.caption(f"{full.size} canonical scales (grey{'' if lines is not None else ', not drawn: too many'}); "
           f"the {selected.size} selected in red; the slider's scale dashed.")

labels = _state.labels_of(ds)
coords = _item_coords(ds, fingerprint)
edges, edge_note = _graph_edges(ds, bc, eps)
left, right = st.columns(2)
left.plotly_chart(plot.embedding(coords, color=labels, edges=edges, hover=ds.item_names,
                                 title=f"Graph at ε = {eps:.4g} ({edge_note})", axis_titles=("PC 1", "PC 2")),
                  key="scale_graph")

if result is not None:
    layers = result.layers()
    H_t = np.asarray(layers[min(t, len(layers) - 1)].H)
    points = H_t.T if H_t.shape[0] == 2 else plot.embed_items(H_t)
    colour = labels if labels is not None else np.array([f"factor {j}" for j in H_t.argmax(axis=0)])
    right.plotly_chart(plot.embedding(points, color=colour, hover=ds.item_names,
                                      title=f"pNMF embedding H_t at scale {t + 1}",
                                      axis_titles=("h1", "h2") if H_t.shape[0] == 2 else ("PC 1", "PC 2")),
                       key="pnmf_embedding")
    increments = getattr(result, "increments", None)
    if increments is not None and np.size(increments):
        st.plotly_chart(plot.scale_curves({"‖H_{t+1} − H_t‖_F": increments}, title="Increments between scales",
                                          ylabel="Frobenius norm"), key="increments")
    if labels is not None:
        scores = _cluster_scores(result_name, result, labels)
        st.plotly_chart(plot.scale_curves(scores, title="k-means on H_t against the labels, per scale",
                                          ylabel="score", current=t + 1), key="scale_scores")
else:
    right.info("Run pNMF on the Model page to see its embedding at each scale here.")
