"""``load``: one entry point that detects a file's format and kind and dispatches to a reader."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.data import arrays, hyperspectral, images, scrna, text
from nmfcore.data.archive import SafeZip
from nmfcore.data.dataset import KINDS, Dataset
from nmfcore.data.errors import DataError, reading
from nmfcore.data.kinds import (
    CHECKS, CUBE_OPTIONS, attach_labels, check_options, from_array, pick_options, stored_shape,
)
from nmfcore.data.limits import max_bytes as resolve_limit
from nmfcore.data.matlab import MatFile
from nmfcore.data.source import Source, as_source, detect_format

OPTIONS = {
    "images": ("size", "resize", "image_shape", "order", "variable"),
    "text": ("vectorizer", "stop_words", "min_df", "max_df", "max_features", "text_column",
             "label_column", "vocabulary", "documents_are", "variable"),
    "hyperspectral": ("spatial_shape", "pixel_order", "wavelengths", "max_value", "drop_bands",
                      "drop_bad_bands", "variable"),
    "scrna": ("use", "label", "min_genes", "min_cells", "normalize_total", "log1p",
              "n_top_genes", "pnmf_recipe"),
    "matrix": ("variable", "transpose"),
}
_VECTORIZE = ("vectorizer", "stop_words", "min_df", "max_df", "max_features")
_WAVELENGTH_NAMES = ("wavelengths", "wavelength", "wl", "lambda", "Wavelength")
_LABEL_NAMES = ("labels", "label", "classid", "class", "classes", "Y", "y", "gnd")
_TERM_NAMES = ("terms", "vocabulary", "vocab", "words", "feature_names")


def load(source: Any, kind: str | None = None, *, max_bytes: int | None = None,
         name: str | None = None, lazy: bool = False, **options: Any) -> Dataset:
    """Load a data file as a features x items :class:`Dataset`.

    Parameters
    ----------
    source : path, bytes, file-like with a name (e.g. a Streamlit upload), or a list of them
        A list is read as a collection of image files.
    kind : {"images", "text", "hyperspectral", "scrna", "matrix"}, optional
        What the data are; None detects it from the format and content and records the
        decision in ``meta["detected"]``.
    max_bytes : int, optional
        Memory limit; default ``$NMFCORE_MAX_BYTES`` or 2 GiB. Files whose matrix (with its
        row and column names) would be larger are refused before anything is allocated.
    name : str, optional
        File name for bytes input (its extension decides the format).
    lazy : bool
        Open an ``.h5ad`` file, a zarr store or a 10x ``.h5`` on disk without reading
        its matrix: ``X`` becomes a Dask array of item chunks, read and checked chunk by
        chunk (see :func:`nmfcore.data.lazy.open_lazy`; options use, label, chunk_items,
        dtype; no preprocessing).
    **options
        nan ({"error", "zero"}) and negative ({"error", "clip", "shift"}) for every kind;
        images: size, resize, image_shape, order, variable;
        text: vectorizer, stop_words, min_df, max_df, max_features, text_column,
        label_column, vocabulary, documents_are, variable;
        hyperspectral: spatial_shape, pixel_order, wavelengths, max_value, drop_bands,
        drop_bad_bands, variable;
        scrna: use, label, min_genes, min_cells, normalize_total, log1p, n_top_genes,
        pnmf_recipe; matrix: variable, transpose.

    Returns
    -------
    Dataset
        Passing :meth:`Dataset.check` (shapes agree, entries finite and nonnegative).

    Raises
    ------
    DataError
        For any file that cannot become a valid matrix; the message names the file and
        says why and what to do. Sizes claimed by the file are checked against the file's
        real size and ``max_bytes`` before anything is allocated, and sparse structure is
        checked before SciPy builds a matrix. A parser that crashes the interpreter
        regardless is contained only by :func:`nmfcore.data.load_isolated`.
    ValueError
        For an unknown kind or option.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not valid; choose one of {KINDS} or None to detect it")
    if lazy:
        return _open_lazy(source, kind, max_bytes, options)
    allowed = set(CHECKS).union(*(OPTIONS[k] for k in ([kind] if kind else KINDS)))
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown} for kind={kind!r}; valid options are {sorted(allowed)}"
        )
    limit = resolve_limit(max_bytes)
    if isinstance(source, (list, tuple)):
        sources = [as_source(s) for s in source]
        if not sources:
            raise DataError("no files were given; choose at least two image files")
        headers = [s for s in sources if s.suffix == ".hdr"]
        if headers:
            return _envi_pair(headers[0], sources, kind, limit, options).check()
        dataset = _image_files(sources, kind, limit, options, origin=f"{len(sources)} files")
        return _note(dataset, "several files", "images", "a list of files is an image collection").check()
    src = as_source(source, name)
    fmt = detect_format(src)
    reader = _READERS[fmt]
    dataset = reader(src, kind, limit, options)
    dataset.meta.setdefault("source", src.name)
    dataset.meta.setdefault("format", fmt)
    return dataset.check()


def _open_lazy(source: Any, kind: str | None, max_bytes: int | None, options: dict[str, Any]) -> Dataset:
    from nmfcore.data.lazy import LAZY_OPTIONS, open_lazy

    if not isinstance(source, (str, os.PathLike)):
        raise DataError("lazy=True opens a file or zarr store on disk; pass its path (an upload or "
                        "bytes are read in memory with lazy=False)")
    unknown = sorted(set(options) - set(LAZY_OPTIONS))
    if unknown:
        raise ValueError(f"option(s) {unknown} do not apply with lazy=True (nothing is preprocessed); "
                         f"valid options are {list(LAZY_OPTIONS)}")
    dataset = open_lazy(source, max_bytes=max_bytes, **options)
    _require(kind, (dataset.kind,), repr(Path(source).name))
    return dataset


def _note(dataset: Dataset, fmt: str, kind: str, reason: str) -> Dataset:
    dataset.meta["detected"] = f"{fmt}; read as {kind} ({reason})"
    return dataset


def _require(kind: str | None, allowed: Sequence[str], what: str) -> None:
    if kind is not None and kind not in allowed:
        raise DataError(
            f"{what} cannot be read as kind={kind!r}; it can be read as {', '.join(allowed)}, "
            "or convert it to a supported format for that kind"
        )


def _image_files(sources: list[Source], kind: str | None, limit: int, options: dict[str, Any],
                 origin: str, labels: list[str] | None = None) -> Dataset:
    _require(kind, ("images",), origin)
    for s in sources:
        if not images.is_image_name(s.name):
            raise DataError(
                f"{s.name!r} in {origin} is not an image file; an image collection accepts "
                "PNG, JPEG, TIFF, BMP and GIF files only"
            )
        detect_format(s)
    return images.from_files(sources, limit=limit, origin=origin, labels=labels,
                             **pick_options(options, ("size", "resize")), **check_options(options))


def _read_image(src: Source, kind: str | None, limit: int, options: dict[str, Any]) -> Dataset:
    if src.suffix in (".tif", ".tiff") and kind != "images":
        with reading(f"{src.name!r} cannot be decoded", "the TIFF is corrupt: save it again",
                     images.DECODE_ERRORS):
            frames = getattr(images.open_image(src), "n_frames", 1)
        if frames > 1 or kind == "hyperspectral":
            _require(kind, ("hyperspectral",), repr(src.name))
            dataset = hyperspectral.from_tiff(
                src, limit=limit, **pick_options(options, CUBE_OPTIONS), **check_options(options))
            return _note(dataset, "multi-page TIFF", "hyperspectral", f"{frames} pages = bands")
    dataset = _image_files([src], kind, limit, options, origin=repr(src.name))
    return _note(dataset, "image file", "images", "an image file")


def _read_zip(src: Source, kind: str | None, limit: int, options: dict[str, Any]) -> Dataset:
    archive = SafeZip(src, limit)
    suffixes = archive.suffixes()
    if ".hdr" in suffixes:
        _require(kind, ("hyperspectral",), repr(src.name))
        header = archive.with_suffix(".hdr")[0]
        stem = str(PurePosixPath(header.name).with_suffix(""))
        data = [m for m in archive.members
                if m.name != header.name and str(PurePosixPath(m.name).with_suffix("")) in (stem, header.name[:-4])]
        if not data:
            raise DataError(
                f"{src.name!r} has the ENVI header {header.name!r} but no data file with the "
                "same name (e.g. .img, .dat, .raw or no extension); add it to the ZIP"
            )
        dataset = hyperspectral.from_envi(
            archive.read(header).decode("utf-8", "replace"), archive.read(data[0]), name=src.name,
            limit=limit, **pick_options(options, CUBE_OPTIONS), **check_options(options))
        return _note(dataset, "ZIP with an ENVI header", "hyperspectral", "an ENVI .hdr + data")
    if scrna.is_10x_archive(archive):
        _require(kind, ("scrna",), repr(src.name))
        dataset = scrna.read_10x_archive(archive, limit, **pick_options(options, OPTIONS["scrna"]),
                                         **check_options(options))
        return _note(dataset, "ZIP of a 10x triplet", "scrna", "matrix.mtx + barcodes.tsv")
    picture_members = [m for m in archive.members if images.is_image_name(m.name)]
    if picture_members and (kind in (None, "images")):
        folders = [m.folder for m in picture_members]
        labels = folders if len(set(folders)) > 1 else None
        sources = [Source(m.name, data=archive.read(m), within=src.name) for m in picture_members]
        dataset = _image_files(sources, kind, limit, options, origin=repr(src.name), labels=labels)
        return _note(dataset, "ZIP of images", "images", f"{len(sources)} image files")
    mtx = archive.with_suffix(".mtx")
    if mtx:
        _require(kind, ("text", "matrix"), repr(src.name))
        vocab = [m for m in archive.with_suffix(".txt", ".tsv", ".csv")]
        terms = None
        if vocab:
            lines = archive.read(vocab[0]).decode("utf-8", "replace").splitlines()
            terms = [line.split("\t")[0].strip() for line in lines if line.strip()]
        matrix = arrays.read_mtx(archive.read(mtx[0]), f"{mtx[0].name!r} in {src.name!r}", limit)
        return _note(from_array(matrix, kind or "text", repr(src.name), options, limit=limit, terms=terms),
                     "ZIP of MatrixMarket + vocabulary", kind or "text", "a .mtx with a word list")
    documents = archive.with_suffix(".txt")
    if documents:
        _require(kind, ("text",), repr(src.name))
        texts = [archive.read(m).decode("utf-8", "replace") for m in documents]
        folders = np.asarray([m.folder for m in documents], dtype=object)
        annotations = {"folder": folders} if len(set(folders)) > 1 else {}
        dataset = text.vectorize(texts, names=[m.name for m in documents], origin=repr(src.name),
                                 label_options=annotations, **pick_options(options, _VECTORIZE),
                                 **check_options(options))
        return _note(dataset, "ZIP of .txt files", "text", f"{len(texts)} documents")
    raise DataError(
        f"{src.name!r} holds {', '.join(sorted(suffixes)) or 'no files'}, none of which is a "
        "supported data file; a ZIP may hold images, .txt documents, a .mtx with its "
        "vocabulary, an ENVI .hdr with its data, or a 10x matrix.mtx/barcodes.tsv triplet"
    )


def _read_npy(src: Source, kind: str | None, limit: int, options: dict[str, Any]) -> Dataset:
    array = arrays.read_npy(src.read(), repr(src.name), limit)
    detected = kind or ("matrix" if array.ndim == 2 else "images")
    reason = "a 2-D array" if array.ndim == 2 else f"a {array.ndim}-D stack (images x height x width)"
    return _note(from_array(array, detected, repr(src.name), options, limit=limit), ".npy", detected, reason)


def _read_npz(src: Source, kind: str | None, limit: int, options: dict[str, Any]) -> Dataset:
    found = arrays.read_npz(src, limit)
    key = arrays.largest_key(found, options.get("variable"), src.name)
    X = found[key]

    def extra(*names: str) -> Any:
        return next((found[n] for n in names if n in found and n != key), None)

    shape_of = {k: stored_shape(found[k], f"{k} in {src.name!r}", k) for k in ("image_shape", "spatial_shape") if k in found}
    if kind:
        detected, reason = kind, "chosen by the user"
    elif sp.issparse(X) or extra(*_TERM_NAMES) is not None:
        detected, reason = "text", "a sparse or vocabulary-carrying matrix"
    elif "spatial_shape" in shape_of or extra(*_WAVELENGTH_NAMES) is not None:
        detected, reason = "hyperspectral", "it stores a scene shape or wavelengths"
    elif X.ndim >= 3 or "image_shape" in shape_of:
        detected, reason = "images", "an image stack"
    else:
        detected, reason = "matrix", "a 2-D array"
    labels = extra(*_LABEL_NAMES)
    dataset = from_array(
        X, detected, f"{key!r} in {src.name!r}", options, limit=limit, terms=extra(*_TERM_NAMES),
        items=extra("documents", "item_names"), features=extra("feature_names"),
        labels=labels, wavelengths=extra(*_WAVELENGTH_NAMES), **shape_of)
    attach_labels(dataset, labels, f"{key!r} in {src.name!r}")
    return _note(dataset, f".npz array {key!r}", detected, reason)


def _read_mat(src: Source, kind: str | None, limit: int, options: dict[str, Any]) -> Dataset:
    mat = MatFile(src, limit)
    key, note = mat.pick(options.get("variable"))
    var = mat.variables[key]
    n_rows = mat.scalar("nRow", "nrow", "rows", "n_rows")
    n_cols = mat.scalar("nCol", "ncol", "cols", "n_cols")
    if kind:
        detected, reason = kind, "chosen by the user"
    elif len(var.shape) == 3 or (n_rows and n_cols):
        detected, reason = "hyperspectral", "a 3-D cube or a bands x pixels matrix with nRow/nCol"
    elif var.sparse:
        detected, reason = "text", "a sparse matrix, read as documents x terms"
    else:
        detected, reason = "matrix", (
            "a dense 2-D matrix; pass kind='images' with image_shape= for pixel columns, or "
            "kind='hyperspectral' for bands x pixels"
        )
    X = mat.load(key)
    fields: dict[str, Any] = {}
    if detected == "hyperspectral":
        if X.ndim == 2 and n_rows and n_cols:
            fields["spatial_shape"] = stored_shape(np.array([n_rows, n_cols]), f"nRow/nCol in {src.name!r}",
                                                    "spatial_shape")
            if X.shape[0] == n_rows * n_cols and X.shape[1] != n_rows * n_cols:
                X = X.T
        elif X.ndim == 2 and X.shape[0] > X.shape[1]:
            X = X.T
        n_bands = X.shape[-1] if X.ndim == 3 else X.shape[0]
        fields["wavelengths"] = mat.vector(n_bands, *_WAVELENGTH_NAMES)
        fields["max_value"] = mat.scalar("maxValue", "max_value", "maxvalue")
    rows_are_items = detected == "text" or (detected == "matrix" and options.get("transpose"))
    n_items = X.shape[0] if rows_are_items else X.shape[-1]
    labels = mat.vector(n_items, *_LABEL_NAMES)
    if labels is None:
        labels = next((mat.load(v.name).ravel() for v in mat.variables.values()
                       if v.name != key and not v.sparse and v.size == n_items > 2
                       and max(v.shape) == v.size), None)
    dataset = from_array(X, detected, f"{key!r} in {src.name!r}", options, limit=limit, labels=labels,
                       pixel_order="F", layout="hwn", **fields)
    if detected != "hyperspectral":
        attach_labels(dataset, labels, f"{key!r} in {src.name!r}")
    dataset.meta["variable"] = note
    return _note(dataset, "MATLAB v7.3" if mat.hdf5 else "MATLAB v5", detected, reason)


def _read_hdf5(src: Source, kind: str | None, limit: int, options: dict[str, Any]) -> Dataset:
    _require(kind, ("scrna",), repr(src.name))
    scrna_options = {**pick_options(options, OPTIONS["scrna"]), **check_options(options)}
    if src.suffix == ".h5ad":
        return _note(scrna.read_h5ad(src, limit, **scrna_options), ".h5ad", "scrna", "AnnData")
    return _note(scrna.read_10x_h5(src, limit, **scrna_options), "10x .h5", "scrna",
                 "a Cell Ranger matrix")


def _read_mtx(src: Source, kind: str | None, limit: int, options: dict[str, Any]) -> Dataset:
    folder = src.path.parent if src.path is not None else None
    if folder is not None and kind in (None, "scrna") and any(
            (folder / f).exists() for f in ("barcodes.tsv", "barcodes.tsv.gz")):
        dataset = scrna.read_10x_folder(folder, limit, **pick_options(options, OPTIONS["scrna"]),
                                        **check_options(options))
        return _note(dataset, "10x .mtx triplet", "scrna", "barcodes.tsv beside matrix.mtx")
    _require(kind, ("text", "matrix"), repr(src.name))
    matrix = arrays.read_mtx(src.read(), repr(src.name), limit)
    detected = kind or ("text" if "vocabulary" in options else "matrix")
    return _note(from_array(matrix, detected, repr(src.name), options, limit=limit), "MatrixMarket", detected,
                 "a vocabulary was given" if detected == "text" else "a plain sparse matrix")


def _read_envi(src: Source, kind: str | None, limit: int, options: dict[str, Any]) -> Dataset:
    _require(kind, ("hyperspectral",), repr(src.name))
    if src.path is None:
        raise DataError(
            f"{src.name!r} is an ENVI header without its data file; upload a ZIP holding both "
            "the .hdr and the data file (.img, .dat, .raw or no extension)"
        )
    candidates = [src.path.with_suffix(s) for s in ("", ".img", ".dat", ".raw", ".bsq", ".bil", ".bip")]
    data = next((c for c in candidates if c.exists() and c != src.path), None)
    if data is None:
        raise DataError(
            f"no data file found next to the ENVI header {src.name!r}; put the data file "
            f"({src.path.stem}.img, .dat, .raw or no extension) in the same folder"
        )
    dataset = hyperspectral.from_envi(
        src.read().decode("utf-8", "replace"), data.read_bytes(), name=src.name, limit=limit,
        **pick_options(options, CUBE_OPTIONS), **check_options(options))
    return _note(dataset, "ENVI", "hyperspectral", "an ENVI .hdr + data")


def _envi_pair(header: Source, sources: list[Source], kind: str | None, limit: int,
               options: dict[str, Any]) -> Dataset:
    _require(kind, ("hyperspectral",), repr(header.name))
    stem = Path(header.name).stem
    data = [s for s in sources if s is not header and Path(s.name).stem == stem]
    if len(sources) != 2 or not data:
        raise DataError(
            f"an ENVI scene is two files, the header {header.name!r} and its data file with the "
            f"same name ({stem}.img, .dat, .raw or no extension); got {[s.name for s in sources]}"
        )
    dataset = hyperspectral.from_envi(
        header.read().decode("utf-8", "replace"), data[0].read(), name=header.name, limit=limit,
        **pick_options(options, CUBE_OPTIONS), **check_options(options))
    return _note(dataset, "ENVI header + data", "hyperspectral", "an ENVI .hdr + data")


def _read_text(src: Source, kind: str | None, limit: int, options: dict[str, Any]) -> Dataset:
    table = arrays.read_table(src, limit)
    column = None
    if kind in (None, "text"):
        column = text.text_column(table, src.name, options.get("text_column"))
    if column is not None:
        dataset = text.from_table(table, column, name=src.name,
                                  label_column=options.get("label_column"),
                                  **pick_options(options, _VECTORIZE), **check_options(options))
        return _note(dataset, "CSV with a text column", "text",
                     f"column {(table.header or [column] * (column + 1))[column]!r} holds sentences; vectorised")
    values, row_names, header = arrays.numeric_table(table, src.name)
    if kind:
        detected, reason = kind, "chosen by the user"
    elif header is not None and np.isfinite(values).all() and (values >= 0).all() and (values == np.round(values)).all():
        detected, reason = "text", "a header of terms over integer counts (documents are rows)"
    else:
        detected, reason = "matrix", "a numeric table (columns are the items)"
    if detected == "text":
        dataset = from_array(values, "text", repr(src.name), options, limit=limit, terms=header, items=row_names)
    else:
        dataset = from_array(values, detected, repr(src.name), options, limit=limit, items=header, features=row_names)
    return _note(dataset, "delimited text", detected, reason)


_READERS = {
    "png": _read_image, "jpeg": _read_image, "gif": _read_image, "bmp": _read_image,
    "tiff": _read_image, "zip": _read_zip, "npy": _read_npy, "npz": _read_npz,
    "mat": _read_mat, "hdf5": _read_hdf5, "mtx": _read_mtx, "envi": _read_envi,
    "text": _read_text,
}
