"""The block rules: column blocks reduced give the one-block iterate, the solvers run the same rules,
and the loss from partials is the β-divergence."""

import numpy as np
import pytest
import scipy.sparse as sp

import nmfcore
from nmfcore.classic.blocks import DataBlock, Partials, cross_product, frobenius_loss, summed_partials
from nmfcore.classic.hals import HALSSolver
from nmfcore.classic.hals_rules import hals_h_update, hals_w_update, revive_dead_factors
from nmfcore.classic.mu import MUSolver
from nmfcore.classic.mu_rules import MUStep, mu_h_partials, mu_update_h, mu_update_w, mu_w_partials
from nmfcore.classic.penalty import Penalty

M_ROWS, N_COLS, RANK = 50, 41, 4
UNEVEN = [slice(0, 7), slice(7, 8), slice(8, 30), slice(30, 41)]  # 4 uneven column blocks
WHOLE = [slice(0, N_COLS)]


def problem(kind, seed=0):
    """X (dense, sparse or dense with a mask), its mask, and positive start factors of X's scale."""
    rng = np.random.default_rng(seed)
    W = rng.random((M_ROWS, RANK)) + 0.1
    H = rng.random((RANK, N_COLS)) + 0.1
    mask = None
    if kind == "sparse":
        X = sp.random(M_ROWS, N_COLS, density=0.2, random_state=seed, format="csr")
    else:
        X = rng.random((M_ROWS, RANK)) @ rng.random((RANK, N_COLS)) + 0.05 * rng.random((M_ROWS, N_COLS))
        if kind == "masked":
            mask = (rng.random(X.shape) > 0.25).astype(float)
            X = X * mask
        X = np.ascontiguousarray(X)
    scale = np.sqrt(X.mean() / (W @ H).mean())
    return X, mask, W * scale, H * scale


def column_blocks(X, mask, cols):
    return [DataBlock(X if c == slice(0, X.shape[1]) else X[:, c], None if mask is None else mask[:, c])
            for c in cols]


def mu_iteration(X, mask, W, H, beta, relaxed, cols, penalty_W=Penalty(), penalty_H=Penalty()):
    """One MU iteration over column blocks: H_b locally, then W from the summed partials."""
    W, H = W.copy(), H.copy()
    step_W = MUStep.for_factor(beta, penalty_W, relaxed, X.dtype)
    step_H = MUStep.for_factor(beta, penalty_H, relaxed, X.dtype)
    blocks = column_blocks(X, mask, cols)
    for block, c in zip(blocks, cols):
        H_b = H[:, c]
        mu_update_h(H_b, mu_h_partials(block, W, H_b, beta), step_H)
    parts = [mu_w_partials(block, W, H[:, c], beta) for block, c in zip(blocks, cols)]
    mu_update_w(W, summed_partials(parts), step_W)
    return W, H


MU_CASES = [(1, False), (1, True), (1.5, False), (1.5, True), (2, False), (2, True), (0.5, False), (3, False)]


@pytest.mark.parametrize("kind", ["dense", "sparse", "masked"])
@pytest.mark.parametrize("beta, relaxed", MU_CASES)
def test_mu_over_uneven_column_blocks_gives_the_one_block_iterate(kind, beta, relaxed):
    X, mask, W0, H0 = problem(kind)
    W, H = W0, H0
    Wb, Hb = W0, H0
    for _ in range(3):
        W, H = mu_iteration(X, mask, W, H, beta, relaxed, WHOLE)
        Wb, Hb = mu_iteration(X, mask, Wb, Hb, beta, relaxed, UNEVEN)
    np.testing.assert_allclose(Hb, H, rtol=1e-12)
    np.testing.assert_allclose(Wb, W, rtol=1e-12)
    assert not np.array_equal(W, W0)


@pytest.mark.parametrize("kind", ["dense", "sparse", "masked"])
@pytest.mark.parametrize("beta, relaxed", MU_CASES)
def test_mu_solver_runs_the_one_block_rules(kind, beta, relaxed):
    X, mask, W0, H0 = problem(kind)
    penalty_W, penalty_H = Penalty(0.01, 0.02), Penalty(0.03, 0.0)
    solver = MUSolver(X, W0.copy(), H0.copy(), beta, mask, penalty_W, penalty_H, relaxed=relaxed)
    solver.loss()
    solver.step()
    W, H = mu_iteration(X, mask, W0, H0, beta, relaxed, WHOLE, penalty_W, penalty_H)
    np.testing.assert_array_equal(solver.H, H)
    np.testing.assert_array_equal(solver.W, W)


def hals_iteration(X, W, H, cols, sweeps_H=1, sweeps_W=3):
    """One plain HALS iteration over column blocks: H_b locally, W from the summed X_b H_bᵀ and H_b H_bᵀ."""
    W, H = W.copy(), H.copy()
    eps = np.finfo(X.dtype).eps
    blocks = column_blocks(X, None, cols)
    WtW = W.T @ W
    grams, alive = [], []
    for block, c in zip(blocks, cols):
        gram, alive_b = hals_h_update(block, W, H[:, c], WtW, Penalty(), sweeps_H)
        grams.append(gram)
        alive.append(alive_b)
    dead = ~np.logical_or.reduce(alive)
    if dead.any():  # a row dead in every block gets eps, and the blocks' Gram matrices follow
        H[dead] = eps
        grams = [H[:, c] @ H[:, c].T for c in cols]
    HHt = sum(grams)
    XHt = sum(cross_product(block, H[:, c]) for block, c in zip(blocks, cols))
    hals_w_update(W, XHt, HHt, Penalty(), sweeps_W)
    revive_dead_factors(W, eps)
    return W, H, XHt, HHt


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_hals_over_uneven_column_blocks_gives_the_one_block_iterate(kind):
    X, _, W, H = problem(kind, seed=1)
    Wb, Hb = W, H
    for _ in range(4):
        W, H, XHt, HHt = hals_iteration(X, W, H, WHOLE)
        Wb, Hb, XHt_b, HHt_b = hals_iteration(X, Wb, Hb, UNEVEN)
    np.testing.assert_allclose(Hb, H, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(Wb, W, rtol=1e-11, atol=1e-14)
    # the loss from the reduced partials is the objective at the new (W, H)
    x_sq = sum(block.x_sq for block in column_blocks(X, None, UNEVEN))
    loss = frobenius_loss(x_sq, float(np.vdot(Wb, XHt_b)), Wb.T @ Wb, HHt_b)
    assert loss == pytest.approx(nmfcore.beta_divergence(X, Wb, Hb, 2), rel=1e-10)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_hals_solver_plain_step_runs_the_one_block_rules(kind, monkeypatch):
    import nmfcore.classic.hals as hals

    monkeypatch.setattr(hals, "block_count", lambda rows, work: 1)
    X, _, W0, H0 = problem(kind, seed=2)
    solver = HALSSolver(X, W0.copy(), H0.copy(), Penalty(), Penalty())
    solver._plain_step()
    W, H, _, _ = hals_iteration(X, W0, H0, WHOLE, solver.inner_H, solver.inner_W)
    np.testing.assert_array_equal(solver.H, H)
    np.testing.assert_array_equal(solver.W, W)


@pytest.mark.parametrize("kind", ["dense", "sparse", "masked"])
@pytest.mark.parametrize("beta", [0, 0.5, 1, 1.5, 2, 3])
def test_loss_from_the_blocks_partials_is_the_beta_divergence(kind, beta):
    if beta == 0 and kind == "sparse":
        pytest.skip("Itakura-Saito is undefined at a sparse X's zeros")
    X, mask, W, H = problem(kind, seed=3)
    if beta == 0:
        X = X + 0.1 * (mask if mask is not None else 1.0)
    blocks = column_blocks(X, mask, UNEVEN)
    parts = [mu_h_partials(block, W, H[:, c], beta, with_loss=True) for block, c in zip(blocks, UNEVEN)]
    expected = nmfcore.beta_divergence(X, W, H, beta, mask=mask)
    assert sum(p.loss for p in parts) == pytest.approx(expected, rel=1e-12)
    if beta == 2 and mask is None:  # and from the W-side partials, as HALS computes it
        cross = sum(float(np.vdot(W, cross_product(block, H[:, c]))) for block, c in zip(blocks, UNEVEN))
        x_sq = sum(block.x_sq for block in blocks)
        assert frobenius_loss(x_sq, cross, W.T @ W, H @ H.T) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "beta, mask, form, den_shape",
    [(1, None, "sums", (1, RANK)), (2, None, "gram", (RANK, RANK)), (1.5, None, "full", (M_ROWS, RANK)),
     (1, "mask", "full", (M_ROWS, RANK))],
)
def test_w_partials_of_a_column_block_are_m_by_r_and_r_by_r(beta, mask, form, den_shape):
    X, M, W, H = problem("masked" if mask else "dense")
    block = DataBlock(X[:, 3:20], None if M is None else M[:, 3:20])
    parts = mu_w_partials(block, W, H[:, 3:20], beta)
    assert isinstance(parts, Partials) and parts.form == form
    assert parts.num.shape == (M_ROWS, RANK) and parts.den.shape == den_shape
    h_parts = mu_h_partials(block, W, H[:, 3:20], beta)
    assert h_parts.num.shape == (RANK, 17)


def test_partials_of_different_forms_do_not_add_and_sparse_blocks_take_no_mask():
    X, _, W, H = problem("dense")
    kl = mu_w_partials(DataBlock(X), W, H, 1)
    frobenius = mu_w_partials(DataBlock(X), W, H, 2)
    with pytest.raises(ValueError, match="different forms"):
        summed_partials([kl, frobenius])
    with pytest.raises(ValueError, match="no mask"):
        DataBlock(sp.csr_matrix(X), np.ones(X.shape))


def test_work_buffers_are_reused_and_give_the_same_terms():
    X, _, W, H = problem("dense")
    work: dict = {}
    first = mu_h_partials(DataBlock(X), W, H, 1, work=work).num.copy()
    buffers = {key: id(array) for key, array in work.items()}
    again = mu_h_partials(DataBlock(X), W, H, 1, work=work)
    assert {key: id(array) for key, array in work.items()} == buffers
    np.testing.assert_array_equal(again.num, first)
    np.testing.assert_array_equal(mu_h_partials(DataBlock(X), W, H, 1).num, first)


def test_masked_itakura_saito_has_a_finite_loss_that_never_increases():
    rng = np.random.default_rng(5)
    X = rng.random((30, 20)) + 0.1
    mask = (rng.random(X.shape) > 0.3).astype(float)
    result = nmfcore.nmf(np.where(mask > 0, X, np.nan), 3, beta=0, mask=mask, max_iter=30, tol=0, random_state=0)
    assert np.isfinite(result.loss).all() and np.all(np.diff(result.loss) <= 1e-9 * result.loss[:-1])
    assert result.loss[-1] == pytest.approx(nmfcore.beta_divergence(X, result.W, result.H, 0, mask=mask), rel=1e-9)


def test_hals_blocks_of_whole_sweep_tiles_give_the_one_block_iterate_with_several_sweeps():
    rng = np.random.default_rng(6)
    X = rng.random((30, 4)) @ rng.random((4, 150)) + 0.05 * rng.random((30, 150))
    W = rng.random((30, 4)) + 0.1
    H = rng.random((4, 150)) + 0.1
    scale = np.sqrt(X.mean() / (W @ H).mean())
    W, H = W * scale, H * scale
    aligned = [slice(0, 64), slice(64, 128), slice(128, 150)]  # starts on the kernel's 64-column tiles
    W1, H1, _, _ = hals_iteration(X, W, H, [slice(0, 150)], sweeps_H=4)
    Wb, Hb, _, _ = hals_iteration(X, W, H, aligned, sweeps_H=4)
    np.testing.assert_allclose(Hb, H1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(Wb, W1, rtol=1e-11, atol=1e-15)
