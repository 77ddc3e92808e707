"""Data page: pick a bundled sample, upload a file or open one of the server's data folder, see what was
detected, preview it."""

from __future__ import annotations

import streamlit as st

from nmfcore import plot
from nmfcore.app import views
from nmfcore.app.datadir import data_dir, list_files
from nmfcore.app.sources import lazy_summary, load_source, source_title
from nmfcore.app.text import literal
from nmfcore.data import data_fingerprint, samples
from nmfcore.data.limits import human
from nmfcore.data.samples import SAMPLE_NAMES
from pages import _state

KIND_CHOICES = ["detect automatically", "images", "text", "hyperspectral", "scrna", "matrix"]
UPLOAD_TYPES = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif", "zip", "npy", "npz", "mat",
                "csv", "tsv", "txt", "mtx", "hdr", "raw", "img", "dat", "h5ad", "h5"]
FIXES = {
    "negative='clip'": ("Clip negative entries to 0", {"negative": "clip"}),
    "negative='shift'": ("Shift every entry by the minimum", {"negative": "shift"}),
    "nan='zero'": ("Replace NaN and infinite entries with 0", {"nan": "zero"}),
}


def _load(source: dict, options: dict) -> None:
    """Load from a remembered source (a sample, uploaded bytes or a data-folder file) with loader options."""
    try:
        _state.check_upload(source)
        ds = load_source(source, options, max_file_bytes=_state.limits().max_upload_bytes)
        fingerprint = data_fingerprint(ds.X)  # a lazy X's reads a few chunks: a bad one is reported here
    except ValueError as exc:  # DataError is a ValueError; both carry the fix in their message
        _state.set_data_error((str(exc), source))
        return
    _state.set_data_error(None)
    _state.set_data_source(source, options)
    _state.set_dataset(ds, source_title(source), fingerprint)


def _lazy_summary(ds) -> None:
    summary = lazy_summary(ds)
    m, n = summary["shape"]
    cols = st.columns([1.6, 1.4, 1, 1.4, 1])
    cols[0].metric("Kind", ds.kind)
    cols[1].metric("Features × items", f"{m} × {n}")
    cols[2].metric("Zeros", "not read" if summary["zeros"] is None else f"{summary['zeros']:.1%}")
    cols[3].metric("Chunks", f"{summary['n_chunks']} × ≤ {summary['chunk_items']} items")
    cols[4].metric("Storage", ("sparse" if summary["sparse"] else "dense") + ", on disk")
    st.caption("Read lazily: X stays on disk and fits read it chunk by chunk; its values are checked "
               "as they are read. Only classic NMF fits such data.")


def _summary(ds) -> None:
    if ds.is_lazy:
        _lazy_summary(ds)
    else:
        _memory_summary(ds)
    detected = ds.meta.get("detected")
    if detected:
        st.caption(f"Detected: {literal(detected)}")
    steps = ds.meta.get("steps") or []
    if steps:
        st.caption("Preprocessing: " + literal("; ".join(map(str, steps))))


def _memory_summary(ds) -> None:
    summary = views.data_summary(ds.X)
    m, n = summary["shape"]
    cols = st.columns([1.6, 1.4, 1, 1.4, 1])
    cols[0].metric("Kind", ds.kind)
    cols[1].metric("Features × items", f"{m} × {n}")
    cols[2].metric("Zeros", f"{summary['zeros']:.1%}")
    cols[3].metric("Value range", f"{summary['low']:.3g} … {summary['high']:.3g}")
    cols[4].metric("Storage", "sparse" if summary["sparse"] else "dense")


def _preview(ds) -> None:
    if ds.is_lazy:
        return  # a preview would read the file; the summary above comes from its headers
    X, kind = ds.X, ds.kind
    if kind == "images" and ds.image_shape is not None:
        st.plotly_chart(plot.image_grid(views.first_items(X, 36), ds.image_shape, title="First images"),
                        key="preview_images")
    elif kind == "hyperspectral" and ds.spatial_shape is not None:
        left, right = st.columns(2)
        dense = views.dense(X)
        left.plotly_chart(plot.rgb_composite(dense, ds.spatial_shape), key="preview_rgb")
        pixels = views.random_items(ds.shape[1], 5)
        right.plotly_chart(
            plot.spectra(dense[:, pixels], wavelengths=ds.wavelengths,
                         names=[str(ds.item_names[p]) for p in pixels], title="A few pixel spectra"),
            key="preview_spectra")
    elif kind == "text":
        totals, terms = views.top_rows(X, ds.feature_names, 20)
        left, right = st.columns(2)
        left.plotly_chart(plot.bar_chart(totals, terms, title="Most frequent terms", xlabel="total weight"),
                          key="preview_terms")
        right.plotly_chart(plot.histogram(views.item_totals(X), title="Document lengths", xlabel="total weight"),
                           key="preview_lengths")
    elif kind == "scrna":
        st.write(f"{ds.shape[1]} cells × {ds.shape[0]} genes")
        left, right = st.columns(2)
        left.plotly_chart(plot.histogram(views.item_totals(X), title="Total per cell", xlabel="sum over genes"),
                          key="preview_qc_total")
        right.plotly_chart(plot.histogram(views.detected_per_item(X), title="Genes detected per cell",
                                          xlabel="genes > 0"), key="preview_qc_genes")
    else:
        st.plotly_chart(plot.heatmap(views.dense(X[:100, :100]), title="Top-left block of X (features × items)"),
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
        _state.relabel_dataset(ds.with_labels(chosen))
        st.rerun()


def _preprocessing(ds) -> None:
    source, _ = _state.data_source()
    if source is None:
        return
    if ds.is_lazy:
        st.caption("Preprocessing is not available for data read lazily (it would rewrite the whole "
                   "matrix); preprocess the file before putting it in the data folder.")
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
            st.caption(f"Variable: {literal(ds.meta['variable'])}")
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


def _data_folder(kind: str | None) -> None:
    """The operator's data folder ($NMFCORE_DATA_DIR), when set: pick a file and open it."""
    try:
        root = data_dir()
    except ValueError as exc:  # a misconfigured server: say so, keep the rest of the page
        st.subheader("Open from the server's data folder")
        st.error(literal(exc))
        return
    if root is None:
        return
    st.subheader("Open from the server's data folder")
    entries = {entry.path: entry for entry in list_files(root)}
    if not entries:
        st.caption("The server's data folder holds no data file of a supported format.")
        return
    choice = st.selectbox(
        "File", list(entries), key="datadir_file",
        format_func=lambda path: f"{path} · {human(entries[path].size)}" + (" · lazy" if entries[path].lazy else ""),
        help="Files the server's operator put here, however large: .h5ad, 10x .h5 and zarr open lazily "
             "(nothing is read until a fit streams them); other formats are read whole, within the "
             "upload limit. The kind chosen above applies.")
    if st.button("Open", key="datadir_open", icon=":material/folder_open:"):
        _load({"datadir": choice, "kind": kind}, {})


st.title("Data")
st.write("Load one of the bundled samples with one click, or upload your own file.")

st.subheader("Bundled samples")
names = samples()
cols = st.columns(max(1, len(names)))
for col, name in zip(cols, names):
    what, details = SAMPLE_NAMES[name]
    if col.button(what, key=f"sample_{name}", width="stretch",
                  help=f"Load this bundled sample (`nmfcore.load_sample(\"{name}\")`; see sample_data/README.md)."):
        _load({"sample": name, "kind": None}, {})
    col.caption(details)

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
    if _state.new_upload("data", signature):
        _load({"files": [(f.name, f.getvalue()) for f in files], "kind": kind}, {})

_data_folder(kind)

error = _state.data_error()
if error:
    message, failed_source = error
    st.error(literal(message))
    for marker, (label, opts) in FIXES.items():
        if marker in message and st.button(label, key=f"fix_{label}"):
            _load(failed_source, opts)
            st.rerun()

ds = _state.dataset()
if ds is not None:
    st.subheader(f"Current data: {literal(_state.dataset_label())}")
    _summary(ds)
    _preprocessing(ds)
    _labels(ds)
    _preview(ds)
    st.page_link("pages/model.py", label="Next: choose a model", icon=":material/arrow_forward:")
