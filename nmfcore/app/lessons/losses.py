"""Lesson 3, losses and noise: each β-divergence is the likelihood of a noise model."""

from __future__ import annotations

from typing import Any

import numpy as np

from nmfcore.classic import nmf
from nmfcore.judge import spectral_angle_distance
from nmfcore.results import NMFResult
from nmfcore.utils.validation import check_choice, check_nonnegative_float

NOISE_MODELS = ("gaussian", "poisson", "gamma")
LOSSES = {"Frobenius (β=2)": 2.0, "Kullback–Leibler (β=1)": 1.0, "Itakura–Saito (β=0)": 0.0}
NOISE_FOR_BETA = {2.0: "gaussian", 1.0: "poisson", 0.0: "gamma"}
LOG_ERROR = "mean |log10(WH / clean)|"


def low_rank_truth(m: int = 40, n: int = 60, rank: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Positive ground-truth factors (W of shape (m, rank), H of shape (rank, n)) with V = W H ≥ 0.05."""
    rng = np.random.default_rng(seed)
    W = rng.gamma(0.6, 1.0, (m, rank)) + 0.05
    H = rng.gamma(0.6, 1.0, (rank, n)) + 0.05
    return W, H


def simulate_noise(V: np.ndarray, model: str, level: float, seed: int = 0) -> np.ndarray:
    """Draw noisy data around a nonnegative mean V under a noise model.

    Parameters
    ----------
    V : ndarray, shape (m, n)
        The clean mean.
    model : {"gaussian", "poisson", "gamma"}
        - "gaussian": V + σ N(0, 1) with σ = ``level`` · mean(V), clipped at 0
          (variance independent of V: the model of the Frobenius loss);
        - "poisson": counts Poisson(V / level) · level (variance ∝ V: the
          model of the Kullback–Leibler loss);
        - "gamma": V · Gamma(1/level, level) (mean 1, variance ∝ V²:
          multiplicative noise, the model of the Itakura–Saito loss).
    level : float > 0
        Noise strength.

    Returns
    -------
    ndarray, shape (m, n)
    """
    check_choice(model, "model", NOISE_MODELS)
    level = check_nonnegative_float(level, "level")
    if level == 0:
        raise ValueError("level must be > 0; use the clean V itself for no noise")
    rng = np.random.default_rng(seed)
    if model == "gaussian":
        return np.maximum(V + level * V.mean() * rng.standard_normal(V.shape), 0.0)
    if model == "poisson":
        return rng.poisson(V / level) * level
    return V * rng.gamma(1.0 / level, level, V.shape)


def variance_slope(V: np.ndarray, X: np.ndarray, n_bins: int = 8) -> tuple[np.ndarray, np.ndarray, float]:
    """How the noise variance grows with the mean: binned (mean, variance) and the log-log slope p.

    A β-divergence is the negative log-likelihood of a noise whose variance is
    proportional to mean^(2 − β) (Tweedie family): p ≈ 0 fits β = 2, p ≈ 1 fits
    β = 1, p ≈ 2 fits β = 0.

    Returns
    -------
    means, variances : ndarray, shape (n_bins,)
    slope : float
    """
    v, r = V.ravel(), (X - V).ravel()
    edges = np.quantile(v, np.linspace(0, 1, n_bins + 1))
    which = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, n_bins - 1)
    means = np.array([v[which == b].mean() for b in range(n_bins)])
    variances = np.array([r[which == b].var() for b in range(n_bins)])
    keep = variances > 0
    slope = float(np.polyfit(np.log(means[keep]), np.log(variances[keep]), 1)[0])
    return means, variances, slope


def noise_law(noise: str, level: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """:func:`variance_slope` of noise drawn around :func:`low_rank_truth`'s clean matrix.

    Parameters
    ----------
    noise : {"gaussian", "poisson", "gamma"}
    level : float > 0

    Returns
    -------
    means, variances : ndarray, shape (8,)
    slope : float
    """
    W, H = low_rank_truth(seed=seed)
    V = W @ H
    return variance_slope(V, simulate_noise(V, noise, level, seed=seed))


def fit_losses(X: np.ndarray, rank: int, seed: int = 0, max_iter: int = 300) -> dict[str, NMFResult]:
    """NMF of X under the Frobenius, KL and Itakura–Saito losses (same start).

    Itakura–Saito needs X > 0, so zeros are raised to 1e-6 · mean(X) for all three.
    """
    X = np.maximum(X, 1e-6 * X.mean())
    return {
        name: nmf(X, rank, beta=beta, solver="mu", init="nndsvda", max_iter=max_iter, tol=1e-6, random_state=seed)
        for name, beta in LOSSES.items()
    }


def loss_noise_table(
    noise: str, level: float, rank: int = 3, seed: int = 0
) -> list[dict[str, Any]]:
    """Fit each loss to data simulated with ``noise`` and score the recovery of the truth.

    Returns
    -------
    list of dict
        One row per loss: the spectral angle distance (degrees) of the fitted W
        to the true W, and the relative error of W H to the clean mean V
        (not to the noisy data).
    """
    W, H = low_rank_truth(rank=rank, seed=seed)
    V = W @ H
    X = simulate_noise(V, noise, level, seed=seed + 1)
    rows = []
    for name, result in fit_losses(X, rank, seed=seed).items():
        sad, _, _ = spectral_angle_distance(result.W, W)
        rows.append({
            "loss": name,
            "matches the noise": NOISE_FOR_BETA[LOSSES[name]] == noise,
            "SAD to true W (°)": round(sad, 2),
            "error to clean V": round(float(np.linalg.norm(result.W @ result.H - V) / np.linalg.norm(V)), 4),
        })
    return rows


def log_errors(fits: dict[str, NMFResult], V: np.ndarray) -> dict[str, float]:
    """Mean |log10(WH / V)| of each fit against the clean V: the error as heard, in decades."""
    return {
        name: float(np.mean(np.abs(np.log10(np.maximum(r.W @ r.H, 1e-12) / V))))
        for name, r in fits.items()
    }


def spectrogram_like(n_freq: int = 64, n_time: int = 100, level: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A power spectrogram of three "notes": harmonic spectra times decaying activations.

    Returns
    -------
    X : ndarray, shape (n_freq, n_time)
        Clean power times multiplicative Gamma noise (as for a real
        periodogram), with a large dynamic range, the setting of Itakura–Saito.
    V : ndarray, shape (n_freq, n_time)
        The clean power.
    """
    rng = np.random.default_rng(seed)
    freqs = np.arange(n_freq)[:, None]
    W = np.zeros((n_freq, 3))
    for k, f0 in enumerate((5, 7, 9)):
        for h in range(1, 8):
            W[:, k] += 0.5 ** h * np.exp(-0.5 * ((freqs[:, 0] - f0 * h) / 0.8) ** 2)
    W += 1e-4
    H = np.zeros((3, n_time))
    for k in range(3):
        for onset in rng.choice(n_time - 10, 3, replace=False):
            H[k, onset:] += np.exp(-np.arange(n_time - onset) / 12.0) * rng.uniform(0.5, 2)
    V = W @ (H + 1e-3)
    return simulate_noise(V, "gamma", level, seed=seed), V


def spectrogram_fits(level: float, rank: int = 3, seed: int = 0) -> dict[str, Any]:
    """Each loss fitted to :func:`spectrogram_like`, with its error in decades to the clean power.

    Returns
    -------
    dict
        ``panels`` mapping ``"data"`` to X and each loss name to its W H, all of
        shape (64, 100); ``table`` one row per loss with :data:`LOG_ERROR`
        (:func:`log_errors`, rounded to 3 decimals).
    """
    X, V = spectrogram_like(level=level, seed=seed)
    fits = fit_losses(X, rank, seed=seed)
    return {
        "panels": {"data": X, **{name: r.W @ r.H for name, r in fits.items()}},
        "table": [{"loss": name, LOG_ERROR: round(value, 3)} for name, value in log_errors(fits, V).items()],
    }
