"""Rebuild the bundled samples in ``sample_data/`` from data shipped inside registry packages.

Run from the repository root::

    pip install scikit-image scanpy lda
    python scripts/make_sample_data.py

Writes faces.npz (scikit-image), text.npz (the Reuters subset shipped with the ``lda``
package), hyperspectral.npz (simulated, seeded) and scrna.h5ad (scanpy's
pbmc68k_reduced). Every file is deterministic and stays under 5 MB.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import scipy.sparse as sp

OUT = Path(__file__).resolve().parents[1] / "sample_data"
LIMIT = 5 * 1024**2


def faces() -> Path:
    """The 100 faces of scikit-image's LFW subset, 25 x 25 grey in [0, 1]."""
    from skimage.data import lfw_subset

    stack = lfw_subset()[:100].astype(np.float32)
    path = OUT / "faces.npz"
    np.savez_compressed(path, X=stack)
    return path


def _lda_file(name: str) -> Path:
    spec = importlib.util.find_spec("lda")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the 'lda' package is needed for the text sample: pip install lda")
    return Path(spec.submodule_search_locations[0]) / "tests" / name


def text() -> Path:
    """The 395 Reuters articles x 4258 terms shipped with ``lda``; labels = dateline country."""
    rows, cols, counts = [], [], []
    lines = _lda_file("reuters.ldac").read_text().splitlines()
    for doc, line in enumerate(lines):
        for pair in line.split()[1:]:
            term, count = pair.split(":")
            rows.append(doc)
            cols.append(int(term))
            counts.append(int(count))
    terms = _lda_file("reuters.tokens").read_text().split()
    titles = [line.strip().split(" ", 1)[1] for line in _lda_file("reuters.titles").read_text().splitlines()]
    dtm = sp.csr_matrix((counts, (rows, cols)), shape=(len(lines), len(terms)), dtype=np.float64)
    path = OUT / "text.npz"
    np.savez_compressed(
        path, format=np.array("csr"), shape=np.array(dtm.shape), data=dtm.data,
        indices=dtm.indices, indptr=dtm.indptr, terms=np.array(terms),
        documents=np.array(titles), labels=np.array([t.split(":")[0] for t in titles]),
    )
    return path


def _spectrum(wl: np.ndarray, name: str) -> np.ndarray:
    def bump(centre: float, width: float) -> np.ndarray:
        return np.exp(-0.5 * ((wl - centre) / width) ** 2)

    if name == "vegetation":
        red_edge = 1 / (1 + np.exp(-(wl - 715) / 18))
        return 0.04 + 0.08 * bump(550, 30) + 0.45 * red_edge - 0.2 * bump(1450, 60) - 0.25 * bump(1940, 70)
    if name == "soil":
        return 0.08 + 0.3 * (wl - wl.min()) / (wl.max() - wl.min()) - 0.05 * bump(1420, 80) - 0.06 * bump(2200, 50)
    if name == "water":
        return 0.02 + 0.07 * np.exp(-(wl - 400) / 250)
    return 0.25 + 0.03 * np.sin(wl / 300)


def hyperspectral() -> Path:
    """A simulated 40 x 40 scene of 4 materials over 120 bands (400-2500 nm), 30 dB noise."""
    rng = np.random.default_rng(20240501)
    materials = ["vegetation", "soil", "water", "concrete"]
    wavelengths = np.linspace(400, 2500, 120)
    W = np.stack([_spectrum(wavelengths, m) for m in materials], axis=1).clip(0.005)
    rows, cols = 40, 40
    yy, xx = np.mgrid[0:rows, 0:cols] / 40.0
    fields = []
    for _ in materials:
        centres = rng.uniform(0, 1, size=(3, 2))
        field = sum(np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.02) for cy, cx in centres)
        fields.append(field)
    logits = 30 * np.stack(fields)
    H = np.exp(logits - logits.max(axis=0))
    H = (H / H.sum(axis=0)).reshape(len(materials), rows * cols)
    clean = W @ H
    noise = rng.normal(scale=np.linalg.norm(clean) / np.sqrt(clean.size) * 10 ** (-30 / 20), size=clean.shape)
    X = np.clip(clean + noise, 0, None)
    path = OUT / "hyperspectral.npz"
    np.savez_compressed(
        path, X=X.astype(np.float32), wavelengths=wavelengths, spatial_shape=np.array([rows, cols]),
        W_true=W, H_true=H, materials=np.array(materials),
    )
    return path


def scrna() -> Path:
    """scanpy's pbmc68k_reduced: the 700 cells' log-normalised .raw values for 765 genes."""
    import anndata
    import scanpy as sc

    source = sc.datasets.pbmc68k_reduced()
    adata = anndata.AnnData(
        X=sp.csr_matrix(source.raw.X, dtype=np.float32),
        obs=source.obs[["bulk_labels", "louvain", "phase"]].copy(),
        var=source.raw.var[[]].copy(),
    )
    path = OUT / "scrna.h5ad"
    adata.write_h5ad(path, compression="gzip")
    return path


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for build in (faces, text, hyperspectral, scrna):
        path = build()
        size = path.stat().st_size
        if size > LIMIT:
            raise SystemExit(f"{path.name} is {size} bytes, above the 5 MB limit")
        print(f"{path.name}: {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
