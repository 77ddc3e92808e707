"""Learn: interactive lessons on NMF. Computations live in nmfcore.app.lessons, figures in nmfcore.plot."""

from __future__ import annotations

import streamlit as st

from nmfcore import plot
from nmfcore.app import lessons as L

LESSONS = (
    "1 · What NMF is",
    "2 · Geometry",
    "3 · Losses and noise",
    "4 · Algorithms",
    "5 · Deep NMF",
    "6 · Persistent homology and pNMF",
)


@st.cache_data(show_spinner=False)
def _faces():
    return L.faces()


# ----------------------------------------------------------------------------- lesson 1


@st.cache_data(show_spinner=False)
def _toy_fit(rank: int, seed: int):
    return L.toy_fit(rank, seed)


@st.cache_data(show_spinner=False)
def _nmf_vs_pca(rank: int):
    X, shape = _faces()
    return L.nmf_vs_pca(X, rank), shape


def lesson_what() -> None:
    st.markdown(
        "NMF writes a nonnegative matrix **X** (m × n, one item per column) as **W H**: "
        "W (m × r) holds r nonnegative *parts*, H (r × n) says how much of each part every "
        "item uses. Below, a 10 × 14 matrix built from 3 parts. Change r: with r < 3 some "
        "structure is missing; from r = 3 on the approximation is exact."
    )
    rank = st.slider("rank r", 1, 5, 2, key="l1_rank")
    toy = _toy_fit(rank, 0)
    st.metric("relative error ‖X − WH‖ / ‖X‖", f"{toy['error']:.3g}")
    st.plotly_chart(plot.factorization_panels(toy["X"], toy["W"], toy["H"]), key="l1_matrices")
    st.plotly_chart(plot.rank_error_curve(toy["ranks"], toy["curve"], current=rank), key="l1_curve")

    st.subheader("Why nonnegativity gives parts: NMF vs PCA on faces")
    st.markdown(
        "PCA (the SVD of the centred faces) finds orthogonal directions with positive and "
        "negative pixels that cancel each other: global 'eigenfaces'. NMF may only add, so "
        "its basis images are local pieces (eyes, nose, shadows) that add up to a face."
    )
    k = st.slider("number of basis images", 4, 16, 9, key="l1_faces_rank")
    out, shape = _nmf_vs_pca(k)
    st.metric("negative pixels in the PCA components", f"{100 * out['pca_negative']:.0f} %",
              help="NMF's basis has none by construction")
    left, right = st.columns(2)
    left.plotly_chart(plot.image_grid(out["nmf"], shape, title=f"NMF basis (error {out['nmf_error']:.3f})"),
                      key="l1_nmf_faces")
    right.plotly_chart(plot.image_grid(out["pca"], shape, colorscale="RdBu",
                                       title=f"PCA components (error {out['pca_error']:.3f})"),
                       key="l1_pca_faces")


# ----------------------------------------------------------------------------- lesson 2


@st.cache_data(show_spinner=False)
def _seed_factors(rank: int, n_seeds: int):
    X, shape = _faces()
    return L.seed_factors(X, rank, list(range(n_seeds)), max_iter=150), shape


def lesson_geometry() -> None:
    st.markdown(
        "Scale every column of X to sum to one: the items land in the probability simplex. "
        "If X = W H, every item is a nonnegative combination of W's columns, so the items lie "
        "in the **cone** spanned by W, drawn here as the triangle of W's columns."
    )
    concentration = st.slider("Dirichlet concentration of H (small: items near the edges)",
                              0.1, 5.0, 1.0, key="l2_conc")
    noise = st.slider("noise", 0.0, 0.3, 0.0, key="l2_noise")
    X, W, _ = L.simplex_data(concentration=concentration, noise=noise)
    st.plotly_chart(plot.simplex_cones(L.ternary(X), {"cone of W": L.ternary(W)}), key="l2_simplex")
    st.metric("items inside the cone of W", f"{100 * L.cone_coverage(X, W):.0f} %")

    st.subheader("Separable data: SPA and SNPA pick the extreme columns")
    st.markdown(
        "When the columns of W are themselves columns of X (*separability*), they are the "
        "vertices of the data's polygon and can be found greedily. SPA takes the column of "
        "largest norm and projects the others orthogonally; it can find at most as many "
        "vertices as there are dimensions (3 here). SNPA projects on the convex hull instead "
        "and finds more vertices than dimensions."
    )
    c1, c2, c3 = st.columns(3)
    n_vertices = c1.slider("vertices", 3, 6, 4, key="l2_vertices")
    sep_noise = c2.slider("noise ", 0.0, 0.05, 0.0, key="l2_sep_noise")
    method = c3.radio("algorithm", L.VERTEX_METHODS, key="l2_method", horizontal=True)
    Xs, vertices = L.separable_data(n_vertices=n_vertices, noise=sep_noise)
    picked, found = L.pick_vertices(Xs, vertices, method)
    st.plotly_chart(plot.simplex_picks(L.ternary(Xs), vertices, picked, method=method), key="l2_separable")
    st.metric(f"true vertices found by {method}", f"{found} of {n_vertices}")

    st.subheader("Non-uniqueness")
    st.markdown(
        "Take Q = (1 − t) I + (t/3) 11ᵀ. Q is nonnegative, so (W Q, Q⁻¹ H) is another exact "
        "nonnegative factorisation whenever Q⁻¹H stays nonnegative. Both cones contain every "
        "item: the data alone cannot tell them apart."
    )
    t = st.slider("t", 0.0, 0.9, 0.5, key="l2_t")
    X2, (W1, _), (W2, _) = L.two_exact_factorizations(t)
    st.plotly_chart(plot.simplex_cones(L.ternary(X2), {"W": L.ternary(W1), "W Q": L.ternary(W2)}),
                    key="l2_unique")
    st.markdown(
        "In practice, different random starts end at different local solutions. Below, NMF of "
        "the faces from several seeds; each run's basis images are reordered by Hungarian "
        "matching to the first run's, and the angle to the first run's factor is shown."
    )
    c1, c2 = st.columns(2)
    rank = c1.slider("rank", 3, 10, 5, key="l2_seed_rank")
    n_seeds = c2.slider("seeds", 2, 5, 3, key="l2_seeds")
    runs, shape = _seed_factors(rank, n_seeds)
    st.metric("mean angle to the first run's factors", f"{runs['mean_angle']:.1f}°")
    st.plotly_chart(plot.image_grid(runs["stacked"], shape, n_cols=rank,
                                    title="one row per seed, columns matched to seed 0"),
                    key="l2_seed_grid")
    st.dataframe(runs["table"])


# ----------------------------------------------------------------------------- lesson 3


@st.cache_data(show_spinner=False)
def _loss_table(noise: str, level: float):
    return L.loss_noise_table(noise, level)


@st.cache_data(show_spinner=False)
def _spectrogram(level: float):
    return L.spectrogram_fits(level)


def lesson_losses() -> None:
    st.markdown(
        "Each β-divergence is the negative log-likelihood of a noise model whose variance "
        "grows like mean^(2 − β): Frobenius (β = 2) fits additive Gaussian noise, "
        "Kullback–Leibler (β = 1) Poisson counts, Itakura–Saito (β = 0) multiplicative Gamma "
        "noise such as a power spectrogram's. Simulate a noise, see its variance grow with "
        "the mean, and see which loss recovers the clean matrix best."
    )
    c1, c2 = st.columns(2)
    noise = c1.radio("noise model", L.NOISE_MODELS, key="l3_noise", horizontal=True)
    level = c2.slider("noise level", 0.05, 1.0, 0.3, key="l3_level")
    means, variances, slope = L.noise_law(noise, level)
    st.metric("log-log slope of variance vs mean", f"{slope:.2f}",
              help="≈0 → β=2, ≈1 → β=1, ≈2 → β=0")
    st.plotly_chart(plot.variance_law(means, variances), key="l3_variance")
    st.dataframe(_loss_table(noise, level))

    st.subheader("A spectrogram-like matrix")
    st.markdown(
        "Three harmonic notes with decaying activations, times Gamma noise. In decibels, "
        "Frobenius spends its effort on the loud low harmonics; Itakura–Saito is scale "
        "invariant and also fits the quiet high harmonics."
    )
    spec_level = st.slider("Gamma noise level", 0.1, 1.0, 0.5, key="l3_spec_level")
    spectrogram = _spectrogram(spec_level)
    st.plotly_chart(plot.spectrogram_panels(spectrogram["panels"]), key="l3_spec")
    st.dataframe(spectrogram["table"])


# ----------------------------------------------------------------------------- lesson 4


@st.cache_data(show_spinner=False)
def _solvers(rank: int, max_iter: int):
    X, _ = _faces()
    return L.solver_race(X, rank, max_iter)


@st.cache_data(show_spinner=False)
def _inits(rank: int, solver: str):
    X, _ = _faces()
    return {name: r.loss for name, r in L.init_curves(X, rank, solver=solver, max_iter=80).items()}


def lesson_algorithms() -> None:
    st.markdown(
        "Multiplicative updates (MU) multiply each entry by a ratio of two positive "
        "matrices: simple, any β, but slow. Each MU step minimises a majoriser, a simpler "
        "function that lies above the loss and touches it at the current point; relaxed MU "
        "steps twice as far on the same majoriser, which still cannot raise the loss. HALS "
        "(β = 2) solves exactly for one row of H or column of W at a time, for about the same "
        "cost per sweep. All three start here from the same random factors on the faces."
    )
    c1, c2 = st.columns(2)
    rank = c1.slider("rank", 2, 20, 10, key="l4_rank")
    max_iter = c2.slider("iterations", 20, 300, 100, step=20, key="l4_iter")
    race = _solvers(rank, max_iter)
    st.metric("final loss, MU / HALS", f"{race['mu_over_hals']:.3f}")
    st.plotly_chart(plot.convergence_by_time(race["curves"]), key="l4_curves")

    st.subheader("Why MU cannot leave zero")
    st.markdown(
        "MU's step is H ← H ⊙ (WᵀX) ⊘ (WᵀWH): an entry that is 0 stays 0 (solvers keep a tiny "
        "floor instead, which grows only by a factor per iteration). Here one coefficient "
        "starts at 0 while the exact solution needs it at 1; HALS moves it at once."
    )
    n_iter = st.slider("iterations ", 5, 100, 30, key="l4_zero_iter")
    traces = L.zero_entry_trace(n_iter)
    st.metric("entry after the last iteration, MU / HALS",
              f"{traces['MU'][-1]:.2g} / {traces['HALS'][-1]:.2f}")
    st.plotly_chart(plot.convergence({name: traces[name] for name in ("MU", "HALS")}, log_y=False,
                                     ylabel="H[0, 0]"), key="l4_zero")

    st.subheader("The effect of the initialisation")
    st.markdown(
        "NNDSVD builds W and H from the positive parts of the leading singular vectors, so "
        "its start already holds the data's main structure, with many exact zeros. Those "
        "zeros are fatal to MU (a zero stays zero), hence two variants that fill them: "
        "'ar' with small random values, which starts about where NNDSVD does, and 'a' with "
        "the mean of X. Filling every zero with the mean adds weight to every entry of W H, "
        "so NNDSVDa's **first** loss is far above random's; one iteration removes that "
        "excess, and the runs end close together. The point to take away: what matters is "
        "where a run ends (and how fast it gets there), not its starting loss."
    )
    solver = st.radio("solver", ("mu", "hals"), key="l4_solver", horizontal=True)
    inits = _inits(rank, solver)
    st.plotly_chart(plot.convergence(inits), key="l4_inits")
    st.dataframe(L.init_table(inits))
    remark = L.init_remark(inits)
    if remark:
        st.caption(remark)


# ----------------------------------------------------------------------------- lesson 5


@st.cache_data(show_spinner=False)
def _deep(data: str, r1: int, r2: int, iterations: int):
    X, shape = _faces() if data == "faces" else L.swimmer_like()
    out = L.deep_vs_multilayer(X, [r1, r2], max_iter=iterations, init_iter=80)
    deep = out["deep"]
    return out["table"], [(layer.name, layer.W) for layer in deep.layers()], deep.H[1:], deep.layer_errors, shape


def lesson_deep() -> None:
    st.markdown(
        "Deep NMF factors X ≈ W₁H₁, then W₁ ≈ W₂H₂, ...: the first layer finds fine parts "
        "(pieces of faces, or the limbs of stick figures), the next merges them into coarser "
        "ones. *Multilayer* NMF fits each layer once, in turn; *deep* NMF then refines all "
        "layers together. On the faces it trades a little error in the first layer for much "
        "less in the second (the paper's table on CBCL: 108 %, 27 %, 4 %)."
    )
    data = st.radio("data", ("faces", "swimmer-like"), key="l5_data", horizontal=True)
    c1, c2, c3 = st.columns(3)
    r1 = c1.slider("rank of layer 1", 6, 20, 10, key="l5_r1")
    r2 = c2.slider("rank of layer 2", 2, 6, 3, key="l5_r2")
    iterations = c3.slider("deep iterations", 10, 100, 40, step=10, key="l5_iter")
    table, layers, couplings, errors, shape = _deep(data, r1, r2, iterations)
    st.dataframe(table)
    st.metric("layer-2 error, deep / multilayer", f"{table[-1]['deep / multilayer (%)']:.1f} %")
    st.plotly_chart(plot.layer_errors(errors, title=None, xlabel="deep iteration (0 = multilayer start)"),
                    key="l5_errors")
    for name, W in layers:
        st.plotly_chart(plot.image_grid(W, shape, title=f"{name}: basis images"), key=f"l5_{name}")
    st.plotly_chart(plot.merge_tree(couplings), key="l5_tree")


# ----------------------------------------------------------------------------- lesson 6


@st.cache_data(show_spinner=False)
def _pnmf(kind: str, n_scales: int):
    X, labels = L.point_cloud(kind)
    result = L.pnmf_path(X, n_scales=n_scales)
    return result.scales, [layer.H for layer in result.layers()], labels


def lesson_persistence() -> None:
    st.markdown(
        "Grow a ball of radius ε/2 around every point: points whose balls touch are joined. "
        "Every point starts as its own component (a bar of the H0 barcode born at 0); when "
        "two components merge, one bar ends. The bars' ends are the only scales where the "
        "graph's connectivity changes: the *canonical scales* that persistent NMF uses."
    )
    c1, c2 = st.columns(2)
    kind = c1.radio("point cloud", ("clusters", "circles"), key="l6_kind", horizontal=True)
    X, labels = L.point_cloud(kind)
    top = L.filtration_range(X)
    epsilon = c2.slider("filtration scale ε", 0.0, round(top, 2), round(top / 4, 2), key="l6_eps")
    state = L.filtration_at(X, epsilon)
    st.metric("connected components at ε", state["n_components"])
    left, right = st.columns(2)
    left.plotly_chart(plot.filtration_balls(X, state["edges"], epsilon, labels=labels), key="l6_balls")
    bars = state["barcodes"]
    right.plotly_chart(plot.barcode({0: bars.h0}, current=epsilon, title="H0 barcode"), key="l6_barcode")

    st.subheader("Canonical scales, and the pNMF embedding along them")
    st.markdown(
        "pNMF keeps one factorisation per scale, each with a graph penalty that pulls "
        "connected points together, and ties neighbouring scales. At the finest scale there "
        "are no edges (plain NMF); at the coarsest, everything is connected."
    )
    n_scales = st.slider("number of scales kept", 3, 8, 5, key="l6_scales")
    scales, embeddings, labels = _pnmf(kind, n_scales)
    st.plotly_chart(plot.barcode({0: bars.h0}, selected=scales, title="kept scales on the barcode"),
                    key="l6_scales_plot")
    t = st.select_slider("scale", options=list(range(1, len(scales) + 1)), value=1, key="l6_t")
    H = embeddings[t - 1]
    st.caption(f"scale {t}: ε = {scales[t - 1]:.3g}")
    st.plotly_chart(plot.embedding(H.T, color=labels, axis_titles=("H row 1", "H row 2")), key="l6_embedding")


st.title("Learn")
lesson = st.radio("Lesson", LESSONS, key="lesson", horizontal=True)
{
    LESSONS[0]: lesson_what,
    LESSONS[1]: lesson_geometry,
    LESSONS[2]: lesson_losses,
    LESSONS[3]: lesson_algorithms,
    LESSONS[4]: lesson_deep,
    LESSONS[5]: lesson_persistence,
}[lesson]()
