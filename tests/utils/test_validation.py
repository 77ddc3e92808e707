"""Shared argument checks: the seed-recording rule, dtypes, divergence names, ranks."""

import numpy as np
import pytest

import nmfcore
from nmfcore.utils.validation import check_beta, check_dtype, check_random_state, check_rank, resolve_seed


@pytest.mark.parametrize("seed", [5, np.int64(5), np.int32(5), np.uint8(5)])
def test_an_integer_seed_of_any_kind_is_recorded_as_a_python_int(seed):
    rng, recorded = resolve_seed(seed)
    assert recorded == 5 and type(recorded) is int
    assert rng.random() == np.random.default_rng(5).random()


@pytest.mark.parametrize("make", [np.random.default_rng, np.random.RandomState])
def test_a_generator_seeds_the_fit_with_a_drawn_integer_that_reruns_it(make):
    rng, recorded = resolve_seed(make(11))
    assert isinstance(recorded, int) and 0 <= recorded < 2**31 - 1
    assert rng.random() == np.random.default_rng(recorded).random()
    assert resolve_seed(make(11))[1] == recorded  # the same generator state draws the same seed


def test_no_seed_is_recorded_as_none():
    rng, recorded = resolve_seed(None)
    assert isinstance(rng, np.random.Generator) and recorded is None


@pytest.mark.parametrize("bad", [True, "seed", 1.5, [1]])
def test_bad_seeds_name_random_state(bad):
    with pytest.raises(ValueError, match="random_state"):
        resolve_seed(bad)
    with pytest.raises(ValueError, match="random_state"):
        check_random_state(bad)


def test_nmf_records_a_numpy_integer_seed():
    X = np.random.default_rng(0).random((20, 15))
    assert nmfcore.nmf(X, 3, random_state=np.int64(5), max_iter=3).params["random_state"] == 5


def test_nmf_rerun_from_a_recorded_generator_drawn_seed_reproduces_w():
    X = np.random.default_rng(0).random((20, 15))
    first = nmfcore.nmf(X, 3, init="random", random_state=np.random.default_rng(4), max_iter=10)
    seed = first.params["random_state"]
    assert isinstance(seed, int)
    again = nmfcore.nmf(X, 3, init="random", random_state=seed, max_iter=10)
    np.testing.assert_array_equal(again.W, first.W)
    np.testing.assert_array_equal(again.H, first.H)


def test_dtype_defaults_follow_the_data_and_refuse_integers():
    assert check_dtype(None, np.float32) == np.float32
    assert check_dtype(None, np.int64) == np.float64
    assert check_dtype(np.float32, np.float64) == np.float32
    with pytest.raises(ValueError, match="dtype"):
        check_dtype(np.int32, np.float64)


def test_divergence_names_and_numbers():
    assert check_beta("KL") == 1.0 and check_beta(" Frobenius ") == 2.0 and check_beta("is") == 0.0
    assert check_beta(1.5) == 1.5
    for bad in ("euclid", np.nan, True, None):
        with pytest.raises(ValueError, match="beta"):
            check_beta(bad)


def test_rank_bounds():
    assert check_rank(np.int64(3), (5, 4)) == 3
    for bad in (0, 5, 2.0, True):
        with pytest.raises(ValueError, match="rank"):
            check_rank(bad, (5, 4))
