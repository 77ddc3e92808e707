"""Elastic-net penalties on a factor: l1 ‖F‖₁ + ½ l2 ‖F‖²_F."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Penalty:
    """Elastic-net penalty with L1 weight ``l1`` and squared-Frobenius weight ``l2``."""

    l1: float = 0.0
    l2: float = 0.0

    @classmethod
    def elastic_net(cls, alpha: float, l1_ratio: float, scale: float = 1.0, beta: float = 2.0) -> "Penalty":
        """Penalty α (ρ‖F‖₁ + ½(1−ρ)‖F‖²) expressed for data divided by ``scale``.

        With X' = X / s and both factors divided by √s, the objective divided by
        s^β keeps its minimisers when the weights become α ρ s^(½−β) and
        α (1−ρ) s^(1−β).
        """
        return cls(alpha * l1_ratio * scale ** (0.5 - beta), alpha * (1.0 - l1_ratio) * scale ** (1.0 - beta))

    def value(self, F: np.ndarray) -> float:
        """Penalty of the nonnegative factor ``F`` (any shape)."""
        if not (self.l1 or self.l2):
            return 0.0
        return self.l1 * float(F.sum()) + 0.5 * self.l2 * float(np.vdot(F, F))
