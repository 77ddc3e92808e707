"""Exports of every layer (npz, CSV zip, h5ad, PNG grid), the JSON recipe and its replay, and
reading an export back without refitting."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field

import anndata
import numpy as np
import pytest
from PIL import Image

import nmfcore
from nmfcore import export
from nmfcore.data import DataError, Dataset
from nmfcore.results import Layer
from _bad_files import npy, npz


@pytest.fixture(scope="module")
def faces():
    return nmfcore.load_sample("faces")


@pytest.fixture(scope="module")
def fitted(faces):
    return nmfcore.nmf(faces.X, 6, max_iter=20, random_state=3)


@dataclass
class TwoLayerResult:
    """A stand-in for a multi-layer result (deep NMF layers or pNMF scales)."""

    W1: np.ndarray
    H1: np.ndarray
    W2: np.ndarray
    H2: np.ndarray
    params: dict = field(default_factory=lambda: {"model": "deep_nmf", "ranks": [4, 2], "beta": 1.0})
    loss: np.ndarray = field(default_factory=lambda: np.array([3.0, 2.0, 1.5]))
    times: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.1, 0.2]))
    stopped: bool = True

    def layers(self):
        return [Layer("layer 1", self.W1, self.H1), Layer("layer 2", self.W2, self.H2)]


def _two_layers(dataset: Dataset) -> TwoLayerResult:
    rng = np.random.default_rng(0)
    m, n = dataset.shape
    return TwoLayerResult(rng.random((m, 4)), rng.random((4, n)), rng.random((m, 2)), rng.random((2, n)))


def _named(data: bytes, name: str) -> io.BytesIO:
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def test_npz_round_trip_gives_the_same_arrays(fitted, faces):
    back = export.read_result(_named(export.to_npz(fitted, faces), "result.npz"))
    np.testing.assert_array_equal(back.W, fitted.W)
    np.testing.assert_array_equal(back.H, fitted.H)
    np.testing.assert_array_equal(back.loss, fitted.loss)
    np.testing.assert_array_equal(back.times, fitted.times)
    assert back.params == fitted.params and back.layers()[0].name == fitted.layers()[0].name
    assert list(back.item_names) == list(faces.item_names)
    with np.load(io.BytesIO(export.to_npz(fitted, faces)), allow_pickle=False) as plain:
        assert {"W_0", "H_0", "loss", "recipe", "feature_names"} <= set(plain.files)


def test_h5ad_puts_factors_where_scanpy_users_look(tmp_path, fitted, faces):
    path = tmp_path / "result.h5ad"
    path.write_bytes(export.to_h5ad(fitted, faces))
    adata = anndata.read_h5ad(path)
    assert adata.shape == (faces.shape[1], faces.shape[0])
    np.testing.assert_array_equal(adata.obsm["X_nmf"], fitted.H.T)
    np.testing.assert_array_equal(adata.varm["NMF_basis"], fitted.W)
    np.testing.assert_array_equal(adata.X, faces.X.T)
    assert adata.uns["nmf"]["params"]["rank"] == 6 and adata.uns["nmf"]["model"] == "nmf"
    np.testing.assert_array_equal(adata.uns["nmf"]["loss"], fitted.loss)
    back = export.read_result(path)
    np.testing.assert_array_equal(back.H, fitted.H)
    assert back.params == fitted.params


def test_scrna_h5ad_export_keeps_sparse_data_and_labels(tmp_path):
    cells = nmfcore.load_sample("scrna")
    result = nmfcore.nmf(cells.X, 3, max_iter=5, random_state=0)
    path = tmp_path / "cells.h5ad"
    path.write_bytes(export.to_h5ad(result, cells))
    adata = anndata.read_h5ad(path)
    assert adata.obs["bulk_labels"].tolist() == cells.labels.tolist()
    assert abs(adata.X - cells.X.T).max() == 0


def test_every_layer_is_exported_and_read_back(faces):
    result = _two_layers(faces)
    for writer, name in ((export.to_npz, "r.npz"), (export.to_h5ad, "r.h5ad")):
        back = export.read_result(_named(writer(result, faces), name))
        assert [l.name for l in back.layers()] == ["layer 1", "layer 2"]
        for original, read in zip(result.layers(), back.layers()):
            np.testing.assert_array_equal(read.W, original.W)
            np.testing.assert_array_equal(read.H, original.H)
        assert back.params["ranks"] == [4, 2] and back.stopped is True
    with zipfile.ZipFile(io.BytesIO(export.to_csv_zip(result, faces))) as archive:
        assert {"0_layer_1_W.csv", "0_layer_1_H.csv", "1_layer_2_W.csv", "1_layer_2_H.csv",
                "loss.csv", "recipe.json"} <= set(archive.namelist())


def test_csv_zip_has_row_and_column_names_and_exact_values(fitted, faces):
    with zipfile.ZipFile(io.BytesIO(export.to_csv_zip(fitted, faces))) as archive:
        name = next(n for n in archive.namelist() if n.endswith("_W.csv"))
        rows = list(csv.reader(io.StringIO(archive.read(name).decode())))
        h_rows = list(csv.reader(io.StringIO(archive.read(name.replace("_W", "_H")).decode())))
    assert rows[0] == ["feature"] + [f"factor {k}" for k in range(6)]
    assert [r[0] for r in rows[1:]] == list(faces.feature_names)
    np.testing.assert_array_equal(np.array([r[1:] for r in rows[1:]], dtype=float), fitted.W)
    assert h_rows[0][1:] == list(faces.item_names)
    np.testing.assert_array_equal(np.array([r[1:] for r in h_rows[1:]], dtype=float), fitted.H)


def test_png_grid_of_basis_images(fitted, faces):
    image = Image.open(io.BytesIO(export.to_png(fitted, faces, n_cols=3)))
    scale = 64 // 25
    assert image.size == (3 * (25 * scale + 2) + 2, 2 * (25 * scale + 2) + 2)
    pixels = np.asarray(image, dtype=float) / 255
    first = pixels[2:2 + 25 * scale:scale, 2:2 + 25 * scale:scale]
    expected = fitted.W[:, 0].reshape(25, 25) / fitted.W[:, 0].max()
    np.testing.assert_allclose(first, expected, atol=1 / 255)


def test_png_grid_of_abundance_maps():
    scene = nmfcore.load_sample("hyperspectral")
    result = nmfcore.nmf(scene.X, 4, max_iter=5, random_state=0)
    image = Image.open(io.BytesIO(export.to_png(result, scene, n_cols=4)))
    scale = 64 // 40
    assert image.size == (4 * (40 * scale + 2) + 2, 40 * scale + 4)


def test_png_heat_map_of_top_features_for_text():
    text = nmfcore.load_sample("text")
    result = nmfcore.nmf(text.X, 3, beta=1, max_iter=20, random_state=0)
    rows = export.top_feature_rows(result.W, 8)
    for k in range(3):  # every factor's top 8 words are in the picture
        assert set(np.argsort(-result.W[:, k])[:8]) <= set(rows)
    image = Image.open(io.BytesIO(export.to_png(result, text)))
    pixels = np.asarray(image, dtype=float)
    assert image.size[1] == 12 + 6 + 12 * rows.size + 4
    # the heat map's darkest cell of factor 0 sits on its largest word
    column = pixels[18:18 + 12 * rows.size:12, image.size[0] - 4 - 3 * 28 + 14]
    assert rows[int(np.argmin(column))] == int(np.argmax(result.W[:, 0]))


def test_recipe_has_fingerprint_seed_versions_and_replays_to_the_same_factors(fitted, faces):
    recipe = json.loads(json.dumps(export.recipe(fitted, faces)))
    assert recipe["model"] == "nmf" and recipe["seed"] == 3
    assert len(recipe["data"]["fingerprint"]) == 64 and recipe["data"]["shape"] == [625, 100]
    assert {"python", "nmfcore", "numpy", "scipy"} <= set(recipe["packages"])
    replayed = export.replay(recipe, nmfcore.load_sample("faces"))
    np.testing.assert_array_equal(replayed.W, fitted.W)
    np.testing.assert_array_equal(replayed.H, fitted.H)
    from_bytes = export.replay(export.to_recipe_json(fitted, faces), faces)
    np.testing.assert_array_equal(from_bytes.H, fitted.H)


def test_replay_refuses_other_data_and_missing_arrays(fitted, faces):
    recipe = export.recipe(fitted, faces)
    with pytest.raises(ValueError, match="not the data of this recipe"):
        export.replay(recipe, faces.X * 2)
    masked = nmfcore.nmf(faces.X, 2, max_iter=3, mask=np.ones(faces.shape), random_state=0)
    with pytest.raises(ValueError, match="pass mask="):
        export.replay(export.recipe(masked, faces), faces)
    with pytest.raises(DataError, match="not an nmfcore recipe"):
        export.replay({"model": "nmf"}, faces)


def test_read_result_refuses_files_that_are_not_exports(tmp_path):
    with pytest.raises(DataError, match="not an nmfcore export"):
        export.read_result(_named(npz(A=np.ones(3)), "other.npz"))
    with pytest.raises(DataError, match="holds no factors"):
        export.read_result(_named(b'{"format": "nmfcore-recipe"}', "recipe.json"))
    with pytest.raises(DataError, match="not an exported result"):
        export.read_result(_named(b"1,2\n", "factors.csv"))


def test_exports_refuse_a_result_that_does_not_fit_the_data(fitted):
    other = nmfcore.load_sample("hyperspectral")
    with pytest.raises(ValueError, match="do not fit the data set"):
        export.to_npz(fitted, other)


def test_pnmf_scales_round_trip_and_replay():
    from nmfcore.topology.persistent import pnmf

    rng = np.random.default_rng(0)
    data = nmfcore.load(npy(rng.random((12, 30))), name="p.npy")
    result = pnmf(data.X, 2, n_scales=3, max_iter=2, random_state=0)
    assert result.params["model"] == "pnmf" and len(result.layers()) == 3
    for writer, name in ((export.to_npz, "p.npz"), (export.to_h5ad, "p.h5ad")):
        back = export.read_result(_named(writer(result, data), name))
        assert [l.name for l in back.layers()] == [l.name for l in result.layers()]
        for original, read in zip(result.layers(), back.layers()):
            np.testing.assert_array_equal(read.W, original.W)
            np.testing.assert_array_equal(read.H, original.H)
    replayed = export.replay(export.recipe(result, data), data)
    for original, again in zip(result.layers(), replayed.layers()):
        np.testing.assert_array_equal(again.W, original.W)
        np.testing.assert_array_equal(again.H, original.H)


def test_gnmf_replays_and_a_custom_graph_must_be_passed_again():
    from nmfcore.topology.graph_nmf import gnmf

    data = nmfcore.load(npy(np.random.default_rng(1).random((10, 25))), name="g.npy")
    result = gnmf(data.X, 3, max_iter=10, random_state=0)
    np.testing.assert_array_equal(export.replay(export.recipe(result, data), data).H, result.H)
    graph = np.ones((25, 25)) - np.eye(25)
    custom = gnmf(data.X, 3, graph=graph, max_iter=10, random_state=0)
    with pytest.raises(ValueError, match=r"custom arrays for \['graph'\].*pass graph="):
        export.replay(export.recipe(custom, data), data)
    again = export.replay(export.recipe(custom, data), data, graph=graph)
    np.testing.assert_array_equal(again.W, custom.W)


def test_deep_nmf_layers_round_trip_and_replay():
    from nmfcore.deep.model import deep_nmf

    data = nmfcore.load(npy(np.random.default_rng(2).random((15, 30))), name="d.npy")
    result = deep_nmf(data.X, [4, 2], max_iter=5, init_iter=10, random_state=0)
    assert result.params["model"] == "deep_nmf" and len(result.layers()) == 2
    for writer, name in ((export.to_npz, "d.npz"), (export.to_h5ad, "d.h5ad")):
        back = export.read_result(_named(writer(result, data), name))
        assert back.params["ranks"] == [4, 2]
        for original, read in zip(result.layers(), back.layers()):
            np.testing.assert_array_equal(read.W, original.W)
            np.testing.assert_array_equal(read.H, original.H)
    replayed = export.replay(export.recipe(result, data), data)
    for original, again in zip(result.layers(), replayed.layers()):
        np.testing.assert_array_equal(again.W, original.W)
        np.testing.assert_array_equal(again.H, original.H)
