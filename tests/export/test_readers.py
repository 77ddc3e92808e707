"""Exported results read back follow the result protocol."""

import io
import json

import numpy as np
import pytest

from nmfcore import export
from nmfcore.classic import nmf
from nmfcore.results import FitResult, Layer


def _named(data, name):
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def test_a_result_read_back_is_a_fit_result_that_exports_again():
    X = np.random.default_rng(0).random((8, 12))
    result = nmf(X, 2, max_iter=5, random_state=0)
    back = export.read_result(_named(export.to_npz(result), "r.npz"))
    assert isinstance(back, FitResult)
    again = export.read_result(_named(export.to_npz(back), "again.npz"))
    np.testing.assert_array_equal(again.W, result.W)
    np.testing.assert_array_equal(again.loss, result.loss)
    assert again.params == result.params and again.n_iter == result.n_iter


def test_an_export_without_history_reads_back_with_empty_loss_and_times():
    W, H = np.ones((4, 2)), np.ones((2, 3))
    recipe = {"format": "nmfcore-recipe", "version": 2, "model": "nmf", "params": {"model": "nmf", "rank": 2},
              "history": {"stopped": False}}
    buffer = io.BytesIO()
    np.savez(buffer, W_0=W, H_0=H, recipe=np.array(json.dumps(recipe)))
    back = export.read_result(_named(buffer.getvalue(), "bare.npz"))
    assert isinstance(back, FitResult)
    assert back.loss.shape == (0,) and back.times.shape == (0,) and back.n_iter == 0
    assert back.layers()[0].name == "layer 0"


def test_exports_refuse_objects_that_are_not_results():
    class OnlyLayers:
        params = {"model": "nmf"}

        def layers(self):
            return [Layer("x", np.ones((4, 2)), np.ones((2, 3)))]

    with pytest.raises(ValueError, match="must be an nmfcore result"):
        export.to_npz(OnlyLayers())
    with pytest.raises(ValueError, match="must be an nmfcore result"):
        export.recipe(OnlyLayers())
