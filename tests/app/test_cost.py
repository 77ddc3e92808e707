"""Memory and time estimates before a fit."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import nmfcore
from nmfcore.app.cost import estimate_fit, format_bytes, format_seconds, measure_flops

RATE = 1e9  # a fixed rate keeps these tests independent of the machine's speed


def test_dense_data_bytes_follow_shape_and_dtype():
    est64 = estimate_fit((300, 200), 10, flops_per_second=RATE)
    est32 = estimate_fit((300, 200), 10, dtype=np.float32, flops_per_second=RATE)
    assert est64.data_bytes == 300 * 200 * 8
    assert est32.data_bytes == 300 * 200 * 4
    assert est64.memory_bytes > est64.data_bytes
    assert est32.memory_bytes == pytest.approx(est64.memory_bytes / 2, rel=0.01)


def test_sparse_estimate_does_not_scale_with_the_dense_size():
    dense = estimate_fit((100_000, 50_000), 20, beta=1, flops_per_second=RATE)
    sparse = estimate_fit((100_000, 50_000), 20, beta=1, nnz=1_000_000, flops_per_second=RATE)
    assert dense.memory_bytes > 100_000 * 50_000 * 8
    assert sparse.memory_bytes < 100_000 * 50_000 * 8 / 100
    assert sparse.data_bytes == 1_000_000 * 12 + 4 * 100_001
    assert sparse.flops < dense.flops / 100


def test_time_is_flops_over_rate_and_grows_with_the_work():
    base = estimate_fit((500, 400), 10, max_iter=100, flops_per_second=RATE)
    assert base.seconds == pytest.approx(base.flops / RATE)
    assert estimate_fit((500, 400), 10, max_iter=200, flops_per_second=RATE).flops == pytest.approx(2 * base.flops)
    assert estimate_fit((500, 400), 20, max_iter=100, flops_per_second=RATE).flops > 1.8 * base.flops
    assert estimate_fit((500, 400), 10, max_iter=100, beta=1, flops_per_second=RATE).flops > base.flops


def test_models_cost_more_than_one_nmf():
    nmf_est = estimate_fit((400, 300), 20, beta=1, max_iter=100, flops_per_second=RATE)
    deep = estimate_fit((400, 300), [20, 10], model="deep_nmf", beta=1, max_iter=100, init_iter=100,
                        flops_per_second=RATE)
    gnmf = estimate_fit((400, 300), 20, model="gnmf", beta=2, max_iter=100, flops_per_second=RATE)
    pnmf = estimate_fit((400, 300), 20, model="pnmf", max_iter=10, n_scales=20, flops_per_second=RATE)
    pnmf_more = estimate_fit((400, 300), 20, model="pnmf", max_iter=10, n_scales=40, flops_per_second=RATE)
    assert deep.flops > 2 * nmf_est.flops  # multilayer init plus deep iterations
    assert gnmf.flops > estimate_fit((400, 300), 20, max_iter=100, flops_per_second=RATE).flops
    assert pnmf_more.flops == pytest.approx(2 * pnmf.flops)
    assert pnmf_more.memory_bytes > pnmf.memory_bytes


@pytest.mark.parametrize("beta", [2, 1])
def test_memory_estimate_brackets_the_measured_peak(beta):
    rng = np.random.default_rng(0)
    m, n, r = 400, 300, 10
    X = rng.random((m, r)) @ rng.random((r, n))
    est = estimate_fit((m, n), r, beta=beta, max_iter=20, flops_per_second=RATE)
    nmfcore.nmf(X[:50, :40], 3, beta=beta, max_iter=2)  # lazy imports are not the fit's memory
    tracemalloc.start()
    nmfcore.nmf(X, r, beta=beta, max_iter=20, tol=0.0, random_state=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    measured = peak + X.nbytes  # X was allocated before tracing began
    assert 0.4 * measured <= est.memory_bytes <= 3.0 * measured, (est.memory_bytes, measured)


def test_sparse_nmf_memory_estimate_brackets_the_measured_peak():
    X = sp.random(2000, 1500, density=0.01, random_state=0, format="csr")
    est = estimate_fit(X.shape, 8, beta=1, nnz=X.nnz, max_iter=10, flops_per_second=RATE)
    nmfcore.nmf(X[:50, :40], 3, beta=1, max_iter=2)  # lazy imports are not the fit's memory
    tracemalloc.start()
    nmfcore.nmf(X, 8, beta=1, max_iter=10, tol=0.0, random_state=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    measured = peak + X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    assert 0.3 * measured <= est.memory_bytes <= 3.0 * measured, (est.memory_bytes, measured)


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="model="):
        estimate_fit((10, 10), 2, model="svd")
    with pytest.raises(ValueError, match="takes one rank"):
        estimate_fit((10, 10), [4, 2], model="nmf")
    with pytest.raises(ValueError, match="shape must be"):
        estimate_fit((10,), 2)
    with pytest.raises(ValueError, match="max_iter"):
        estimate_fit((10, 10), 2, max_iter=0)
    with pytest.raises(ValueError, match="ranks must hold"):
        estimate_fit((10, 10), [], model="deep_nmf")


def test_formatting_and_measured_rate():
    assert format_bytes(512) == "512 B"
    assert format_bytes(2_500_000) == "2.5 MB"
    assert format_seconds(0.5) == "0.5 s"
    assert format_seconds(150) == "2.5 min"
    assert measure_flops(64) > 0
    text = estimate_fit((100, 100), 5, flops_per_second=RATE).summary()
    assert "memory" in text and text.endswith(" s")


def test_registry_names_use_their_cost_model():
    from nmfcore.app.cost import estimate_params

    deep = estimate_fit((400, 300), [20, 10], model="deep_nmf", beta=1, flops_per_second=RATE)
    minvol = estimate_fit((400, 300), [20, 10], model="min_vol_deep_nmf", beta=1, flops_per_second=RATE)
    multilayer = estimate_fit((400, 300), [20, 10], model="multilayer_nmf", beta=1, flops_per_second=RATE)
    assert minvol == deep and multilayer == deep
    with pytest.raises(ValueError, match="takes one rank"):
        estimate_fit((10, 10), [4, 2], model="gnmf")
    params = {"ranks": [20, 10], "beta": 1.0, "init_iter": 100, "max_iter": 50}
    from_params = estimate_params("min_vol_deep_nmf", (400, 300), params)
    assert from_params == estimate_fit((400, 300), [20, 10], model="deep_nmf", beta=1, max_iter=50, init_iter=100)
    pnmf = estimate_params("pnmf", (400, 300), {"rank": 5, "max_iter": 4, "n_scales": 6})
    assert pnmf == estimate_fit((400, 300), 5, model="pnmf", max_iter=4, n_scales=6)
