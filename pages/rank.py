"""Rank & compare: choose a rank by stability, and compare kept results side by side."""

from __future__ import annotations

import scipy.sparse as sp
import streamlit as st

from nmfcore import plot
from nmfcore.app.cost import format_seconds
from nmfcore.app.lessons import planted_example
from nmfcore.app.presets import default_params
from nmfcore.app.queue import QueueRefusal
from nmfcore.app.scan import estimate_scan, scan_job
from nmfcore.app.text import literal
from nmfcore.app.views import alignment_table, rank_range, score_rows
from nmfcore.judge import compare_results, score_result
from pages import _scan, _state
from pages._queued import queued_notice

PLANTED = "planted rank-4 example"
PLANTED_RANK = 4


def _data_choice() -> tuple[str, object, object]:
    """Name, X, and the data set (None for the planted example)."""
    session = _state.dataset()
    if session is not None and session.is_lazy:
        st.caption("The data set loaded now is read lazily from disk. A rank scan fits its data many "
                   "times over, in memory, so it scans only data held in memory (here, the planted example).")
        session = None
    options = [_state.dataset_label() or "current data set"] if session is not None else []
    options.append(PLANTED)
    choice = st.radio("data", options, key="rank_data", horizontal=True, format_func=literal)
    if choice == PLANTED:
        return choice, planted_example()[0], None
    return choice, session.X, session


def _scan_panel() -> None:
    """The scan's place in the queue or its progress, redrawn every half second while it runs."""
    job = _scan.job()
    if job is None:
        return

    @st.fragment(run_every=None if job.finished else 0.5)
    def _panel() -> None:
        current = _scan.job()
        snap = current.progress()
        if snap.finished and not current.meta.get("harvested", True):
            _scan.harvest()
            st.rerun()
        place = _scan.place()
        if place is not None:
            if queued_notice(place, "the scan", "cancel_scan"):
                _scan.cancel()
                st.rerun()
        elif not snap.finished:
            eta = "…" if snap.eta is None else format_seconds(snap.eta)
            st.progress(snap.fraction, text=f"{literal(current.name)}: fit {snap.iteration} of {snap.max_iter} · "
                                            f"ETA {eta}")
            if current.stopping:
                st.caption("Stopping after the fit that is running; the ranks finished are kept.")
            elif st.button("Stop", key="stop_scan", icon=":material/stop_circle:",
                           help="End the scan after the fit that is running and show the ranks finished."):
                _scan.cancel()
                st.rerun(scope="fragment")
            st.caption("You can use the other pages while this runs.")

    _panel()


def rank_section() -> None:
    _scan.harvest()
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
    truth = None if ds is None else ds.meta.get("ground_truth")
    if ds is None:
        rank = PLANTED_RANK
    else:  # around the rank the Model page proposes for this kind of data
        n_endmembers = truth["W"].shape[1] if truth else None
        rank = default_params(ds.kind, ds.shape, "nmf", n_endmembers=n_endmembers)["rank"]
    top = min(20, min(X.shape))
    _state.widget_default("rank_range", rank_range(rank, top), (name, X.shape))  # other data: around its rank
    c1, c2, c3, c4 = st.columns(4)
    low, high = c1.slider("ranks", 1, top, key="rank_range",
                          help=f"Starts around the Model page's rank for this data (r = {rank}).")
    n_runs = c2.slider("runs per rank", 3, 20, 6, key="rank_runs")
    beta = c3.selectbox("loss", ("frobenius", "kullback-leibler", "itakura-saito"), key="rank_beta")
    max_iter = c4.slider("iterations per run", 20, 500, 100, step=20, key="rank_iter")
    ranks = range(low, high + 1)
    estimate = estimate_scan(X.shape, ranks, n_runs=n_runs, beta=beta, max_iter=max_iter,
                             nnz=X.nnz if sp.issparse(X) else None, dtype=X.dtype)
    st.caption(f"{len(ranks) * n_runs} fits, estimated before running (order of magnitude): "
               f"{estimate.summary()}. They run in the server's queue of fits, as the Model page's do.")
    if st.button("Run rank scan", key="rank_run", type="primary"):
        try:
            _scan.start(scan_job(X, ranks, n_runs=n_runs, beta=beta, max_iter=max_iter, random_state=0,
                                 name=f"rank scan of {name}"), name, estimate.memory_bytes)
        except QueueRefusal as refusal:
            st.error(literal(refusal))
    _scan_panel()
    note = _scan.message()
    if note is not None:
        getattr(st, note[0])(note[1])
    scan = _state.rank_scan(name)
    if scan is None:
        st.info("Run the scan to see error, sparsity and stability against the rank.")
        return
    c1, c2, c3 = st.columns(3)
    c1.metric("suggested rank", scan.suggested_rank)
    c2.metric("by cophenetic correlation", scan.suggested["cophenetic"])
    c3.metric("by silhouette", scan.suggested["silhouette"])
    st.plotly_chart(plot.rank_scan_curves(scan), key="rank_plot")
    st.dataframe(scan.table())
    keep = st.selectbox("keep the best run of rank", list(scan.ranks), key="rank_keep",
                        index=list(scan.ranks).index(scan.suggested_rank) if scan.suggested_rank in scan.ranks else 0)
    if st.button("Keep it for comparison and export", key="rank_keep_button"):
        kept = _state.add_result(scan.best[int(keep)], "nmf", ds=ds, key=None,
                                 source=f"r={keep} · rank scan of {name}")
        st.success(f"Kept as '{literal(kept)}'.")
    if scan.suggested_rank is not None and (labels is not None or truth is not None):
        scores = score_result(scan.best[scan.suggested_rank], labels=labels,
                              W_true=None if truth is None else truth["W"])
        st.caption("The suggested rank's best run against the known labels (k-means on H) "
                   "and ground truth (spectral angle distance):")
        st.dataframe(score_rows(scores))


def compare_section() -> None:
    st.header("Compare two results")
    results = _state.results()
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
        st.error(literal(error))
        return
    st.metric("mean angle between matched factors", f"{alignment.mean_angle_deg:.1f}°")
    st.dataframe(alignment_table(alignment))
    st.plotly_chart(plot.matched_bases(layers_a[la].W, layers_b[lb].W, alignment.pairs,
                                       titles=(f"A: {name_a}", f"B: {name_b} (matched order)")), key="cmp_plot")


st.title("Rank & compare")
rank_section()
compare_section()
