import numpy as np
import pytest

from nmfcore.app import lessons as L
from nmfcore.judge.separable import snpa, spa


def test_toy_matrix_is_exact_at_its_rank_and_not_below():
    X, W, H = L.toy_matrix()
    assert np.allclose(X, W @ H) and X.min() >= 0
    errors = L.error_by_rank(X, [1, 2, 3])
    assert errors[0] > errors[1] > 0.05 and errors[2] < 1e-4


def test_nmf_basis_is_nonnegative_and_pca_is_not():
    rng = np.random.default_rng(0)
    parts = np.kron(np.eye(4), np.ones((6, 1)))
    X = parts @ rng.random((4, 50)) + 0.01 * rng.random((24, 50))
    out = L.nmf_vs_pca(X, 4)
    assert out["nmf"].min() >= 0 and out["pca_negative"] > 0.1
    assert out["nmf_error"] < 0.05 and out["nmf_sparsity"] > 0.5


def test_simplex_data_lies_in_the_cone_and_ternary_maps_corners():
    X, W, H = L.simplex_data(n=50)
    assert np.allclose(X, W @ H) and H.min() >= 0
    corners = L.ternary(np.eye(3))
    assert np.allclose(corners, [[0, 1, 0.5], [0, 0, np.sqrt(3) / 2]])
    with pytest.raises(ValueError, match="3 rows"):
        L.ternary(np.ones((4, 2)))


def test_inside_triangle():
    T = L.ternary(np.eye(3))
    inside = L.inside_triangle(np.array([[0.5, 0.5, 2.0], [0.2, -0.1, 0.2]]), T)
    assert inside.tolist() == [True, False, False]


def test_separable_polygon_snpa_finds_all_vertices_spa_cannot_beyond_three():
    X, vertices = L.separable_data(n_vertices=5)
    assert set(snpa(X, 5, normalize=True).extra["indices"].tolist()) == set(vertices.tolist())
    assert set(spa(X, 5, normalize=True).extra["indices"].tolist()) != set(vertices.tolist())


def test_two_exact_factorizations_differ_beyond_scaling():
    X, (W1, H1), (W2, H2) = L.two_exact_factorizations(0.5)
    assert np.allclose(X, W1 @ H1) and np.allclose(X, W2 @ H2)
    assert min(W1.min(), H1.min(), W2.min(), H2.min()) >= 0
    from nmfcore.judge.metrics import match_factors

    _, angles = match_factors(W1, W2)
    assert angles.min() > 5  # not a rescaled permutation
    _, same = match_factors(W1, L.two_exact_factorizations(0.0)[2][0])
    assert np.allclose(same, 0, atol=1e-5)


def test_seed_factors_align_runs_to_the_first():
    X, _, _ = L.toy_matrix(m=12, n=30, rank=3)
    runs = L.seed_factors(X, 3, [0, 1, 2])
    assert runs["angles"].shape == (3, 3)
    assert np.allclose(runs["angles"][0], 0, atol=1e-5)
    assert runs["angles"].max() < 10  # exact parts-based data: every seed finds the same parts


@pytest.mark.parametrize("noise, expected", [("gaussian", 0.0), ("poisson", 1.0), ("gamma", 2.0)])
def test_simulated_noise_has_the_variance_law_of_its_loss(noise, expected):
    W, H = L.low_rank_truth()
    V = W @ H
    X = L.simulate_noise(V, noise, 0.3)
    assert X.min() >= 0
    _, _, slope = L.variance_slope(V, X)
    assert abs(slope - expected) < 0.35


@pytest.mark.parametrize("noise", L.NOISE_MODELS)
def test_matching_loss_recovers_the_clean_matrix_best(noise):
    rows = L.loss_noise_table(noise, 0.3)
    best = min(rows, key=lambda row: row["error to clean V"])
    assert best["matches the noise"]


def test_simulate_noise_rejects_bad_arguments():
    with pytest.raises(ValueError, match="model"):
        L.simulate_noise(np.ones((2, 2)), "laplace", 0.1)
    with pytest.raises(ValueError, match="level"):
        L.simulate_noise(np.ones((2, 2)), "poisson", 0.0)


def test_spectrogram_itakura_saito_fits_the_quiet_parts_better():
    X, V = L.spectrogram_like()
    fits = L.fit_losses(X, 3)
    log_error = {name: np.mean(np.abs(np.log10(np.maximum(r.W @ r.H, 1e-12) / V))) for name, r in fits.items()}
    assert log_error["Itakura–Saito (β=0)"] < log_error["Frobenius (β=2)"]
    assert L.log_errors(fits, V) == pytest.approx(log_error)


def test_solver_curves_share_the_start_and_hals_ends_lower():
    X, _, _ = L.toy_matrix(m=20, n=30, rank=5, seed=1)
    curves = L.solver_curves(X + 0.01, 5, max_iter=50)
    assert curves["MU"].loss[0] == pytest.approx(curves["HALS"].loss[0])
    assert curves["HALS"].loss[-1] < curves["MU"].loss[-1]
    assert curves["relaxed MU"].loss[0] == pytest.approx(curves["MU"].loss[0])
    assert curves["relaxed MU"].loss[-1] < curves["MU"].loss[-1]
    assert len(curves["MU"].times) == 51


def test_mu_cannot_leave_zero_but_hals_can():
    traces = L.zero_entry_trace(20)
    assert traces["MU"].max() < 1e-6
    assert traces["HALS"][-1] > 0.3


def test_init_curves_start_from_different_points():
    X, _, _ = L.toy_matrix(m=20, n=30, rank=4)
    curves = L.init_curves(X + 0.01, 4, solver="hals", max_iter=20)
    assert set(curves) == {"random", "nndsvd", "nndsvda", "nndsvdar"}
    assert curves["nndsvd"].loss[0] < curves["random"].loss[0]
    assert "nndsvd" not in L.init_curves(X + 0.01, 4, solver="mu", max_iter=5)


def test_swimmer_like_has_every_limb_combination():
    X, shape = L.swimmer_like()
    assert X.shape == (121, 256) and shape == (11, 11)
    assert np.unique(X, axis=1).shape[1] == 256
    assert set(np.unique(X)) == {0.0, 1.0}


def test_deep_vs_multilayer_table_matches_the_errors():
    X, _ = L.swimmer_like()
    out = L.deep_vs_multilayer(X[:, :64], [6, 3], max_iter=10, init_iter=30)
    assert [row["rank"] for row in out["table"]] == [6, 3]
    for l, row in enumerate(out["table"]):
        assert row["deep error"] == pytest.approx(out["deep"].layer_errors[-1, l])
        assert row["deep / multilayer (%)"] == pytest.approx(100 * row["deep error"] / row["multilayer error"], abs=0.06)


def test_filtration_components_follow_the_barcode():
    X, labels = L.point_cloud("clusters", n=45)
    assert X.min() >= 0 and X.shape == (2, 45)
    assert L.filtration_at(X, 0.0)["n_components"] == 45
    deaths = L.filtration_at(X, 0.0)["deaths"]
    big = L.filtration_at(X, deaths.max() + 1e-9)
    assert big["n_components"] == 1 and 44 <= len(big["edges"]) < 45 * 44 // 2
    everything = L.filtration_at(X, big["barcodes"].diameter + 1e-9)
    assert len(everything["edges"]) == 45 * 44 // 2
    between = (deaths[-3] + deaths[-2]) / 2  # three well separated blobs
    state = L.filtration_at(X, between)
    assert state["n_components"] == 3 and state["alive"].sum() == 2


def test_pnmf_path_gives_one_embedding_per_scale():
    X, _ = L.point_cloud("circles", n=40)
    result = L.pnmf_path(X, n_scales=4)
    assert len(result.layers()) == len(result.scales) <= 4
    assert all(layer.H.shape == (2, 40) for layer in result.layers())
    with pytest.raises(ValueError, match="kind"):
        L.point_cloud("spiral")


def test_toy_fit_and_planted_example():
    toy = L.toy_fit(3)
    assert toy["W"].shape == (10, 3) and toy["H"].shape == (3, 14)
    assert toy["error"] < 1e-3 and toy["ranks"] == list(L.TOY_RANKS)
    np.testing.assert_allclose(toy["curve"], L.error_by_rank(toy["X"], list(L.TOY_RANKS)))
    X, labels = L.planted_example()
    assert X.shape == (40, 80) and np.bincount(labels).tolist() == [20] * 4


def test_faces_are_columns_of_images():
    X, shape = L.faces()
    assert X.ndim == 2 and X.shape[0] == shape[0] * shape[1] and X.min() >= 0


def test_cone_coverage_and_picked_vertices():
    X, W, _ = L.simplex_data(n=60)
    assert L.cone_coverage(X, W) == 1.0
    assert L.cone_coverage(X, W @ ((1 - 0.6) * np.eye(3) + 0.2)) < 1.0   # a smaller cone
    Xs, vertices = L.separable_data(n_vertices=5)
    picked, found = L.pick_vertices(Xs, vertices, "SNPA")
    assert found == 5 and set(picked.tolist()) == set(vertices.tolist())
    _, found_spa = L.pick_vertices(Xs, vertices, "SPA")
    assert found_spa < 5
    with pytest.raises(ValueError, match="method="):
        L.pick_vertices(Xs, vertices, "XRAY")


def test_seed_factors_summaries():
    X, _, _ = L.toy_matrix(m=12, n=30, rank=3)
    runs = L.seed_factors(X, 3, [0, 1])
    assert runs["stacked"].shape == (12, 6)
    np.testing.assert_allclose(runs["stacked"][:, 3:], runs["W"][1])
    assert runs["mean_angle"] == pytest.approx(runs["angles"][1:].mean())
    np.testing.assert_allclose(runs["table"]["factor 2"], np.round(runs["angles"][:, 1], 1))


def test_noise_law_and_spectrogram_fits():
    means, variances, slope = L.noise_law("poisson", 0.3)
    assert means.shape == variances.shape == (8,) and abs(slope - 1.0) < 0.35
    fits = L.spectrogram_fits(0.5)
    assert list(fits["panels"]) == ["data", *L.LOSSES]
    assert all(panel.shape == (64, 100) for panel in fits["panels"].values())
    X, V = L.spectrogram_like(level=0.5)
    np.testing.assert_allclose(fits["panels"]["data"], X)
    expected = L.log_errors(L.fit_losses(X, 3), V)
    assert [row["loss"] for row in fits["table"]] == list(expected)
    assert [row[L.LOG_ERROR] for row in fits["table"]] == [round(v, 3) for v in expected.values()]


def test_solver_race_and_init_table():
    X, _, _ = L.toy_matrix(m=20, n=30, rank=5, seed=1)
    race = L.solver_race(X + 0.01, 5, max_iter=20)
    assert list(race["curves"]) == ["MU", "relaxed MU", "HALS"]
    loss, times = race["curves"]["HALS"]
    assert loss.shape == times.shape == (21,)
    assert race["mu_over_hals"] == pytest.approx(race["curves"]["MU"][0][-1] / loss[-1])
    table = L.init_table({"random": np.array([4.0, 1.23456]), "nndsvda": np.array([2.0, 1.0])})
    assert table == {"init": ["random", "nndsvda"], "loss at start": ["4", "2"],
                     "loss at the end": ["1.235", "1"]}


def test_filtration_range_passes_the_last_merge():
    X, _ = L.point_cloud("clusters", n=30)
    top = L.filtration_range(X)
    deaths = L.filtration_at(X, 0.0)["deaths"]
    assert top == pytest.approx(1.1 * deaths.max())
    assert L.filtration_at(X, top)["n_components"] == 1
