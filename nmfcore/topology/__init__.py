"""Persistent homology, scale graphs, graph-regularised NMF and persistent NMF."""

from nmfcore.topology.graph_nmf import gnmf
from nmfcore.topology.graphs import ScaleGraphs, knn_graph, scale_graphs
from nmfcore.topology.homology import Barcodes, barcodes, euclidean_mst
from nmfcore.topology.persistent import PNMFResult, pnmf
from nmfcore.topology.scales import canonical_scales

__all__ = ["Barcodes", "PNMFResult", "ScaleGraphs", "barcodes", "canonical_scales",
           "euclidean_mst", "gnmf", "knn_graph", "pnmf", "scale_graphs"]
