"""Data page: pick a bundled sample or upload a file, see what was detected, preview it."""

from __future__ import annotations

import io

import numpy as np
import scipy.sparse as sp
import streamlit as st

import nmfcore
from nmfcore import plot
from nmfcore.data import sample_path
from pages import _state

KIND_CHOICES = ["detect automatically", "images", "text", "hyperspectral", "scrna", "matrix"]
UPLOAD_TYPES = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif", "zip", "npy", "npz", "mat",
                "csv", "tsv", "txt", "mtx", "hdr", "raw", "img", "dat", "h5ad", "h5"]
FIXES = {
    "negative='clip'": ("Clip negative entries to 0", {"negative": "clip"}),
    "negative='shift'": ("Shift every entry by the minimum", {"negative": "shift"}),
    "nan='zero'": ("Replace NaN and infinite entries with 0", {"nan": "zero"}),
}


def _source_files(files: list[tuple[str, bytes]]) -> object:
    handles = []
    for name, payload in files:
        handle = io.BytesIO(payload)
        handle.name = name
        handles.append(handle)
    return handles[0] if len(handles) == 1 else handles


def _load(source: dict, options: dict) -> None:
    """Load from a remembered source (a sample or uploaded bytes) with loader options."""
    try:
        if "sample" in source and not options:
            ds = nmfcore.load_sample(source["sample"])
        elif "sample" in source:
            ds = nmfcore.load(sample_path(source["sample"]), kind=source["kind"], **options)
        else:
            ds = nmfcore.load(_source_files(source["files"]), kind=source["kind"], **options)
    except ValueError as exc:  # DataError is a ValueError; both carry the fix in their message
        st.session_state["data_error"] = (str(exc), source)
        return
    st.session_state["data_error"] = None
    st.session_state["data_source"] = source
    st.session_state["data_options"] = options
    if "sample" in source:
        label = f"sample {source['sample']}"
    else:
        names = [name for name, _ in source["files"]]
        label = "upload " + ", ".join(names[:3]) + ("…" if len(names) > 3 else "")
    _state.set_dataset(ds, label)


def _summary(ds) -> None:
    X = ds.X
    m, n = ds.shape
    if sp.issparse(X):
        nnz, low, high = X.nnz, (0.0 if X.nnz < m * n else float(X.data.min())), float(X.data.max())
    else:
        nnz, low, high = int(np.count_nonzero(X)), float(X.min()), float(X.max())
    cols = st.columns([1.6, 1.4, 1, 1.4, 1])
    cols[0].metric("Kind", ds.kind)
    cols[1].metric("Features × items", f"{m} × {n}")
    cols[2].metric("Zeros", f"{1 - nnz / (m * n):.1%}")
    cols[3].metric("Value range", f"{low:.3g} … {high:.3g}")
    cols[4].metric("Storage", "sparse" if sp.issparse(X) else "dense")
    detected = ds.meta.get("detected")
    if detected:
        st.caption(f"Detected: {detected}")
    steps = ds.meta.get("steps") or []
    if steps:
        st.caption("Preprocessing: " + "; ".join(map(str, steps)))


def _column_sums(X) -> np.ndarray:
    return np.asarray(X.sum(axis=0)).ravel()


def _preview(ds) -> None:
    X, kind = ds.X, ds.kind
    dense_cols = lambda idx: X[:, idx].toarray() if sp.issparse(X) else X[:, idx]  # noqa: E731
    if kind == "images" and ds.image_shape is not None:
        idx = np.arange(min(36, ds.shape[1]))
        st.plotly_chart(plot.image_grid(dense_cols(idx), ds.image_shape, title="First images"),
                        key="preview_images")
    elif kind == "hyperspectral" and ds.spatial_shape is not None:
        left, right = st.columns(2)
        dense = X.toarray() if sp.issparse(X) else X
        left.plotly_chart(plot.rgb_composite(dense, ds.spatial_shape), key="preview_rgb")
        pixels = np.random.default_rng(0).choice(ds.shape[1], size=min(5, ds.shape[1]), replace=False)
        right.plotly_chart(
            plot.spectra(dense[:, pixels], wavelengths=ds.wavelengths,
                         names=[str(ds.item_names[p]) for p in pixels], title="A few pixel spectra"),
            key="preview_spectra")
    elif kind == "text":
        totals = np.asarray(X.sum(axis=1)).ravel()
        top = np.argsort(-totals, kind="stable")[:20]
        left, right = st.columns(2)
        left.plotly_chart(plot.bar_chart(totals[top], [ds.feature_names[i] for i in top],
                                         title="Most frequent terms", xlabel="total weight"),
                          key="preview_terms")
        right.plotly_chart(plot.histogram(_column_sums(X), title="Document lengths", xlabel="total weight"),
                           key="preview_lengths")
    elif kind == "scrna":
        st.write(f"{ds.shape[1]} cells × {ds.shape[0]} genes")
        detected = (np.diff(X.tocsc().indptr) if sp.issparse(X) else np.count_nonzero(X, axis=0))
        left, right = st.columns(2)
        left.plotly_chart(plot.histogram(_column_sums(X), title="Total per cell", xlabel="sum over genes"),
                          key="preview_qc_total")
        right.plotly_chart(plot.histogram(detected, title="Genes detected per cell", xlabel="genes > 0"),
                           key="preview_qc_genes")
    else:
        block = X[:100, :100]
        block = block.toarray() if sp.issparse(block) else block
        st.plotly_chart(plot.heatmap(block, title="Top-left block of X (features × items)"),
                        key="preview_matrix")


def _labels(ds) -> None:
    options = list(ds.label_options or {})
    if not options:
        return
    current = ds.meta.get("labels")
    choice = st.selectbox("Labels of the items (used to colour views and score clusters)",
                          ["none"] + options,
                          index=(options.index(current) + 1) if current in options else 0,
                          help="Annotations found in the file; they never enter the fit.")
    chosen = None if choice == "none" else choice
    if chosen != current:
        st.session_state["dataset"] = ds.with_labels(chosen)
        st.rerun()


def _preprocessing(ds) -> None:
    source = st.session_state.get("data_source")
    if source is None:
        return
    with st.expander("Preprocessing"):
        st.caption("Reloads the same file with these options; the steps applied are listed above.")
        c1, c2 = st.columns(2)
        options: dict = {}
        negative = c1.selectbox("Negative entries", ["refuse", "clip", "shift"], key="pre_negative",
                                help="NMF needs X ≥ 0: set negatives to 0, or subtract the minimum.")
        nan = c2.selectbox("NaN and infinite entries", ["refuse", "zero"], key="pre_nan",
                           help="Replace them with 0, or refuse the file.")
        if negative != "refuse":
            options["negative"] = negative
        if nan != "refuse":
            options["nan"] = "zero"
        if ds.kind == "scrna":
            c1, c2, c3 = st.columns(3)
            if c1.checkbox("normalize_total", key="pre_norm", help="Scale every cell to the same total (scanpy)."):
                options["normalize_total"] = True
            if c2.checkbox("log1p", key="pre_log", help="log(1 + x) of every entry (scanpy)."):
                options["log1p"] = True
            if c3.checkbox("pNMF recipe", key="pre_pnmf", help="log10(1 + x), then unit-norm cells (pNMF paper)."):
                options["pnmf_recipe"] = True
            c1, c2, c3 = st.columns(3)
            for col, option, text in ((c1, "n_top_genes", "Keep the N most variable genes (0 = all)."),
                                      (c2, "min_genes", "Drop cells with fewer detected genes (0 = keep all)."),
                                      (c3, "min_cells", "Drop genes seen in fewer cells (0 = keep all).")):
                value = int(col.number_input(option, 0, 100_000, 0, key=f"pre_{option}", help=text))
                if value:
                    options[option] = value
        elif ds.kind == "hyperspectral":
            if st.checkbox("Drop bad bands", key="pre_bands", help="Remove noisy or saturated bands."):
                options["drop_bad_bands"] = True
        elif ds.kind == "images" and ds.image_shape is not None and "files" in source:
            # resizing applies to image files (one by one or zipped), not to stored arrays
            c1, c2 = st.columns(2)
            h = int(c1.number_input("Height", 2, 4096, ds.image_shape[0], key="pre_h", help="Resize every image."))
            w = int(c2.number_input("Width", 2, 4096, ds.image_shape[1], key="pre_w", help="Resize every image."))
            if (h, w) != tuple(ds.image_shape):
                options["size"] = (h, w)
        if ds.meta.get("variable"):
            st.caption(f"Variable: {ds.meta['variable']}")
            variable = st.text_input("Variable to use instead", key="pre_variable",
                                     help="Name of another matrix in the file (leave empty for the default).")
            if variable.strip():
                options["variable"] = variable.strip()
        if ds.kind == "matrix" and st.checkbox("Transpose (rows are the items)", key="pre_transpose",
                                               help="NMF treats columns as items; tick if the file has one item per row."):
            options["transpose"] = True
        if st.button("Apply preprocessing", key="apply_pre"):
            _load({**source, "kind": ds.kind}, options)
            st.rerun()


st.title("Data")
st.write("Load one of the bundled samples with one click, or upload your own file.")

st.subheader("Bundled samples")
samples = nmfcore.samples()
cols = st.columns(max(1, len(samples)))
for col, name in zip(cols, samples):
    if col.button(name, key=f"sample_{name}", width="stretch",
                  help=f"Load the bundled '{name}' sample (see sample_data/README.md)."):
        _load({"sample": name, "kind": None}, {})

st.subheader("Upload")
limit_mb = st.get_option("server.maxUploadSize")
kind_choice = st.selectbox("Kind of data", KIND_CHOICES,
                           help="Leave on 'detect' unless detection guesses wrong.")
several = st.checkbox("Several files at once (images, or an ENVI header with its data file)", key="several",
                      help="Otherwise one file: a ZIP of images, .npy/.npz, .mat, CSV/TSV, .mtx, .h5ad or 10x .h5.")
uploaded = st.file_uploader(
    f"Data file{'s' if several else ''} (at most {limit_mb} MB per file)",
    type=UPLOAD_TYPES, accept_multiple_files=several, key=f"data_upload_{several}",
    help="Stays in this browser session only; the format and kind are detected and shown below.",
)
files = list(uploaded) if several else ([uploaded] if uploaded is not None else [])
kind = None if kind_choice == KIND_CHOICES[0] else kind_choice
if files:
    signature = tuple((f.name, f.size) for f in files) + (kind,)
    if st.session_state.get("upload_signature") != signature:
        st.session_state["upload_signature"] = signature
        _load({"files": [(f.name, f.getvalue()) for f in files], "kind": kind}, {})

error = st.session_state.get("data_error")
if error:
    message, failed_source = error
    st.error(message)
    for marker, (label, opts) in FIXES.items():
        if marker in message and st.button(label, key=f"fix_{label}"):
            _load(failed_source, opts)
            st.rerun()

ds = _state.dataset()
if ds is not None:
    st.subheader(f"Current data: {st.session_state['dataset_label']}")
    _summary(ds)
    _preprocessing(ds)
    _labels(ds)
    _preview(ds)
    st.page_link("pages/model.py", label="Next: choose a model", icon=":material/arrow_forward:")
