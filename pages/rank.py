"""Rank & compare: choose a rank by stability, and compare kept results side by side."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from nmfcore.judge import compare_results, rank_scan, score_result
from nmfcore.app.lessons import planted_example
from pages import _state

PLANTED = "planted rank-4 example"


def _data_choice() -> tuple[str, object, object]:
    """Name, X, and the data set (None for the planted example)."""
    session = st.session_state.get("dataset")
    options = ([st.session_state.get("dataset_label") or "current data set"] if session is not None else [])
    options.append(PLANTED)
    choice = st.radio("data", options, key="rank_data", horizontal=True)
    if choice == PLANTED:
        return choice, planted_example()[0], None
    return choice, session.X, session


def _scan_figure(scan) -> go.Figure:
    fig = make_subplots(rows=1, cols=3, subplot_titles=(
        "relative error / explained variance", "stability", "mean Hoyer sparsity"))
    r = scan.ranks
    fig.add_trace(go.Scatter(x=r, y=scan.error, name="relative error",
                             error_y=dict(array=scan.error_std)), row=1, col=1)
    fig.add_trace(go.Scatter(x=r, y=scan.explained_variance, name="explained variance"), row=1, col=1)
    fig.add_trace(go.Scatter(x=r, y=scan.cophenetic, name="cophenetic correlation"), row=1, col=2)
    fig.add_trace(go.Scatter(x=r, y=scan.silhouette, name="silhouette of factors"), row=1, col=2)
    fig.add_trace(go.Scatter(x=r, y=scan.sparsity_W, name="sparsity of W"), row=1, col=3)
    fig.add_trace(go.Scatter(x=r, y=scan.sparsity_H, name="sparsity of H"), row=1, col=3)
    if scan.suggested_rank is not None:
        for col in (1, 2, 3):
            fig.add_vline(x=scan.suggested_rank, line_dash="dash", line_color="red", row=1, col=col)
    fig.update_xaxes(title_text="rank", dtick=1)
    fig.update_layout(height=380, margin=dict(t=40), legend=dict(orientation="h"))
    return fig


def rank_section() -> None:
    st.header("Choose a rank")
    st.markdown(
        "For each rank, NMF is run from several random starts. A good rank gives runs that "
        "agree: the **cophenetic correlation** of the consensus matrix (Brunet et al. 2004) "
        "and the **silhouette** of the basis vectors of all runs clustered together (cNMF) "
        "stay near 1. The suggested rank (red) is the most stable rank among those past the "
        "elbow of the error curve."
    )
    name, X, ds = _data_choice()
    labels = planted_example()[1] if ds is None else _state.labels_of(ds)
    truth = None if ds is None else (getattr(ds, "meta", None) or {}).get("ground_truth")
    c1, c2, c3, c4 = st.columns(4)
    low, high = c1.slider("ranks", 1, min(20, min(X.shape)), (2, min(7, min(X.shape))), key="rank_range")
    n_runs = c2.slider("runs per rank", 3, 20, 6, key="rank_runs")
    beta = c3.selectbox("loss", ("frobenius", "kullback-leibler", "itakura-saito"), key="rank_beta")
    max_iter = c4.slider("iterations per run", 20, 500, 100, step=20, key="rank_iter")
    if st.button("Run rank scan", key="rank_run", type="primary"):
        bar = st.progress(0.0, text="fitting")
        st.session_state["rank_scan"] = (name, rank_scan(
            X, range(low, high + 1), n_runs=n_runs, beta=beta, max_iter=max_iter, random_state=0,
            callback=lambda done, total: bar.progress(done / total, text=f"fit {done} of {total}"),
        ))
        bar.empty()
    stored = st.session_state.get("rank_scan")
    if stored is None or stored[0] != name:
        st.info("Run the scan to see error, sparsity and stability against the rank.")
        return
    scan = stored[1]
    c1, c2, c3 = st.columns(3)
    c1.metric("suggested rank", scan.suggested_rank)
    c2.metric("by cophenetic correlation", scan.suggested["cophenetic"])
    c3.metric("by silhouette", scan.suggested["silhouette"])
    st.plotly_chart(_scan_figure(scan), key="rank_plot")
    st.dataframe(scan.table())
    keep = st.selectbox("keep the best run of rank", list(scan.ranks), key="rank_keep",
                        index=list(scan.ranks).index(scan.suggested_rank) if scan.suggested_rank in scan.ranks else 0)
    if st.button("Keep it for comparison and export", key="rank_keep_button"):
        kept = _state.add_result(scan.best[int(keep)], "nmf", ds=ds, key=None,
                                 source=f"r={keep} · rank scan of {name}")
        st.success(f"Kept as '{kept}'.")
    if scan.suggested_rank is not None and (labels is not None or truth is not None):
        scores = score_result(scan.best[scan.suggested_rank], labels=labels,
                              W_true=None if truth is None else truth["W"])
        st.caption("The suggested rank's best run against the known labels (k-means on H) "
                   "and ground truth (spectral angle distance):")
        st.dataframe([
            {"layer": layer, **{key: (", ".join(f"{v:.1f}" for v in value) if np.ndim(value) else value)
                                for key, value in entry.items()}}
            for layer, entry in scores.items()
        ])


def compare_section() -> None:
    st.header("Compare two results")
    results = st.session_state.get("results") or {}
    if len(results) < 2:
        st.info("Keep at least two results (from the Model page or the rank scan above) to compare them.")
        return
    names = list(results)
    c1, c2 = st.columns(2)
    name_a = c1.selectbox("result A", names, index=0, key="cmp_a")
    name_b = c2.selectbox("result B", names, index=1, key="cmp_b")
    layers_a, layers_b = results[name_a].layers(), results[name_b].layers()
    la = c1.selectbox("layer of A", range(len(layers_a)), format_func=lambda i: layers_a[i].name, key="cmp_la")
    lb = c2.selectbox("layer of B", range(len(layers_b)), format_func=lambda i: layers_b[i].name, key="cmp_lb")
    try:
        alignment = compare_results(results[name_a], results[name_b], layer_a=la, layer_b=lb)
    except ValueError as error:
        st.error(str(error))
        return
    st.metric("mean angle between matched factors", f"{alignment.mean_angle_deg:.1f}°")
    st.dataframe({
        "factor of A": alignment.pairs[:, 0] + 1,
        "matched factor of B": alignment.pairs[:, 1] + 1,
        "angle (°)": np.round(alignment.angles_deg, 2),
        "scale B / A": np.round(alignment.scales, 3),
        "correlation of H rows": np.round(alignment.H_correlation, 3),
    })
    Wa, Wb = layers_a[la].W, layers_b[lb].W
    Wa = Wa[:, alignment.pairs[:, 0]] / np.maximum(Wa[:, alignment.pairs[:, 0]].max(axis=0), 1e-300)
    Wb = Wb[:, alignment.pairs[:, 1]] / np.maximum(Wb[:, alignment.pairs[:, 1]].max(axis=0), 1e-300)
    fig = make_subplots(rows=1, cols=2, subplot_titles=(f"A: {name_a}", f"B: {name_b} (matched order)"))
    fig.add_trace(go.Heatmap(z=Wa, colorscale="Viridis", showscale=False), row=1, col=1)
    fig.add_trace(go.Heatmap(z=Wb, colorscale="Viridis", showscale=False), row=1, col=2)
    fig.update_xaxes(title_text="factor")
    fig.update_layout(height=420, margin=dict(t=40))
    st.plotly_chart(fig, key="cmp_plot")


st.title("Rank & compare")
rank_section()
compare_section()
