"""Downloads of every factor, recipes that rerun a fit, and reading exported results back."""

from nmfcore.export.recipe import (
    ExportedResult,
    RECIPE_FORMAT,
    RECIPE_VERSION,
    read_recipe,
    read_result,
    recipe,
    replay,
    to_csv_zip,
    to_h5ad,
    to_npz,
    to_png,
    to_recipe_json,
    top_feature_rows,
)

__all__ = ["ExportedResult", "RECIPE_FORMAT", "RECIPE_VERSION", "read_recipe", "read_result", "recipe", "replay", "to_csv_zip", "to_h5ad", "to_npz", "to_png", "to_recipe_json", "top_feature_rows"]
