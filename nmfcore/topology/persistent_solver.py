"""The block-coordinate solver of persistent NMF (:func:`nmfcore.topology.persistent.pnmf`).

A GNMF chain from the coarsest scale to the finest initialises every scale
(each warm-started from the previous one, W renormalised after each step, as
the authors' code). Each sweep then updates the even scales together and then
the odd scales together: a scale is coupled only to its two neighbours, so
each half is one exact block of block-coordinate descent, and the total
objective never increases. Updating a whole half at once turns the T small
matrix products with X into a few large ones; the rest (graph products, HALS
and multiplicative steps) runs in compiled kernels over batches of scales
(:mod:`nmfcore.topology._kernels`), the batches spread over threads. Graph
weights are computed on the fly from one shared list of item pairs, so memory
is O(T r (m + n) + #edges), not O(T n²).
"""

from __future__ import annotations

from functools import partial

import numba
import numpy as np
import scipy.sparse as sp

from nmfcore.topology import _kernels as _k
from nmfcore.topology.graph_updates import EPS, graph_step
from nmfcore.topology.graphs import ScaleGraphs
from nmfcore.utils.parallel import run_jobs, single_threaded_blas

# Bytes of per-scale work arrays a batch of scales may use at once (one batch
# per thread is in flight).
_BATCH_BYTES = 8 * 2**20
_MAX_BATCH = 64


def _xt_w_batch(X, Wb: np.ndarray) -> np.ndarray:
    """W_bᵀ X for a batch of bases (c, m, r) -> (c, r, n) in one product."""
    c, m, r = Wb.shape
    flat = Wb.transpose(0, 2, 1).reshape(c * r, m)
    out = np.asarray(X.T @ flat.T).T if sp.issparse(X) else flat @ X
    return out.reshape(c, r, -1)


def _x_ht_batch(X, Hb: np.ndarray) -> np.ndarray:
    """X H_bᵀ for a batch (c, r, n) in one product, shape (m, c r): columns s r .. s r + r - 1 are X H_sᵀ."""
    c, r, n = Hb.shape
    return np.asarray(X @ Hb.reshape(c * r, n).T)


def increments(H: np.ndarray, chunk: int = 32) -> np.ndarray:
    """‖H_{t+1} - H_t‖_F for t = 0..T-2 of H (T, r, n), shape (T - 1,).

    Computed a few scales at a time (no T x r x n temporary).
    """
    out = np.empty(max(H.shape[0] - 1, 0))
    for start in range(0, out.size, chunk):
        stop = min(start + chunk, out.size)
        diff = H[start + 1 : stop + 1] - H[start:stop]
        out[start:stop] = np.sqrt(np.einsum("tij,tij->t", diff, diff))
    return out


class PathSolver:
    """State of one pNMF fit: factors, per-scale losses and the scale graphs.

    Parameters
    ----------
    X : ndarray or csr_matrix, shape (m, n)
        The data in the working precision.
    W : ndarray, shape (T, m, r)
    H : ndarray, shape (T, r, n)
        Factors of every scale (same dtype as X), filled by :meth:`chain` and
        updated in place.
    graphs : ScaleGraphs
        The T scale graphs.
    lambdas : (λ1, λ2, λ3)
    xx : float
        ‖X‖_F².
    passes : (int, int)
        HALS passes over W and multiplicative H updates per scale and sweep.

    Attributes
    ----------
    recon, graph : ndarray, shape (T,)
        ‖X - W_t H_t‖² and Tr(H_t L_t H_tᵀ) at the current factors.
    """

    def __init__(
        self,
        X,
        W: np.ndarray,
        H: np.ndarray,
        graphs: ScaleGraphs,
        lambdas: tuple[float, float, float],
        xx: float,
        passes: tuple[int, int],
    ) -> None:
        self.X, self.W, self.H, self.graphs = X, W, H, graphs
        self.l1, self.l2, self.l3 = lambdas
        self.xx = xx
        self.w_passes, self.h_passes = passes
        T = W.shape[0]
        self.recon = np.zeros(T)
        self.graph = np.zeros(T)
        m, r = W.shape[1:]
        n = H.shape[2]
        size = W.dtype.itemsize
        self.batch = int(max(1, min(_MAX_BATCH, _BATCH_BYTES // (size * r * (2 * m + 6 * n)))))
        self.deg = graphs.degrees(np.arange(T)).astype(W.dtype) if self.l1 else np.zeros((T, n), W.dtype)

    def total(self) -> float:
        """The total pNMF objective at the current factors, from the per-scale terms."""
        H = self.H
        coupling = float(np.sum(increments(H) ** 2))
        return float(
            self.recon.sum()
            + self.l1 * self.graph.sum()
            + self.l3 * _sum_squares(H)
            + self.l2 * coupling
        )

    def _graph_products(self, idx: np.ndarray, Hb: np.ndarray, threads: int | None = None) -> np.ndarray:
        return self.graphs.products(idx, Hb, threads) if self.l1 else np.zeros_like(Hb)

    def update(self, idx: np.ndarray) -> None:
        """Update the scales ``idx`` (no two adjacent), a batch at a time.

        The batches are independent (they only read the other half's scales),
        so each thread takes whole batches with single-threaded BLAS and
        kernels: on few cores this beats multithreaded BLAS calls alternating
        with multithreaded kernels, whose idle workers spin against each other.
        """
        batches = [idx[s : s + self.batch] for s in range(0, idx.size, self.batch)]
        if min(numba.get_num_threads(), len(batches)) <= 1:
            for b in batches:
                self._update_batch(b, None)
            return
        with single_threaded_blas():
            run_jobs(self._update_batches, len(batches), batches)

    def _update_batches(self, batches: list[np.ndarray], offset: int, stride: int) -> None:
        """The batches ``offset``, ``offset + stride``, ... on one thread.

        See :func:`nmfcore.utils.parallel.run_jobs`.
        """
        for b in batches[offset::stride]:
            self._update_batch(b, 1)

    def _update_batch(self, b: np.ndarray, threads: int | None) -> None:
        """One X Hᵀ feeds ``w_passes`` unit-sphere HALS passes over the W of the
        scales ``b``, then one WᵀX feeds ``h_passes`` multiplicative H updates.
        Each pass is an exact descent step with the other scales fixed.
        """
        Wb, Hb = self.W[b], self.H[b]
        c = b.size
        XHt = _x_ht_batch(self.X, Hb)
        run_jobs(_k.unit_column_passes, c, Wb, XHt, Hb @ Hb.transpose(0, 2, 1), self.w_passes, threads=threads)
        WtX = _xt_w_batch(self.X, Wb)
        WtW = Wb.transpose(0, 2, 1) @ Wb
        deg = self.deg[b]
        HA = self._graph_products(b, Hb, threads)
        for _ in range(self.h_passes):
            run_jobs(
                _k.multiplicative_h, c, Hb, WtX, WtW, HA, deg, self.H, b, self.l1, self.l2, self.l3, EPS,
                threads=threads,
            )
            HA = self._graph_products(b, Hb, threads)
        self.W[b], self.H[b] = Wb, Hb
        HHt = Hb @ Hb.transpose(0, 2, 1)
        recon = self.xx - 2.0 * _batch_dot(WtX, Hb) + _batch_dot(WtW, HHt)
        self.recon[b] = np.maximum(recon, 0.0)
        self.graph[b] = _batch_dot(Hb * deg[:, None, :], Hb) - _batch_dot(HA, Hb)

    def chain(self, W0: np.ndarray, H0: np.ndarray, n_iter: int, updated: np.ndarray) -> None:
        """GNMF warm-start chain from the coarsest scale to the finest.

        Scales with ``updated[t]`` get ``n_iter`` GNMF updates; the others keep
        the factors of the last updated (coarser) scale. The chain is
        sequential and its graph products small: they run on one thread.
        """
        for t in range(self.W.shape[0] - 1, -1, -1):
            deg = self.deg[t]
            HA = self._graph_products(np.array([t]), H0[None], 1)[0]
            if updated[t]:
                for _ in range(n_iter):
                    W0, H0, recon, _ = graph_step(
                        self.X, W0, H0, HA, partial(self.graphs.product, t, threads=1), deg, self.l1, self.xx
                    )
                    # the authors' gauge: unit columns of W (the product W H is unchanged)
                    norms = np.maximum(np.linalg.norm(W0, axis=0), EPS)
                    W0 /= norms
                    H0 *= norms[:, None]
                    HA *= norms[:, None]
                self.recon[t] = recon
            else:  # the coarsest scale is always updated
                self.recon[t] = self.recon[t + 1]
            self.W[t], self.H[t] = W0, H0
            self.graph[t] = float(deg @ np.einsum("ij,ij->j", H0, H0, dtype=np.float64)) - _batch_dot(HA, H0)


def _batch_dot(A: np.ndarray, B: np.ndarray) -> np.ndarray | float:
    """Σ A ⊙ B over the last two axes, accumulated in float64."""
    return np.einsum("...ij,...ij->...", A, B, dtype=np.float64)


def _sum_squares(H: np.ndarray, chunk: int = 32) -> float:
    """‖H‖_F² accumulated in float64, a few scales at a time."""
    return float(sum(_batch_dot(H[s : s + chunk], H[s : s + chunk]).sum() for s in range(0, H.shape[0], chunk)))
