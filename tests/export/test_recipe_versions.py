"""Recipes saved by earlier versions replay with today's parameter names."""

import json

import numpy as np
import pytest

from nmfcore import export
from nmfcore.deep import deep_nmf, multilayer_nmf
from nmfcore.topology import gnmf, pnmf


def _data(seed=0, m=10, n=24):
    return np.random.default_rng(seed).random((m, n)) + 0.05


def _version_1(model, params):
    """A recipe as version 1 wrote it (hand-written: no data fingerprint, old parameter names)."""
    return {
        "format": "nmfcore-recipe",
        "version": 1,
        "model": model,
        "params": {"model": model, **params},
        "seed": params.get("random_state"),
        "data": {},
        "packages": {"python": "3.11.7", "nmfcore": "0.1.0"},
        "history": {"n_iter": 3, "stopped": False, "final_loss": 1.0},
        "layers": [],
    }


def test_version_1_gnmf_recipe_passes_lam_as_lambdas():
    X = _data()
    old = _version_1("gnmf", {"rank": 3, "graph": "knn", "n_neighbors": 5, "lam": 0.3, "init": "nndsvda",
                              "max_iter": 15, "tol": 1e-4, "random_state": 0})
    replayed = export.replay(old, X)
    direct = gnmf(X, 3, n_neighbors=5, lambdas=0.3, max_iter=15, random_state=0)
    assert replayed.params["lambdas"] == 0.3
    np.testing.assert_array_equal(replayed.W, direct.W)
    np.testing.assert_array_equal(replayed.H, direct.H)


def test_version_1_pnmf_recipe_passes_max_sweeps_as_max_iter():
    X = _data(1)
    old = _version_1("pnmf", {"rank": 2, "scales": None, "n_scales": 3, "scale_method": "levels",
                              "lambdas": [1.0, 0.5, 1.0], "max_sweeps": 2, "tol": 0.0, "inner_iter": 1,
                              "init_iter": None, "init": "nndsvda", "preprocess": None, "random_state": 0,
                              "dtype": "float64"})
    replayed = export.replay(json.loads(json.dumps(old)), X)
    direct = pnmf(X, 2, n_scales=3, lambdas=(1.0, 0.5, 1.0), max_iter=2, tol=0.0, random_state=0)
    assert replayed.params["max_iter"] == 2 and len(replayed.loss) == 3
    for again, original in zip(replayed.layers(), direct.layers()):
        np.testing.assert_array_equal(again.W, original.W)
        np.testing.assert_array_equal(again.H, original.H)


def test_version_1_multilayer_recipe_passes_init_iter_as_max_iter():
    X = _data(2)
    old = _version_1("multilayer_nmf", {"ranks": [4, 2], "beta": 1.0, "constraint": "rows",
                                        "init_iter": 7, "dtype": "float64", "random_state": 0})
    replayed = export.replay(old, X)
    direct = multilayer_nmf(X, [4, 2], max_iter=7, random_state=0)
    assert replayed.params["max_iter"] == 7
    for again, original in zip(replayed.layers(), direct.layers()):
        np.testing.assert_array_equal(again.W, original.W)


def test_renames_apply_to_their_model_only():
    X = _data(3)
    old = _version_1("deep_nmf", {"ranks": [4, 2], "beta": 1.0, "constraint": "rows", "init_iter": 6,
                                  "max_iter": 3, "random_state": 0})
    replayed = export.replay(old, X)  # deep NMF kept its init_iter
    direct = deep_nmf(X, [4, 2], init_iter=6, max_iter=3, random_state=0)
    assert replayed.params["init_iter"] == 6 and replayed.params["max_iter"] == 3
    np.testing.assert_array_equal(replayed.layers()[-1].W, direct.layers()[-1].W)


def test_new_recipes_have_the_current_version_and_names():
    X = _data(4)
    result = gnmf(X, 2, lambdas=0.5, max_iter=5, random_state=0)
    recipe = export.recipe(result)
    assert recipe["version"] == export.RECIPE_VERSION == 2
    assert recipe["params"]["lambdas"] == 0.5 and "lam" not in recipe["params"]
    np.testing.assert_array_equal(export.replay(recipe, X).H, result.H)


def test_unknown_model_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match=r"recipe model 'pca' is unknown; replay supports \[.*'gnmf'"):
        export.replay(_version_1("pca", {"rank": 2}), _data())
