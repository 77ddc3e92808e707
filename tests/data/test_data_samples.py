"""The bundled samples: present, small, real shapes and labels, loadable by name."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import nmfcore
from nmfcore.data import sample_path


def test_sample_names():
    assert nmfcore.samples() == ["faces", "text", "hyperspectral", "scrna"]


@pytest.mark.parametrize("name", ["faces", "text", "hyperspectral", "scrna"])
def test_each_sample_is_under_five_megabytes(name):
    assert sample_path(name).stat().st_size < 5 * 1024**2


def test_faces_are_the_100_lfw_faces():
    from skimage.data import lfw_subset

    ds = nmfcore.load_sample("faces")
    assert ds.kind == "images" and ds.image_shape == (25, 25) and ds.shape == (625, 100)
    np.testing.assert_allclose(ds.X[:, 10].reshape(25, 25), lfw_subset()[10], atol=1e-6)


def test_text_is_the_reuters_corpus_with_vocabulary_and_countries():
    ds = nmfcore.load_sample("text")
    assert ds.kind == "text" and sp.issparse(ds.X) and ds.shape == (4258, 395)
    assert ds.X.sum() == 84010  # the total word count documented by the lda package
    assert {"church", "pope", "people"} <= set(ds.feature_names)
    assert ds.item_names[0].startswith("UK: Prince Charles") and ds.labels[0] == "UK"


def test_hyperspectral_sample_is_the_documented_mixture():
    ds = nmfcore.load_sample("hyperspectral")
    truth = ds.meta["ground_truth"]
    assert ds.spatial_shape == (40, 40) and ds.shape == (120, 1600)
    assert ds.wavelengths[0] == 400 and ds.wavelengths[-1] == 2500
    np.testing.assert_allclose(truth["H"].sum(axis=0), 1.0)
    clean = truth["W"] @ truth["H"]
    snr = 20 * np.log10(np.linalg.norm(clean) / np.linalg.norm(ds.X - clean))
    assert 27 < snr < 33


def test_scrna_sample_is_pbmc68k_reduced_raw_with_bulk_labels():
    import scanpy as sc

    ds = nmfcore.load_sample("scrna")
    original = sc.datasets.pbmc68k_reduced()
    assert ds.kind == "scrna" and ds.shape == (765, 700)
    assert ds.meta["labels"] == "bulk_labels" and ds.labels.tolist() == original.obs["bulk_labels"].astype(str).tolist()
    np.testing.assert_allclose(ds.X[:, :5].toarray(), original.raw.X[:5].toarray().T, rtol=1e-6)


def test_unknown_sample_names_the_choices():
    with pytest.raises(ValueError, match="choose one of"):
        nmfcore.load_sample("mnist")


def test_every_sample_is_installed_with_the_package_and_found_there(tmp_path, monkeypatch):
    """pip installs the samples as data-files; outside a checkout they are read from the prefix."""
    import importlib
    import sysconfig
    import tomllib
    from pathlib import Path

    samples = importlib.import_module("nmfcore.data.samples")  # nmfcore.data.samples is also a function

    root = Path(samples.__file__).resolve().parents[2]
    listed = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    files = listed[samples.INSTALLED_SAMPLES.as_posix()]
    assert {f"sample_data/{file}" for file, _ in samples.SAMPLES.values()} <= set(files)

    installed = tmp_path / samples.INSTALLED_SAMPLES
    installed.mkdir(parents=True)
    monkeypatch.setattr(sysconfig, "get_path", lambda name, *args: str(tmp_path))
    monkeypatch.setattr(samples, "__file__", str(tmp_path / "site-packages" / "nmfcore" / "data" / "samples.py"))
    assert samples._sample_dir() == installed
