"""The iterations of MU and HALS over chunks: what :class:`~nmfcore.classic.mu.MUSolver` and
:class:`~nmfcore.classic.hals.HALSSolver` do in memory, with H in blocks of items.

Each iteration is one pass over X (HALS: two when an extrapolated iteration is
discarded). A pass updates every H block on its chunk and returns the sums W's update
needs; W (m x r) is updated here, on the client, by the same rule functions. Factors
are in the fit's scaled units (X / s, factors / √s) throughout.

MU for β ≠ 2 reports each iteration's loss one pass late: D_β(X | W_k H_k) needs a
look at X, and the pass that updates (W_k, H_k) computes it from the same W_k H_k, so
that X is read once per iteration. The solver keeps the previous iterate until its
loss is known (:attr:`ChunkedMU.lagged`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nmfcore.classic.blocks import frobenius_loss
from nmfcore.classic.hals import HER_CUT, HER_GROW, HER_GROW_CAP, HER_MIN_GAIN, HER_START
from nmfcore.classic.hals_rules import hals_w_update, revive_dead_factors, sweep_budget
from nmfcore.classic.mu_rules import MUStep, mu_update_w
from nmfcore.classic.penalty import Penalty
from nmfcore.distributed.chunk_tasks import Prep, hals_pass, loss_pass, mu_pass, revived


class ChunkedMU:
    """Multiplicative updates (plain or relaxed) for any β, with H in blocks.

    Parameters
    ----------
    backend : LocalBackend or ClusterBackend
    W : ndarray, shape (m, r)
    H : list
        H blocks (handles of the backend), in item order.
    beta : float
    penalty_W, penalty_H : Penalty
    relaxed : bool
    prep : Prep
    x_sq : float
        ‖X / s‖²_F.
    """

    def __init__(self, backend: Any, W: np.ndarray, H: list[Any], beta: float, penalty_W: Penalty,
                 penalty_H: Penalty, relaxed: bool, prep: Prep, x_sq: float) -> None:
        self.backend, self.W, self.H, self.beta, self.prep, self.x_sq = backend, W, H, beta, prep, x_sq
        self.penalty_W, self.penalty_H = penalty_W, penalty_H
        self.step_W = MUStep.for_factor(beta, penalty_W, relaxed, prep.dtype)
        self.step_H = MUStep.for_factor(beta, penalty_H, relaxed, prep.dtype)
        self.lagged = beta != 2
        self.previous: tuple[np.ndarray, list[Any]] | None = None
        self._sums: tuple[np.ndarray, np.ndarray] | None = None  # X Hᵀ and H Hᵀ at the current H (β = 2)
        self._residual: tuple[float, float] | None = None

    def start(self) -> float | None:
        """The loss of the initial iterate for β = 2 (one pass); None for β ≠ 2 (the first pass gives it)."""
        if self.lagged:
            return None
        return _start(self)

    def advance(self) -> float:
        """One iteration; returns the loss that became known (of the new iterate, or for β ≠ 2 the old one)."""
        W_shared = self.backend.share(self.W)
        self.previous = None  # the iterate before this one is not needed again: free its H during the pass
        (H_new,), (terms, loss_in, pen_in, pen_out) = self.backend.run_pass(
            mu_pass, [self.H], (W_shared, self.prep, self.beta, self.step_H, self.penalty_H, self.lagged), 1)
        W_new = self.W.copy()
        mu_update_w(W_new, terms, self.step_W)
        if self.lagged:
            known = loss_in + self.penalty_W.value(self.W) + pen_in
        else:
            known = frobenius_loss(self.x_sq, float(np.vdot(W_new, terms.num)), W_new.T @ W_new, terms.den)
            known += self.penalty_W.value(W_new) + pen_out
            self._sums = (terms.num, terms.den)
        self._residual = None
        self.previous = (self.W, self.H)
        self.W, self.H = W_new, H_new
        return known

    def rewind(self) -> None:
        """Go back to the previous iterate (the fit stopped at it; its loss was the last known)."""
        self.W, self.H = self.previous
        self.previous = None
        self._sums = self._residual = None

    def finish(self, need_loss: bool) -> float | None:
        """For β ≠ 2, a last pass at the current iterate: its residual sums, and its loss if ``need_loss``."""
        if not self.lagged:
            return None
        _, (loss, pen_H, residual2, norm2) = self.backend.run_pass(
            loss_pass, [self.H], (self.backend.share(self.W), self.prep, self.beta, self.penalty_H, need_loss), 0)
        self._residual = (residual2, norm2)
        return loss + self.penalty_W.value(self.W) + pen_H if need_loss else None

    def residual_sums(self) -> tuple[float, float]:
        """(‖X/s − W H‖², ‖X/s‖²) at the current iterate."""
        return _residual_sums(self)

    # -- checkpoints ------------------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        return {"W": self.W}

    def blocks(self) -> dict[str, list[Any]]:
        return {"H": self.H}

    def meta(self) -> dict[str, Any]:
        return {}

    def restore(self, arrays: dict[str, np.ndarray], blocks: dict[str, list[Any]], meta: dict[str, Any]) -> None:
        """The state of a checkpoint: ``arrays()``, ``blocks()`` and ``meta()`` as written."""
        self.W = arrays["W"]
        self.rebind(blocks)
        self.previous = self._sums = self._residual = None

    def rebind(self, blocks: dict[str, list[Any]]) -> None:
        """Take the same H blocks from other handles (reloaded from a checkpoint)."""
        self.H = blocks["H"]


class ChunkedHALS:
    """Accelerated HALS with HER extrapolation for β = 2, with H in blocks.

    The schedule, the acceptance test and the array roles follow
    :meth:`nmfcore.classic.hals.HALSSolver.step` one for one.

    Parameters
    ----------
    backend, W, H, penalty_W, penalty_H, prep, x_sq
        As :class:`ChunkedMU`.
    shape : (m, n)
        X's shape (for the sweep budget).
    row_sums : ndarray, shape (m,)
        X / s summed over the items (for X Hᵀ after a dead row of H is revived).
    """

    lagged = False

    def __init__(self, backend: Any, W: np.ndarray, H: list[Any], penalty_W: Penalty, penalty_H: Penalty,
                 prep: Prep, x_sq: float, shape: tuple[int, int], row_sums: np.ndarray) -> None:
        self.backend, self.prep, self.x_sq, self.row_sums = backend, prep, x_sq, row_sums
        self.penalty_W, self.penalty_H = penalty_W, penalty_H
        self.eps = float(np.finfo(prep.dtype).eps)
        self.inner_H, self.inner_W = sweep_budget(shape[0], shape[1], W.shape[1])
        self.beta, self.beta_cap = HER_START, 1.0
        self.W, self.H = W, H
        # the next iteration starts from (W_start, H): HALSSolver's H_start is always its kept H
        self.W_start, self.W_prev = W.copy(), W.copy()
        self.H_prev = H
        self._loss: float | None = None
        self._sums: tuple[np.ndarray, np.ndarray] | None = None  # X Hᵀ and H Hᵀ at the kept H
        self._residual: tuple[float, float] | None = None

    def _objective(self, W: np.ndarray, C: np.ndarray, G: np.ndarray, pen_H: float) -> float:
        data = frobenius_loss(self.x_sq, float(np.vdot(W, C)), W.T @ W, G)
        return data + self.penalty_W.value(W) + pen_H

    def start(self) -> float:
        """The objective of the initial iterate (one pass)."""
        self._loss = _start(self)
        return self._loss

    def _h_pass(self, W: np.ndarray, start: list[Any], previous: list[Any], beta: float):
        """:func:`hals_pass` over the chunks, then the revival of rows of H dead in every chunk.

        Returns the sweeps' H blocks, the point's blocks (the extrapolated one, or the
        same), and the point's H Hᵀ, X Hᵀ and penalty.
        """
        (H_new, H_point), (G, alive, C, pen) = self.backend.run_pass(
            hals_pass, [start, previous], (self.backend.share(W), W.T @ W, self.prep, self.penalty_H,
                                           self.inner_H, beta), 2)
        dead = alive == 0
        if dead.any():  # as HALSSolver._update_H: the rows get eps, so that they can recover
            (H_new,), (G_revived, pen_revived) = self.backend.run_pass(
                revived, [H_new], (dead, self.eps, self.penalty_H), 1, data=None)
            if not beta:  # the updated H is the point: its H Hᵀ, penalty and X Hᵀ change
                G, pen, H_point = G_revived, pen_revived, H_new
                C = C.copy()
                C[:, dead] += self.eps * self.row_sums[:, None]
        return H_new, H_point, G, C, pen

    def _plain_step(self) -> None:
        """One HALS iteration from the kept pair (:meth:`HALSSolver._plain_step`)."""
        W = self.W
        H, _, G, C, pen = self._h_pass(W, self.H, self.H, 0.0)
        hals_w_update(W, C, G, self.penalty_W, self.inner_W)
        revive_dead_factors(W, self.eps)
        self.H = H
        self._loss = self._objective(W, C, G, pen)
        self._sums, self._residual = (C, G), None
        self.W_start, self.W_prev = W.copy(), W.copy()
        self.H_prev = H

    def advance(self) -> float:
        """One extrapolated iteration, kept if it lowers the objective, else a plain one; the new objective."""
        previous = self._loss
        beta = self.beta
        H_new, H_ext, G, C, pen = self._h_pass(self.W_start, self.H, self.H_prev, beta)
        W_new = self.W_start.copy()
        hals_w_update(W_new, C, G, self.penalty_W, self.inner_W)
        revive_dead_factors(W_new, self.eps)
        candidate = self._objective(W_new, C, G, pen)
        if candidate > previous * (1.0 - HER_MIN_GAIN):
            self.beta_cap, self.beta = beta, beta / HER_CUT
            self._plain_step()
            return self._loss
        self.W = W_new
        self._loss = candidate
        self._sums, self._residual = (C, G), None
        self.W_start = np.maximum(W_new + beta * (W_new - self.W_prev), 0.0)
        self.W_prev = W_new.copy()
        self.H = H_ext
        self.H_prev = H_new
        self.beta = min(self.beta_cap, HER_GROW * beta)
        self.beta_cap = min(1.0, HER_GROW_CAP * self.beta_cap)
        return self._loss

    def finish(self, need_loss: bool) -> None:
        """Nothing: HALS knows each iterate's objective and sums with it."""
        return None

    def residual_sums(self) -> tuple[float, float]:
        """(‖X/s − W H‖², ‖X/s‖²) at the kept iterate."""
        return _residual_sums(self)

    # -- checkpoints ------------------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        return {"W": self.W, "W_start": self.W_start, "W_prev": self.W_prev}

    def blocks(self) -> dict[str, list[Any]]:
        return {"H": self.H, "H_prev": self.H_prev}

    def meta(self) -> dict[str, Any]:
        return {"beta": self.beta, "beta_cap": self.beta_cap, "loss": self._loss}

    def restore(self, arrays: dict[str, np.ndarray], blocks: dict[str, list[Any]], meta: dict[str, Any]) -> None:
        """The state of a checkpoint: ``arrays()``, ``blocks()`` and ``meta()`` as written."""
        self.W, self.W_start, self.W_prev = arrays["W"], arrays["W_start"], arrays["W_prev"]
        self.rebind(blocks)
        self.beta, self.beta_cap, self._loss = meta["beta"], meta["beta_cap"], meta["loss"]
        self._sums = self._residual = None

    def rebind(self, blocks: dict[str, list[Any]]) -> None:
        """Take the same H blocks from other handles (reloaded from a checkpoint)."""
        self.H, self.H_prev = blocks["H"], blocks["H_prev"]


def _start(solver: Any) -> float:
    """β = 2: the objective at the solver's current iterate, and its residual sums, from one pass."""
    _, (_, pen_H, residual2, norm2) = solver.backend.run_pass(
        loss_pass, [solver.H], (solver.backend.share(solver.W), solver.prep, 2.0, solver.penalty_H, False), 0)
    solver._residual = (residual2, norm2)
    return 0.5 * residual2 + solver.penalty_W.value(solver.W) + pen_H


def _residual_sums(solver: Any) -> tuple[float, float]:
    """From the solver's last pass: its residual sums, or (β = 2) the Frobenius loss of its X Hᵀ and H Hᵀ."""
    if solver._residual is not None:
        return solver._residual
    XHt, HHt = solver._sums
    data = frobenius_loss(solver.x_sq, float(np.vdot(solver.W, XHt)), solver.W.T @ solver.W, HHt)
    return 2.0 * data, solver.x_sq
