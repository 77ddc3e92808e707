"""Default parameters per kind of data."""

from __future__ import annotations

import math

import pytest

from nmfcore.app.presets import FAMILIES, KINDS, default_params


def test_paper_defaults():
    assert default_params("text", (5000, 700), "nmf")["beta"] == 1.0
    assert default_params("scrna", (700, 700), "nmf")["beta"] == 1.0
    assert default_params("images", (625, 100), "deep_nmf")["ranks"] == [80, 40, 20]
    assert default_params("hyperspectral", (156, 9025), "deep_nmf")["ranks"] == [4, 2]
    assert default_params("hyperspectral", (156, 9025), "deep_nmf", n_endmembers=3)["ranks"] == [3, 2]
    pnmf = default_params("scrna", (765, 700), "pnmf")
    assert pnmf["rank"] == math.ceil(math.sqrt(700)) and pnmf["lambdas"] == (1.0, 1.0, 1.0)
    minvol = default_params("hyperspectral", (156, 9025), "min_vol_deep_nmf")
    assert minvol["beta"] == 1.0 and len(minvol["min_volume"]) == len(minvol["ranks"])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("family", FAMILIES)
def test_ranks_fit_small_data(kind, family):
    params = default_params(kind, (30, 12), family)
    ranks = params.get("ranks", [params.get("rank")])
    assert all(1 <= r < 12 for r in ranks)
    assert all(b < a for a, b in zip(ranks, ranks[1:]))


def test_bad_kind_names_the_argument():
    with pytest.raises(ValueError, match="kind="):
        default_params("video", (10, 10), "nmf")
    with pytest.raises(ValueError, match="family="):
        default_params("images", (10, 10), "svd")


def test_python_snippet_reruns_the_same_fit():
    import types

    import numpy as np

    import nmfcore
    from nmfcore.app.reproduce import python_snippet

    rng = np.random.default_rng(0)
    X = rng.random((20, 3)) @ rng.random((3, 15))
    original = nmfcore.nmf(X, 3, beta=1, max_iter=30, random_state=0)
    code = python_snippet(original.params, "types.SimpleNamespace(X=X)")
    namespace = {"types": types, "X": X}
    exec(compile(code, "snippet", "exec"), namespace)
    np.testing.assert_allclose(namespace["result"].W, original.W)
    np.testing.assert_allclose(namespace["result"].H, original.H)
    with pytest.raises(ValueError, match="no 'model' key"):
        python_snippet({"rank": 3}, "data")


@pytest.mark.parametrize("family", FAMILIES)
def test_defaults_build_on_the_registry_entry(family):
    from nmfcore.models import get

    entry = get(family)
    params = default_params("images", (625, 100), family)
    assert next(iter(params)) == entry.rank_keyword
    assert set(entry.defaults) | set(entry.fixed) <= set(params)
    for key, value in entry.fixed.items():
        assert params[key] == value
    adjusted = {"beta", "n_neighbors", "init_iter", "max_iter"}
    for key, value in entry.defaults.items():
        if key not in adjusted:
            assert params[key] == value, key
    assert params["max_iter"] == (20 if family == "min_vol_deep_nmf" else entry.defaults["max_iter"])


def test_renamed_parameters_and_per_kind_adjustments():
    gnmf = default_params("matrix", (30, 5), "gnmf")
    assert gnmf["lambdas"] == 1.0 and gnmf["n_neighbors"] == 4 and "lam" not in gnmf
    pnmf = default_params("matrix", (30, 40), "pnmf")
    assert pnmf["max_iter"] == 10 and pnmf["rank"] == 2 and "max_sweeps" not in pnmf
    assert default_params("hyperspectral", (156, 9025), "min_vol_deep_nmf")["max_iter"] == 100
    assert default_params("text", (50, 40), "deep_nmf")["beta"] == 1.0
    assert default_params("images", (50, 40), "deep_nmf")["beta"] == 2.0
