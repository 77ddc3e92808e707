"""Export page: download a result in every format, reproduce it in Python, upload factors back."""

from __future__ import annotations

import scipy.sparse as sp
import streamlit as st

import nmfcore
from nmfcore import export
from nmfcore.app.presets import python_snippet
from pages import _state

UPLOAD_TYPES = ["npz", "h5ad", "json"]


def _data_call(name: str) -> str:
    meta = _state.info(name)
    source = st.session_state.get("data_source") or {}
    if meta is None or meta.dataset is None or meta.fingerprint != st.session_state.get("fingerprint"):
        return 'nmfcore.load("your_data_file")'
    options = dict(st.session_state.get("data_options") or {})
    if "sample" in source and not options:
        return f'nmfcore.load_sample("{source["sample"]}")'
    if "sample" in source:
        target = f'nmfcore.data.sample_path("{source["sample"]}")'
    else:
        target = repr(source["files"][0][0] if len(source["files"]) == 1 else [f for f, _ in source["files"]])
    if source.get("kind"):
        options = {"kind": source["kind"], **options}
    extra = "".join(f", {key}={value!r}" for key, value in options.items())
    return f"nmfcore.load({target}{extra})"


def _png(result, ds) -> bytes:
    if ds is None:
        raise ValueError("a PNG needs the data set the result came from (its image shape, scene or "
                         "feature names); load that data on the Data page")
    return export.to_png(result, ds)


def _downloads(name: str, result, ds) -> None:
    stem = "".join(c if c.isalnum() else "_" for c in name).strip("_").lower() or "result"
    items = [
        ("Download .npz", lambda: export.to_npz(result, ds), f"{stem}.npz", "application/octet-stream",
         "Every layer's W and H as arrays, readable with numpy.load."),
        ("Download CSV ZIP", lambda: export.to_csv_zip(result, ds), f"{stem}_csv.zip", "application/zip",
         "One CSV per factor matrix, with row and column names."),
        ("Download .h5ad", lambda: export.to_h5ad(result, ds), f"{stem}.h5ad", "application/octet-stream",
         "AnnData: coefficients in obsm['X_nmf'], basis in varm['NMF_basis'], recipe in uns['nmf']."),
        ("Download PNG", lambda: _png(result, ds), f"{stem}.png", "image/png",
         "Basis images or abundance maps; for text and genes, a heat map of each factor's top features."),
        ("Download recipe (JSON)", lambda: export.to_recipe_json(result, ds), f"{stem}_recipe.json",
         "application/json", "Data fingerprint, preprocessing, model, parameters, seed and versions."),
    ]
    cols = st.columns(len(items))
    for col, (label, make, file_name, mime, help_text) in zip(cols, items):
        try:
            payload = make()
        except ValueError as exc:
            col.button(label, disabled=True, help=str(exc), key=f"disabled_{label}")
            continue
        col.download_button(label, payload, file_name=file_name, mime=mime, help=help_text,
                            key=f"download_{label}", on_click="ignore")


def _upload_result() -> None:
    st.subheader("Upload a result exported earlier")
    st.write("An `.npz` or `.h5ad` from this page (with its recipe inside) is shown again in every view, "
             "without refitting. Its W and H can also start a new NMF fit.")
    uploaded = st.file_uploader("Exported result", type=UPLOAD_TYPES, key="result_upload")
    if uploaded is None:
        return
    signature = (uploaded.name, uploaded.size)
    if st.session_state.get("result_upload_signature") != signature:
        st.session_state["result_upload_signature"] = signature
        try:
            result = export.read_result(uploaded)
        except ValueError as exc:
            st.session_state["result_upload_error"] = str(exc)
        else:
            st.session_state["result_upload_error"] = None
            model = (getattr(result, "params", {}) or {}).get("model", "result")
            name = _state.add_result(result, model, ds=None, key=None, source=f"uploaded {uploaded.name}")
            first = result.layers()[0]
            st.session_state["custom_init"] = (first.W, first.H)
            st.session_state["result_upload_name"] = name
    error = st.session_state.get("result_upload_error")
    if error:
        st.error(error)
    elif st.session_state.get("result_upload_name"):
        name = st.session_state["result_upload_name"]
        st.success(f"Kept as **{name}**: see it on the Layers page. On the Model page, NMF can start from "
                   "its first layer ('uploaded factors' initialisation) when the data has the same shape.")


st.title("Export")
name = _state.select_result()
if name is not None:
    result = _state.results()[name]
    ds = _state.dataset_for(name)
    _downloads(name, result, ds)
    st.subheader("Reproduce in Python")
    dense = result.params.get("model") == "deep_nmf" and ds is not None and sp.issparse(ds.X)
    st.code(python_snippet(result.params, _data_call(name), densify=dense), language="python")
else:
    st.info("No result yet: run a model on the Model page, or upload an exported result below.")
_upload_result()
st.caption(f"Uploads are limited to {st.get_option('server.maxUploadSize')} MB per file; "
           f"nmfcore {nmfcore.__version__}.")
