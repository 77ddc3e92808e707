"""Downloads of every factor, recipes that rerun a fit, and reading exported results back."""

from nmfcore.export.chunked import CHUNKED_SUFFIXES, is_lazy_result, write_chunked
from nmfcore.export.folder import MAX_DOWNLOAD_BYTES, WrittenExport, download_bytes, export_dir, write_export
from nmfcore.export.readers import ExportedResult, read_result
from nmfcore.export.recipe import RECIPE_FORMAT, RECIPE_VERSION, read_recipe, recipe, replay, to_recipe_json
from nmfcore.export.writers import to_csv_zip, to_h5ad, to_npz, to_png, top_feature_rows

__all__ = ["CHUNKED_SUFFIXES", "ExportedResult", "MAX_DOWNLOAD_BYTES", "RECIPE_FORMAT", "RECIPE_VERSION",
           "WrittenExport", "download_bytes", "export_dir", "is_lazy_result", "read_recipe", "read_result",
           "recipe", "replay", "to_csv_zip", "to_h5ad", "to_npz", "to_png", "to_recipe_json",
           "top_feature_rows", "write_chunked", "write_export"]
