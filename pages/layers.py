"""Layers page: the factors of a result, per layer (deep) or per scale (pNMF), drawn for the data's kind."""

from __future__ import annotations

import numpy as np
import streamlit as st

from nmfcore import plot
from nmfcore.app import views
from nmfcore.app.text import literal
from nmfcore.data.lazy_checks import is_lazy_array
from nmfcore.judge import spectral_angle_distance
from pages import _state


def _drawn(H, how: str, draw) -> views.ItemView:
    """``draw()``, the items a view of H draws; once per session for a lazy H, whose chunks may be remote."""
    return _state.memo("item_views", (H.name, how), draw) if is_lazy_array(H) else draw()


def _layer_view(ds, layer, index: int) -> None:
    W, H = np.asarray(layer.W), layer.H  # a lazy H stays lazy: each view draws its items from it
    kind = None if ds is None else ds.kind
    if kind == "images" and ds.image_shape is not None:
        st.plotly_chart(plot.image_grid(W, ds.image_shape), key=f"basis_{index}")
    elif kind == "hyperspectral" and ds.spatial_shape is not None:
        shown = _drawn(H, "map", lambda: views.view_map(H, ds.spatial_shape))
        left, right = st.columns(2)
        left.markdown(f"**Endmember spectra · {literal(layer.name)}**")
        left.plotly_chart(plot.spectra(W, wavelengths=ds.wavelengths), key=f"spectra_{index}")
        right.markdown(f"**Abundance maps · {literal(layer.name)}**")
        right.plotly_chart(plot.abundance_maps(shown.H, shown.shape), key=f"abundance_{index}")
        if shown.note:
            right.caption(shown.note[0].upper() + shown.note[1:])
        truth = (ds.meta.get("ground_truth") or {}).get("W")
        if truth is not None and truth.shape == W.shape:
            mean_sad, per_column, _ = spectral_angle_distance(W, truth)
            left.metric("Mean spectral angle to the true endmembers", f"{mean_sad:.2f}°",
                        help="Hungarian-matched; per endmember: "
                             + ", ".join(f"{a:.1f}°" for a in per_column))
    elif kind in ("text", "scrna"):
        what = "words" if kind == "text" else "genes"
        st.markdown(f"**Top {what} per factor · {literal(layer.name)}**")
        st.plotly_chart(plot.topic_table(W, ds.feature_names, n_top=10), key=f"topics_{index}")
        if kind == "scrna":
            _cell_views(ds, _drawn(H, "items", lambda: views.view_items(H)), index)
    else:
        first = np.asarray(H[:, :300])
        left, right = st.columns(2)
        left.plotly_chart(plot.heatmap(W[:300], title="W (features × factors)"), key=f"W_{index}")
        right.plotly_chart(plot.heatmap(first, title="H (factors × items)"), key=f"H_{index}")
        if H.shape[1] > first.shape[1]:
            right.caption(f"Showing the first {first.shape[1]:,} of {H.shape[1]:,} items")


def _cell_views(ds, shown: views.ItemView, index: int) -> None:
    labels = shown.take(_state.labels_of(ds))
    options = ["dominant factor"] + (["label"] if labels is not None else [])
    colour = st.radio("Colour cells by", options, horizontal=True, key=f"cell_colour_{index}",
                      help="Which factor has the largest usage in each cell, or the cell's label.")
    H = shown.H
    values = labels if colour == "label" else views.dominant_factor(H)
    if shown.note:
        st.caption(f"Cells: {shown.note} (a random subsample, the same on every visit); the factors use every cell.")
    st.plotly_chart(plot.embedding(plot.embed_items(H), color=values, hover=shown.take(ds.item_names),
                                   title="Cells in 2-D (PCA of the factor usages)",
                                   axis_titles=("PC 1", "PC 2")), key=f"cells_{index}")
    if labels is not None:
        means, classes = plot.mean_by_label(H, labels)
        st.plotly_chart(plot.heatmap(means, x=classes, y=[f"factor {k}" for k in range(H.shape[0])],
                                     title="Mean factor usage per label (rows sum to 1)"),
                        key=f"factor_label_{index}")


def _hierarchy(ds, result, layers) -> None:
    coupling = views.coupling_matrices(result)
    if coupling is None:
        return
    labels = None
    if ds is not None and ds.kind in ("text", "scrna"):
        labels = views.factor_labels(layers, ds.feature_names)
    title = "Topic hierarchy" if ds is not None and ds.kind == "text" else "Merge tree between layers"
    st.subheader(title)
    st.plotly_chart(plot.merge_tree(coupling, layer_names=[l.name for l in layers], factor_labels=labels,
                                    title=None), key="merge_tree")


def _convergence(result, name: str) -> None:
    st.subheader("Convergence")
    left, right = st.columns(2)
    if np.size(result.loss):
        left.plotly_chart(plot.convergence({name: np.asarray(result.loss)}, title="Loss per iteration"), key="conv")
    errors = views.layer_error_history(result)
    relative_error = views.relative_error_of(result)
    if errors is not None:
        right.plotly_chart(plot.layer_errors(errors), key="layer_errors")
    elif relative_error is not None:
        right.metric("Relative error ‖X − WH‖/‖X‖", f"{relative_error:.4f}")


def _compare(current: str) -> None:
    kept = _state.results()
    if len(kept) < 2:
        return
    st.subheader("Compare results")
    chosen = st.multiselect("Results to overlay", list(kept), default=[current], key="compare",
                            help="Loss curves of several kept results on one plot.")
    curves = views.loss_curves(kept, chosen)
    if curves:
        st.plotly_chart(plot.convergence(curves, title="Loss per iteration"), key="compare_plot")


st.title("Layers")
name = _state.select_result()
if name is None:
    st.info("No result yet: run a model on the Model page, or upload exported factors on the Export page.")
    st.page_link("pages/model.py", label="Go to Model", icon=":material/tune:")
    st.stop()

result = _state.results()[name]
ds = _state.dataset_for(name)
if ds is None:
    st.warning("The data this result was fitted on is not loaded, so only generic views are shown.")
layers = result.layers()
st.caption(f"Model: {literal(result.params.get('model', '?'))} · {len(layers)} layer(s)")

if views.is_per_scale(result):
    t = st.select_slider("Scale", options=list(range(len(layers))), value=0, key="layers_scale",
                         format_func=lambda i: layers[i].name,
                         help="pNMF learns one factorisation per scale; scale 1 is the finest.")
    shown = [(t, layers[t])]
else:
    shown = list(enumerate(layers))

for index, layer in shown:
    st.subheader(literal(layer.name))
    _layer_view(ds, layer, index)
_hierarchy(ds, result, layers)
_convergence(result, name)
_compare(name)
