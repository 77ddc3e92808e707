"""Persistence page: barcodes, canonical scales, the graph and the pNMF embedding at a scale."""

from __future__ import annotations

import streamlit as st

from nmfcore import plot
from nmfcore.app import views
from nmfcore.app.text import literal
from nmfcore.topology import barcodes, canonical_scales
from pages import _state

MAX_SCALE_LINES = 200


def _barcodes(ds, fingerprint: str, maxdim: int):
    def compute():
        with st.spinner("Computing persistence…"):
            return barcodes(ds.X, maxdim=maxdim)

    return _state.memo("barcodes", (fingerprint, maxdim), compute)


def _cluster_scores(name: str, result, labels) -> dict[str, list[float]]:
    def compute():
        with st.spinner("Scoring k-means clusters at every scale…"):
            return views.scale_cluster_scores(result, labels)

    return _state.memo("scale_scores", name, compute)


st.title("Persistence")
ds = _state.require_dataset()
fingerprint = _state.fingerprint()

pnmf_names = views.results_of_model(_state.results(), "pnmf")
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
    st.error(literal(exc))
    st.stop()
st.caption(bc.note)

full = canonical_scales(bc)
selected = None if result is None else views.result_scales(result)
if selected is not None:
    st.caption(f"Selected scales: the {selected.size} scales of **{literal(result_name)}**.")
else:
    c1, c2 = st.columns(2)
    k = int(c1.number_input("Scales in the reduced set", 2, max(2, full.size), min(10, max(2, full.size)),
                            key="n_scales", help="How many canonical scales a pNMF fit would use."))
    method = c2.radio("Reduction", ["levels", "gaps"], horizontal=True, key="scale_method",
                      help="levels: equal relative drops in the number of components; gaps: longest-lived.")
    selected = canonical_scales(bc, n_scales=k, method=method)

# starts in the middle of the range: scale 1 has no edges yet, the last joins every item
t = st.select_slider("Scale", options=list(range(selected.size)), value=selected.size // 2, key="scale_index",
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
coords = _state.memo("item_coords", fingerprint, lambda: plot.embed_items(ds.X))
edges, edge_note = views.scale_graph_edges(ds.X, bc, eps)
left, right = st.columns(2)
left.plotly_chart(plot.embedding(coords, color=labels, edges=edges, hover=ds.item_names,
                                 title=views.scale_graph_title(eps, len(edges)), axis_titles=("PC 1", "PC 2")),
                  key="scale_graph")
left.caption(f"Drawn: {edge_note}. Items are placed by the first two principal components of X.")

if result is not None:
    layers = result.layers()
    H_t = layers[min(t, len(layers) - 1)].H
    points, axis_titles = views.embedding_points(H_t)
    colour = labels if labels is not None else views.dominant_factor(H_t)
    right.plotly_chart(plot.embedding(points, color=colour, hover=ds.item_names,
                                      title=f"pNMF embedding H_t at scale {t + 1}", axis_titles=axis_titles),
                       key="pnmf_embedding")
    increments = views.scale_increments(result)
    if increments is not None:
        st.plotly_chart(plot.scale_curves({"‖H_{t+1} − H_t‖_F": increments}, title="Increments between scales",
                                          ylabel="Frobenius norm"), key="increments")
    if labels is not None:
        scores = _cluster_scores(result_name, result, labels)
        st.plotly_chart(plot.scale_curves(scores, title="k-means on H_t against the labels, per scale",
                                          ylabel="score", current=t + 1), key="scale_scores")
else:
    right.info("Run pNMF on the Model page to see its embedding at each scale here.")
