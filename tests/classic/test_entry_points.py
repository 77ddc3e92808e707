"""Every classic fit entry point takes max_iter, dtype, random_state and callback, spelled alike."""

import inspect

import numpy as np
import pytest

import nmfcore

SHARED = ("max_iter", "dtype", "random_state", "callback")


@pytest.mark.parametrize("entry", [nmfcore.nmf, nmfcore.NMF])
def test_entry_point_takes_the_shared_keywords(entry):
    parameters = inspect.signature(entry).parameters
    for name in SHARED:
        assert name in parameters and parameters[name].kind is inspect.Parameter.KEYWORD_ONLY


def test_estimator_passes_dtype_and_callback_to_the_engine():
    X = np.random.default_rng(0).random((25, 10))
    seen = []
    model = nmfcore.NMF(3, max_iter=6, tol=0, dtype=np.float32, random_state=0,
                        callback=lambda i, W, H, loss: seen.append((i, W.shape, H.shape)))
    coef = model.fit_transform(X)
    assert coef.dtype == np.float32 and model.components_.dtype == np.float32
    assert [i for i, _, _ in seen] == list(range(1, 7))
    assert seen[0][1:] == ((10, 3), (3, 25))  # the engine's orientation
    assert model.get_params()["dtype"] is np.float32
    assert model.transform(X[:4]).dtype == np.float32
