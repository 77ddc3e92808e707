"""Plotly figures for every view of the app; pages only draw what these return.

Modules by what the figures show: :mod:`~nmfcore.plot.factors` (images, spectra, scenes,
heat maps), :mod:`~nmfcore.plot.tables` (top features, bars, histograms),
:mod:`~nmfcore.plot.curves` (convergence, layer errors, scale and rank curves),
:mod:`~nmfcore.plot.topology` (barcodes, diagrams, embeddings, graphs),
:mod:`~nmfcore.plot.hierarchy` (merge trees of deep models) and
:mod:`~nmfcore.plot.lessons` (the Learn page's simplex and filtration pictures).
"""

from nmfcore.plot.curves import (
    convergence,
    convergence_by_time,
    layer_errors,
    rank_error_curve,
    rank_scan_curves,
    scale_curves,
    variance_law,
)
from nmfcore.plot.factors import (
    abundance_maps,
    factorization_panels,
    heatmap,
    image_grid,
    matched_bases,
    mosaic,
    rgb_composite,
    spectra,
    spectrogram_panels,
)
from nmfcore.plot.hierarchy import merge_tree
from nmfcore.plot.lessons import filtration_balls, simplex_cones, simplex_picks
from nmfcore.plot.tables import bar_chart, histogram, mean_by_label, top_features, topic_table
from nmfcore.plot.topology import barcode, embed_items, embedding, graph_edges, persistence_diagram

__all__ = [
    "abundance_maps", "bar_chart", "barcode", "convergence", "convergence_by_time", "embed_items",
    "embedding", "factorization_panels", "filtration_balls", "graph_edges", "heatmap", "histogram",
    "image_grid", "layer_errors", "matched_bases", "mean_by_label", "merge_tree", "mosaic",
    "persistence_diagram", "rank_error_curve", "rank_scan_curves", "rgb_composite", "scale_curves",
    "simplex_cones", "simplex_picks", "spectra", "spectrogram_panels", "top_features", "topic_table",
    "variance_law",
]
