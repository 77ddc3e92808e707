"""Model page: choose a family and its parameters, see the cost, run in the background."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import scipy.sparse as sp
import streamlit as st

from nmfcore import models, plot
from nmfcore.app.cluster import (lazy_families, lazy_fit, lazy_fit_memory, lazy_nnz, placement,
                                 scheduler_address)
from nmfcore.app.cost import estimate_params
from nmfcore.app.inputs import parse_floats, parse_ranks
from nmfcore.app.jobs import fit_job, fit_key, fit_label
from nmfcore.app.presets import default_params
from nmfcore.app.queue import QueueRefusal
from nmfcore.app.text import literal
from nmfcore.app.views import MAX_DENSIFY_BYTES, dense_copy_bytes, result_rows
from pages import _state
from pages._queued import queued_notice

FAMILIES = {models.get(name).label: models.get(name) for name in models.APP_FAMILIES}
BETAS = {"Frobenius (β = 2)": 2.0, "β = 3/2": 1.5, "Kullback–Leibler (β = 1)": 1.0,
         "β = 1/2": 0.5, "Itakura–Saito (β = 0)": 0.0}
DEEP_BETAS = {"Kullback–Leibler (β = 1)": 1.0, "β = 3/2": 1.5, "Frobenius (β = 2)": 2.0}


def _beta_choice(options: dict[str, float], default: float, key: str) -> float:
    labels = list(options)
    index = next((i for i, lab in enumerate(labels) if options[lab] == default), 0)
    return options[st.selectbox("Divergence β", labels, index=index, key=key,
                                help="Frobenius for Gaussian noise, KL for counts, IS for spectra.")]


def _nmf_params(ds, defaults: dict[str, Any], limit: int) -> dict[str, Any]:
    from nmfcore.classic.fit import SOLVERS

    c1, c2, c3 = st.columns(3)
    params: dict[str, Any] = {}
    params["rank"] = int(c1.number_input("Rank r", 1, limit, min(defaults["rank"], limit), key="nmf_rank",
                                         help="Number of factors (columns of W, rows of H)."))
    with c2:
        params["beta"] = _beta_choice(BETAS, defaults["beta"], "nmf_beta")
    params["solver"] = c3.selectbox("Solver", list(SOLVERS), key="nmf_solver",
                                    help="HALS is fastest for β = 2; relaxed MU for 1 ≤ β ≤ 2; "
                                         "MU works for any β; online reads the data in minibatches, "
                                         "max iterations = passes over it (for data read from disk).")
    c1, c2, c3 = st.columns(3)
    inits = ["nndsvda", "nndsvd", "nndsvdar", "random"]
    custom = _state.custom_init()
    if custom is not None and custom[0].shape[0] == ds.shape[0] and custom[1].shape[1] == ds.shape[1]:
        inits.append("uploaded factors")
    params["init"] = c1.selectbox("Initialisation", inits, key="nmf_init",
                                  help="NNDSVD variants are deterministic; 'uploaded factors' starts "
                                       "from a result uploaded on the Export page.")
    params["max_iter"] = int(c2.number_input("Max iterations", 1, 100_000, defaults["max_iter"], key="nmf_iter",
                                             help="Upper bound on the number of iterations."))
    params["tol"] = float(c3.number_input("Tolerance", 0.0, 1.0, defaults["tol"], format="%.1e", key="nmf_tol",
                                          help="Stop when the loss decreases by less than this, relatively."))
    c1, c2, c3 = st.columns(3)
    params["alpha_W"] = float(c1.number_input("α_W", 0.0, 1e6, 0.0, key="nmf_aw",
                                              help="Regularisation weight on W (0 = none)."))
    params["alpha_H"] = float(c2.number_input("α_H", 0.0, 1e6, 0.0, key="nmf_ah",
                                              help="Regularisation weight on H (0 = none)."))
    params["l1_ratio"] = float(c3.slider("L1 ratio", 0.0, 1.0, 0.0, key="nmf_l1",
                                         help="1 = sparsity-inducing L1 penalty, 0 = ridge (L2)."))
    if params["init"] == "uploaded factors":
        params["rank"] = int(custom[0].shape[1])
        params["init"] = (custom[0], custom[1])
        st.caption(f"Starting from the uploaded factors: rank set to {params['rank']}.")
    return params


def _deep_params(defaults: dict[str, Any], min_volume: bool) -> dict[str, Any]:
    params: dict[str, Any] = {}
    c1, c2 = st.columns(2)
    ranks_text = c1.text_input("Ranks per layer", ", ".join(map(str, defaults["ranks"])), key=f"deep_ranks_{min_volume}",
                               help="Decreasing ranks r1 > r2 > …, one per layer.")
    params["ranks"] = parse_ranks(ranks_text)
    with c2:
        if min_volume:
            st.selectbox("Divergence β", ["Kullback–Leibler (β = 1)"], disabled=True, key="mv_beta",
                         help="The minimum-volume model is defined for KL only.")
            params["beta"] = 1.0
        else:
            params["beta"] = _beta_choice(DEEP_BETAS, defaults["beta"], "deep_beta")
    c1, c2, c3 = st.columns(3)
    params["init_iter"] = int(c1.number_input("Multilayer iterations per layer", 1, 10_000, defaults["init_iter"],
                                              key=f"deep_init_{min_volume}",
                                              help="Iterations of the layer-by-layer initialisation."))
    params["max_iter"] = int(c2.number_input("Deep iterations", 1, 10_000, defaults["max_iter"],
                                             key=f"deep_iter_{min_volume}",
                                             help="Outer iterations of the joint deep model."))
    if min_volume:
        alphas = c3.text_input("α̃ per layer", ", ".join(f"{a:g}" for a in defaults["min_volume"]), key="mv_alpha",
                               help="Weight of the volume penalty of each layer, one per rank (paper: 0.05–4).")
        params["min_volume"] = parse_floats(alphas, "α̃ per layer", len(params["ranks"]))
    else:
        constraints = ["rows", "cols"]
        params["constraint"] = c3.selectbox("Sum-to-one constraint", constraints, key="deep_constraint",
                                            index=constraints.index(defaults["constraint"]),
                                            help="'rows': every row of each H_l sums to one (the paper's choice).")
    return params


def _gnmf_params(defaults: dict[str, Any], limit: int) -> dict[str, Any]:
    c1, c2, c3, c4 = st.columns(4)
    return {
        "rank": int(c1.number_input("Rank r", 1, limit, min(defaults["rank"], limit), key="gnmf_rank",
                                    help="Number of factors.")),
        "lambdas": float(c2.number_input("λ (graph weight)", 0.0, 1e6, defaults["lambdas"], key="gnmf_lam",
                                     help="Weight of the graph smoothness term Tr(H L Hᵀ).")),
        "n_neighbors": int(c3.number_input("Neighbours", 1, 100, defaults["n_neighbors"], key="gnmf_k",
                                           help="k of the kNN heat-kernel graph between items.")),
        "max_iter": int(c4.number_input("Max iterations", 1, 100_000, defaults["max_iter"], key="gnmf_iter",
                                        help="Upper bound on the number of iterations.")),
    }


def _pnmf_params(defaults: dict[str, Any], limit: int) -> dict[str, Any]:
    c1, c2, c3 = st.columns(3)
    params: dict[str, Any] = {
        "rank": int(c1.number_input("Rank r", 1, limit, min(defaults["rank"], limit), key="pnmf_rank",
                                    help="Factors per scale (paper: ⌈√n⌉ for cells).")),
        "n_scales": int(c2.number_input("Number of scales", 1, 1000, defaults["n_scales"], key="pnmf_scales",
                                        help="Reduced set of canonical scales from the H0 barcode.")),
        "max_iter": int(c3.number_input("Max sweeps", 1, 1000, defaults["max_iter"], key="pnmf_sweeps",
                                        help="Gauss–Seidel sweeps over the scales.")),
    }
    c1, c2, c3 = st.columns(3)
    lams = [float(col.number_input(label, 0.0, 1e6, value, key=f"pnmf_l{i}", help=text))
            for i, (col, label, value, text) in enumerate(zip(
                (c1, c2, c3), ("λ1 (graph)", "λ2 (between scales)", "λ3 (ridge on H)"), defaults["lambdas"],
                ("Weight of each scale's graph term.", "Weight tying neighbouring scales together.",
                 "Weight of ‖H_t‖² at every scale.")))]
    params["lambdas"] = tuple(lams)
    return params


def _queued(place) -> None:
    if queued_notice(place, "yours", "cancel_fit"):
        _state.cancel_job()
        st.rerun()


def _progress_panel() -> None:
    job = _state.job()
    if job is None:
        return
    running = not job.finished

    @st.fragment(run_every=0.5 if running else None)
    def _panel() -> None:
        current = _state.job()
        snap = current.progress()
        if snap.finished and not current.meta.get("harvested", True):
            _state.harvest_job()
            st.rerun()
        place = _state.queue_place()
        if place is not None:
            _queued(place)
        elif not snap.finished:
            iteration_label = models.get(current.meta["family"]).iteration_label
            st.progress(snap.fraction, text=snap.describe(current.name, iteration_label))
            if current.stopping:
                st.caption("Stopping: the fit ends after its current step and keeps what it has "
                           "(a first fit may still be compiling its kernels).")
            elif st.button("Stop", key="stop_fit", icon=":material/stop_circle:",
                           help="End the fit cleanly after this iteration and keep the partial result."):
                _state.cancel_job()
                st.rerun(scope="fragment")
            if snap.losses.size:
                st.plotly_chart(plot.convergence(snap.losses, title="Live loss"), key="live_loss")
            st.caption("You can use the other pages while this runs.")

    _panel()


st.title("Model")
ds = _state.require_dataset()
m, n = ds.shape
limit = max(1, min(m, n))
choices = FAMILIES
if ds.is_lazy:
    reasons = lazy_families()
    choices = {lab: entry for lab, entry in FAMILIES.items() if reasons[entry.name] is None}
    st.caption("This data set is read lazily from disk, so only " + ", ".join(choices) + " can fit it ("
               + "; ".join(why for why in reasons.values() if why) + ").")
label = st.radio("Model family", list(choices), horizontal=True, key="family",
                 help="NMF: one factorisation. Deep: layers of ever coarser factors. "
                      "GNMF: smooth over a kNN graph. pNMF: one factorisation per topological scale.")
family = choices[label]
truth = ds.meta.get("ground_truth")
n_endmembers = truth["W"].shape[1] if truth else None
defaults = default_params(ds.kind, ds.shape, family.name, n_endmembers=n_endmembers)
st.caption(f"Defaults for {ds.kind} data: " + ", ".join(f"{k}={v}" for k, v in defaults.items()))

try:
    if family.name == "nmf":
        params = _nmf_params(ds, defaults, limit)
    elif family.rank_keyword == "ranks":
        params = _deep_params(defaults, family.name == "min_vol_deep_nmf")
    elif family.name == "gnmf":
        params = _gnmf_params(defaults, limit)
    else:
        params = _pnmf_params(defaults, limit)
    seed = int(st.number_input("Random seed", 0, 2**31 - 1, 0, key="seed",
                               help="Makes random initialisations and k-means reproducible."))
    params["random_state"] = seed
except ValueError as exc:
    st.error(literal(exc))
    st.stop()

dense_bytes = dense_copy_bytes(family.name, ds.X)
if dense_bytes is not None:
    if dense_bytes > MAX_DENSIFY_BYTES:
        st.error(f"{family.label} needs dense data, and this sparse X would take {dense_bytes / 1e9:.3g} GB dense "
                 f"(limit {MAX_DENSIFY_BYTES / 1e9:.3g} GB); use NMF, GNMF or pNMF, which keep it sparse, "
                 "or select fewer features on the Data page.")
        st.stop()
    st.caption(f"X is sparse; {family.label} runs on a dense copy ({dense_bytes / 1e6:.3g} MB), "
               "as its layers after the first are dense anyway.")
where = placement(ds.is_lazy)
if where.error is not None:
    st.error(literal(where.error))
else:
    address = scheduler_address()
    note = "" if ds.is_lazy or address is None else (f" (the Dask cluster at {address} fits only data opened "
                                                     "lazily from the server's data folder)")
    st.caption(f"The fit runs {literal(where.describe() + note)}.")
try:
    nnz = lazy_nnz(ds) if ds.is_lazy else (ds.X.nnz if sp.issparse(ds.X) and dense_bytes is None else None)
    estimate = estimate_params(family.name, ds.shape, params, dtype=ds.X.dtype, nnz=nnz)
    if ds.is_lazy:  # X stays on disk (or on the workers): count what this process holds
        estimate = replace(estimate, memory_bytes=lazy_fit_memory(ds, params["rank"], params["beta"], where))
    st.info(f"Estimate before running (order of magnitude): {estimate.summary()} "
            f"(data itself: {estimate.data_bytes / 1e6:.3g} MB).", icon=":material/speed:")
except ValueError as exc:
    st.error(literal(exc))
    st.stop()

job = _state.job()
busy = job is not None and not job.finished
server = _state.fit_queue().status()
st.caption(f"This server runs at most {server.max_running} fits at once: {server.running} running and "
           f"{server.queued} queued now, for every user.")
to_drop = _state.results_to_drop()
if to_drop and not busy:
    st.caption(f"This session keeps at most {_state.limits().max_results} results: the next fit replaces the "
               f"oldest, **{literal(to_drop[0])}**. Download what you want to keep on the Export page.")
run = st.button("Run", type="primary", disabled=busy or where.error is not None, key="run_fit",
                icon=":material/play_arrow:",
                help="Runs in the background (after the fits ahead of it in the server's queue); the page stays "
                     "usable and Stop keeps the partial result.")
if run:
    key = fit_key(_state.fingerprint(), family.name, params)
    name = _state.cached(key)
    if name is not None:
        _state.select(name)
        _state.set_job_message("info", f"Same data and parameters as **{literal(name)}**: reused it, no refit.")
    else:
        short = fit_label(family.name, params)
        X = ds.X.toarray() if dense_bytes is not None else ds.X
        try:
            fit = lazy_fit(family.fit, where) if ds.is_lazy else None
            _state.start_job(fit_job(family.name, X, params, name=short, fit=fit), family.name, ds, key, short,
                             memory_bytes=estimate.memory_bytes)
        except (QueueRefusal, ConnectionError) as exc:
            _state.set_job_message("error", literal(exc))
        else:
            st.rerun()

message = _state.job_message()
if message:
    {"info": st.info, "success": st.success, "error": st.error}[message[0]](message[1])
_progress_panel()

kept = _state.results()
if kept:
    st.subheader("Results kept in this session")
    st.dataframe(result_rows(kept), hide_index=True)
    st.page_link("pages/layers.py", label="See the factors on the Layers page", icon=":material/layers:")
