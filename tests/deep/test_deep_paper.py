"""Deep β-NMF on the paper's real data: monotone on Samson, CBCL layer errors, Samson endmembers and merge tree."""

from __future__ import annotations

import numpy as np
import scipy.io

from _shared import shared_path
from nmfcore.deep import deep_nmf
from nmfcore.judge.metrics import spectral_angle_distance


def test_monotone_on_real_samson_pixels():
    data = scipy.io.loadmat(shared_path("samson.mat"))
    X = data["V"][:, ::20].astype(float)  # 156 bands x 452 pixels
    for kwargs in ({"beta": 1}, {"beta": 1.5}, {"min_volume": [0.2, 0.2]}):
        result = deep_nmf(X, [3, 2], init_iter=40, max_iter=30, tol=0, random_state=0, **kwargs)
        assert np.diff(result.loss).max() <= 1e-12 * abs(result.loss[0]), kwargs


# --------------------------------------------------------------------------- paper


def test_cbcl_deep_layers_beat_multilayer():
    X = scipy.io.loadmat(shared_path("CBCL.mat"))["X"].T.copy()
    result = deep_nmf(X, [80, 40, 20], beta=1, init_iter=60, max_iter=60, tol=0, random_state=0)
    ratio = result.layer_errors[-1] / result.layer_errors[0]
    # The paper's shape: deeper layers fit far better than multilayer's, the first
    # about as well (with this few multilayer iterations it still improves).
    assert ratio[0] < 1.3
    assert ratio[1] < 0.6
    assert ratio[2] < 0.3


def _samson():
    data = scipy.io.loadmat(shared_path("samson.mat"))
    truth = scipy.io.loadmat(shared_path("samson_groundtruth.mat"))
    return data["V"].astype(float), truth["M"]


def test_samson_minvol_has_the_lowest_sad_and_layer_two_merges_materials():
    X, truth = _samson()
    X = X[:, ::4]  # 2257 of the 9025 pixels keep the test fast
    deep = deep_nmf(X, [3, 2], init_iter=60, max_iter=60, tol=0, random_state=0)
    minvol = deep_nmf(X, [3, 2], min_volume=[10.0, 10.0], init_iter=60, max_iter=60, tol=0,
                      random_state=0)
    sad = {
        "multilayer": spectral_angle_distance(deep.init.W[0], truth)[0],
        "deep": spectral_angle_distance(deep.W[0], truth)[0],
        "minvol": spectral_angle_distance(minvol.W[0], truth)[0],
    }
    assert sad["minvol"] < min(sad["multilayer"], sad["deep"]) - 2.0, sad
    # Layer 2 splits vegetation from non-vegetation: the tree endmember (truth column 1)
    # stays alone while soil and water merge.
    _, _, perm = spectral_angle_distance(minvol.W[0], truth)
    children = minvol.tree()[2]
    assert sorted(len(c) for c in children) == [1, 2]
    assert [int(perm[1])] in children
    assert minvol.coefficients(2).shape == (2, X.shape[1])
