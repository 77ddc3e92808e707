"""Bad arguments to nmfcore.nmf raise ValueError naming the argument and the fix."""

import numpy as np
import pytest
import scipy.sparse as sp

import nmfcore


@pytest.fixture
def X():
    return np.random.default_rng(0).random((12, 9))


def test_negative_entries_report_count_and_first_position(X):
    X = X.copy()
    X[3, 4] = -1.0
    X[5, 1] = -2.0
    with pytest.raises(ValueError, match=r"2 entries are negative, the first at row 3, column 4"):
        nmfcore.nmf(X, 2)


def test_negative_sparse_entry_is_located_without_densifying():
    X = sp.csr_matrix(([1.0, -3.0], ([0, 7], [2, 5])), shape=(10, 8))
    with pytest.raises(ValueError, match=r"1 entry is negative, the first at row 7, column 5"):
        nmfcore.nmf(X, 2)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_suggests_mask(X, bad):
    X = X.copy()
    X[2, 2] = bad
    with pytest.raises(ValueError, match=r"row 2, column 2.*mask="):
        nmfcore.nmf(X, 2)


@pytest.mark.parametrize("rank", [0, -1, 10, 2.5, "3"])
def test_rank_out_of_range(X, rank):
    with pytest.raises(ValueError, match="rank"):
        nmfcore.nmf(X, rank)


def test_rank_message_gives_the_limit(X):
    with pytest.raises(ValueError, match=r"between 1 and min\(m, n\) = 9"):
        nmfcore.nmf(X, 10)


def test_all_zero_matrix():
    with pytest.raises(ValueError, match="all zeros"):
        nmfcore.nmf(np.zeros((5, 4)), 2)


def test_itakura_saito_with_zeros(X):
    X = X.copy()
    X[0, 0] = 0
    with pytest.raises(ValueError, match="beta=0.*zeros"):
        nmfcore.nmf(X, 2, beta="is")


def test_mask_of_wrong_shape(X):
    with pytest.raises(ValueError, match=r"mask has shape \(3, 3\).*\(12, 9\)"):
        nmfcore.nmf(X, 2, mask=np.ones((3, 3)))


def test_mask_must_be_binary(X):
    with pytest.raises(ValueError, match="only 0"):
        nmfcore.nmf(X, 2, mask=np.full(X.shape, 0.5))


def test_hals_refuses_other_betas(X):
    with pytest.raises(ValueError, match=r"solver='hals'.*beta=1"):
        nmfcore.nmf(X, 2, beta=1, solver="hals")


@pytest.mark.parametrize("beta", [0.5, 3])
def test_relaxed_mu_refuses_betas_outside_one_to_two(X, beta):
    with pytest.raises(ValueError, match=rf"solver='relaxed-mu' needs 1 <= beta <= 2.*beta={beta:g}.*'mu'"):
        nmfcore.nmf(X, 2, beta=beta, solver="relaxed-mu")


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"beta": "euclid"}, "beta"),
        ({"solver": "cd"}, "solver"),
        ({"init": "svd"}, "init"),
        ({"init": (np.ones((12, 3)), np.ones((2, 9)))}, "init"),
        ({"max_iter": -1}, "max_iter"),
        ({"tol": -1.0}, "tol"),
        ({"alpha_W": -0.1}, "alpha_W"),
        ({"l1_ratio": 2.0}, "l1_ratio"),
        ({"dtype": np.int32}, "dtype"),
        ({"random_state": "seed"}, "random_state"),
        ({"callback": 3}, "callback"),
    ],
)
def test_bad_arguments_name_themselves(X, kwargs, word):
    with pytest.raises(ValueError, match=word):
        nmfcore.nmf(X, 2, **kwargs)


def test_text_matrix_is_refused():
    with pytest.raises(ValueError, match="numbers"):
        nmfcore.nmf(np.array([["a", "b"], ["c", "d"]]), 1)


def test_beta_divergence_checks_shapes(X):
    with pytest.raises(ValueError, match="shapes do not chain"):
        nmfcore.beta_divergence(X, np.ones((12, 2)), np.ones((3, 9)), 2)
