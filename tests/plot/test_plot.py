"""Plotly figure builders and the small computations behind them."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import scipy.sparse as sp

from nmfcore import plot


def test_mosaic_places_each_image_in_its_tile_with_its_orientation():
    h, w = 3, 2
    first = np.arange(6.0)                       # C order: row 0 is [0, 1]
    second = np.arange(6.0)[::-1].copy()
    tile = plot.mosaic(np.column_stack([first, second]), (h, w), n_cols=2, order="C")
    assert tile.shape == (3, 5)
    np.testing.assert_allclose(tile[:, :2], first.reshape(3, 2) / 5)
    assert np.isnan(tile[:, 2]).all()
    np.testing.assert_allclose(tile[:, 3:], second.reshape(3, 2) / 5)
    tile_f = plot.mosaic(first[:, None], (h, w), order="F")
    np.testing.assert_allclose(tile_f, first.reshape((3, 2), order="F") / 5)


def test_image_grid_and_abundance_maps_are_one_heatmap():
    rng = np.random.default_rng(0)
    fig = plot.image_grid(rng.random((20, 7)), (4, 5), title="basis")
    assert isinstance(fig, go.Figure) and len(fig.data) == 1
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (3 * 5 - 1, 3 * 6 - 1)        # 3 x 3 tiles of 4 x 5 with 1-pixel gaps
    assert fig.layout.title.text == "basis"
    maps = plot.abundance_maps(rng.random((3, 12)), (3, 4))
    assert np.asarray(maps.data[0].z, dtype=float).shape == (3, 3 * 5 - 1)
    with pytest.raises(ValueError, match="image_shape"):
        plot.image_grid(rng.random((20, 2)), (3, 3))


def test_spectra_and_rgb_composite():
    rng = np.random.default_rng(1)
    W = rng.random((30, 3))
    fig = plot.spectra(W, wavelengths=np.linspace(400, 900, 30), names=["soil", "tree", "water"])
    assert [t.name for t in fig.data] == ["soil", "tree", "water"]
    np.testing.assert_allclose(fig.data[1].y, W[:, 1])
    X = rng.random((30, 12))
    rgb = plot.rgb_composite(X, (3, 4), bands=[0, 1, 2])
    image = np.asarray(rgb.data[0].z)
    assert image.shape == (3, 4, 3) and image.dtype == np.uint8
    with pytest.raises(ValueError, match="wavelengths has 5 values"):
        plot.spectra(W, wavelengths=np.arange(5))
    with pytest.raises(ValueError, match="bands must be three"):
        plot.rgb_composite(X, (3, 4), bands=[0, 1, 99])


def test_top_features_and_topic_table():
    W = np.array([[0.1, 5.0], [3.0, 0.0], [2.0, 1.0]])
    tops = plot.top_features(W, ["a", "b", "c"], n_top=2)
    assert tops == [[("b", 3.0), ("c", 2.0)], [("a", 5.0), ("c", 1.0)]]
    fig = plot.topic_table(W, ["a", "b", "c"], n_top=2)
    assert list(fig.data[0].header.values) == ["factor 0", "factor 1"]
    assert [list(c) for c in fig.data[0].cells.values] == [["b", "c"], ["a", "c"]]
    many = plot.topic_table(np.eye(12), [f"w{i}" for i in range(12)], n_top=1)
    assert list(many.data[0].header.values) == ["factor", "top 1"]
    assert list(many.data[0].cells.values[1])[:2] == ["w0", "w1"]


def test_convergence_and_layer_errors():
    fig = plot.convergence({"MU": [4.0, 2.0, 1.0], "HALS": [4.0, 1.0]})
    assert [t.name for t in fig.data] == ["MU", "HALS"]
    assert fig.layout.yaxis.type == "log"
    np.testing.assert_allclose(fig.data[0].y, [4.0, 2.0, 1.0])      # y is the loss, x the iteration
    np.testing.assert_allclose(fig.data[0].x, [0, 1, 2])
    assert fig.layout.xaxis.title.text == "iteration" and fig.layout.yaxis.title.text == "loss"
    timed = plot.convergence(np.array([2.0, 1.0, 0.0]), times=np.array([0.0, 0.1, 0.2]))
    assert timed.layout.yaxis.type == "linear" and timed.layout.xaxis.title.text == "seconds"
    layers = plot.layer_errors(np.array([[3.0, 2.0], [2.0, 1.0]]))
    assert [t.name for t in layers.data] == ["layer 1", "layer 2"]
    np.testing.assert_allclose(layers.data[1].y, [2.0, 1.0])


def test_barcode_and_diagram_draw_scales_and_infinite_bars():
    bars = {0: np.array([[0.0, 1.0], [0.0, 2.0], [0.0, np.inf]]), 1: np.array([[1.5, 1.8]])}
    fig = plot.barcode(bars, scales=np.array([1.0, 2.0]), selected=np.array([2.0]), current=1.0)
    assert [t.name for t in fig.data] == ["H0", "H1"]
    xs = [x for x in fig.data[0].x if x is not None]
    assert max(xs) == pytest.approx(2.2)             # the infinite bar reaches the right edge
    for trace, n_bars in zip(fig.data, (3, 1)):                   # one segment per bar, None between
        assert list(trace.x).count(None) == n_bars and len(trace.x) == 3 * n_bars
    np.testing.assert_allclose(fig.data[1].x[:2], [1.5, 1.8])
    colours = [shape.line.color for shape in fig.layout.shapes]
    assert colours.count("lightgrey") == 2 and colours.count("crimson") == 1
    diagram = plot.persistence_diagram(bars, scales=np.array([1.0, 2.0]), selected=np.array([2.0]))
    assert list(diagram.data[0].marker.symbol).count("triangle-up") == 1


def test_embedding_graph_edges_and_label_means():
    rng = np.random.default_rng(2)
    X = rng.random((5, 40))
    coords = plot.embed_items(X)
    assert coords.shape == (40, 2)
    sparse_coords = plot.embed_items(sp.csr_matrix(X))
    assert sparse_coords.shape == (40, 2)
    L = sp.csr_matrix(np.array([[2.0, -1.0, -1.0], [-1.0, 1.0, 0.0], [-1.0, 0.0, 1.0]]))
    np.testing.assert_array_equal(np.sort(plot.graph_edges(L), axis=0), [[0, 1], [0, 2]])
    fig = plot.embedding(coords[:3], color=["a", "b", "a"], edges=plot.graph_edges(L))
    assert fig.data[0].name == "2 edges"
    assert [t.name for t in fig.data[1:]] == ["a", "b"]
    H = np.array([[1.0, 3.0, 0.0], [0.0, 0.0, 2.0]])
    means, classes = plot.mean_by_label(H, ["x", "x", "y"])
    assert classes == ["x", "y"]
    np.testing.assert_allclose(means, [[1.0, 0.0], [0.0, 1.0]])
    heat = plot.heatmap(means, x=classes, y=["f0", "f1"], title="usage")
    assert len(heat.data) == 1 and heat.layout.title.text == "usage"
    np.testing.assert_allclose(np.asarray(heat.data[0].z, dtype=float), means)
    assert list(heat.data[0].x) == ["x", "y"] and list(heat.data[0].y) == ["f0", "f1"]
    assert heat.layout.yaxis.autorange == "reversed"    # first row on top, as in the matrix
    with pytest.raises(ValueError, match="labels has 2 entries"):
        plot.mean_by_label(H, ["x", "y"])


def test_merge_tree_links_follow_the_largest_entries():
    H2 = np.array([[0.9, 0.8, 0.0, 0.05], [0.1, 0.2, 1.0, 0.95]])   # 4 factors merge into 2
    fig = plot.merge_tree([H2], min_weight=0.3)
    link = fig.data[0].link
    assert sorted(zip(link.source, link.target)) == [(0, 4), (1, 4), (2, 5), (3, 5)]
    assert len(fig.data[0].node.label) == 6
    with pytest.raises(ValueError, match="H_layers\\[1\\] has 3 columns"):
        plot.merge_tree([H2, np.ones((1, 3))])


def test_scale_curves_histogram_and_bars():
    fig = plot.scale_curves({"ARI": [0.8, 0.6], "NMI": [0.7, 0.5]}, scales=[0.1, 0.3], current=0.1)
    assert [t.name for t in fig.data] == ["ARI", "NMI"]
    np.testing.assert_allclose(fig.data[0].x, [0.1, 0.3])
    hist = plot.histogram([1, 2, 3], xlabel="genes > 0", nbins=5)
    assert len(hist.data) == 1 and hist.data[0].type == "histogram"
    np.testing.assert_allclose(hist.data[0].x, [1.0, 2.0, 3.0])
    assert hist.data[0].nbinsx == 5
    assert hist.layout.xaxis.title.text == "genes > 0" and hist.layout.yaxis.title.text == "count"
    bars = plot.bar_chart([1.0, 3.0, 2.0], ["a", "b", "c"])
    assert list(bars.data[0].y) == ["a", "c", "b"]
