"""Plotly figures for every view of the app; pages only draw what these return."""

from nmfcore.plot.figures import (
    abundance_maps,
    bar_chart,
    barcode,
    convergence,
    embed_items,
    embedding,
    graph_edges,
    heatmap,
    histogram,
    image_grid,
    layer_errors,
    mean_by_label,
    merge_tree,
    mosaic,
    persistence_diagram,
    rgb_composite,
    scale_curves,
    spectra,
    top_features,
    topic_table,
)

__all__ = ["abundance_maps", "bar_chart", "barcode", "convergence", "embed_items", "embedding", "graph_edges", "heatmap", "histogram", "image_grid", "layer_errors", "mean_by_label", "merge_tree", "mosaic", "persistence_diagram", "rgb_composite", "scale_curves", "spectra", "top_features", "topic_table"]
