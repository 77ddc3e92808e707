"""Judging factorisations: rank scans, stability, comparison, metrics and separable NMF."""

from nmfcore.judge.compare import Alignment, compare_results, score_result
from nmfcore.judge.metrics import (
    cluster_scores,
    hoyer_sparsity,
    knn_accuracy,
    match_factors,
    spectral_angle_distance,
)
from nmfcore.judge.rank import RankScan, explained_variance, rank_scan, suggest_rank
from nmfcore.judge.separable import snpa, spa
from nmfcore.judge.stability import consensus_matrix, cophenetic_correlation, factor_silhouette

__all__ = ["Alignment", "RankScan", "cluster_scores", "compare_results", "consensus_matrix",
           "cophenetic_correlation", "explained_variance", "factor_silhouette", "hoyer_sparsity",
           "knn_accuracy", "match_factors", "rank_scan", "score_result", "snpa", "spa",
           "spectral_angle_distance", "suggest_rank"]
