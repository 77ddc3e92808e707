"""Loading remembered sources, parsing typed parameters, and the Python that reproduces a fit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from nmfcore.app.inputs import parse_floats, parse_ranks
from nmfcore.app.reproduce import UNKNOWN_DATA, data_call, file_stem, needs_dense_copy
from nmfcore.app.sources import load_source, source_label
from nmfcore.data import load_sample


def test_parse_floats_and_ranks():
    assert parse_floats("0.1, 0.2; 3", "α") == [0.1, 0.2, 3.0]
    with pytest.raises(ValueError, match="α must be numbers"):
        parse_floats("0.1, x", "α")
    with pytest.raises(ValueError, match="α needs 2 numbers \\(one per layer\\)"):
        parse_floats("0.1", "α", 2)
    with pytest.raises(ValueError, match="at least one number"):
        parse_floats(" , ", "α")
    assert parse_ranks("20, 10,5") == [20, 10, 5]
    for bad in ("10, 20", "5, 2.5", "0", "3, 3"):
        with pytest.raises(ValueError, match="ranks must be decreasing"):
            parse_ranks(bad)


def test_load_source_from_a_sample_and_from_uploaded_bytes():
    sample = load_source({"sample": "faces", "kind": None})
    bundled = load_sample("faces")
    assert sample.shape == bundled.shape and source_label({"sample": "faces"}) == "sample faces"
    payload = b"1,2,3\n4,5,6\n"
    ds = load_source({"files": [("m.csv", payload)], "kind": None})
    assert ds.shape == (2, 3)
    transposed = load_source({"files": [("m.csv", payload)], "kind": "matrix"}, {"transpose": True})
    assert transposed.shape == (3, 2)
    with pytest.raises(ValueError, match="negative"):
        load_source({"files": [("n.csv", b"1,-2\n3,4\n")], "kind": None})
    files = [(f"f{k}.png", b"") for k in range(5)]
    assert source_label({"files": files}) == "upload f0.png, f1.png, f2.png…"


def test_data_call_names_the_loader_and_its_options():
    assert data_call(None) == UNKNOWN_DATA
    assert data_call({"sample": "faces", "kind": None}) == 'nmfcore.load_sample("faces")'
    assert data_call({"sample": "scrna", "kind": None}, {"n_top_genes": 60}) == (
        'nmfcore.load(nmfcore.data.sample_path("scrna"), n_top_genes=60)')
    assert data_call({"files": [("a.csv", b"")], "kind": "matrix"}, {"transpose": True}) == (
        "nmfcore.load('a.csv', kind='matrix', transpose=True)")
    assert data_call({"files": [("a.png", b""), ("b.png", b"")], "kind": None}) == (
        "nmfcore.load(['a.png', 'b.png'])")


def test_file_stem_and_dense_copies():
    assert file_stem("deep_nmf · Deep β-NMF r=[4, 2]") == "deep_nmf___deep_β_nmf_r__4__2"
    assert file_stem("···") == "result"
    X = sp.csr_matrix(np.eye(3))
    assert needs_dense_copy({"model": "deep_nmf"}, X) and needs_dense_copy({"model": "multilayer_nmf"}, X)
    assert not needs_dense_copy({"model": "deep_nmf"}, X.toarray())
    assert not needs_dense_copy({"model": "nmf"}, X)
    assert not needs_dense_copy({"model": "not a family"}, X) and not needs_dense_copy({"model": "deep_nmf"}, None)
