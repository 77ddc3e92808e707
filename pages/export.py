"""Export page: download a result in every format (a lazy one: written to the server chunk by chunk),
reproduce it in Python, upload factors back."""

from __future__ import annotations

import streamlit as st

from nmfcore import export
from nmfcore.app.reproduce import data_call, file_stem, needs_dense_copy, python_snippet
from nmfcore.app.text import literal
from nmfcore.data.limits import human
from nmfcore.version import __version__
from pages import _state

UPLOAD_TYPES = ["npz", "h5ad", "json"]


def _png(result, ds) -> bytes:
    if ds is None:
        raise ValueError("a PNG needs the data set the result came from (its image shape, scene or "
                         "feature names); load that data on the Data page")
    return export.to_png(result, ds)


def _downloads(name: str, result, ds) -> None:
    stem = file_stem(name)
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
            col.button(label, disabled=True, help=literal(exc), key=f"disabled_{label}")
            continue
        col.download_button(label, payload, file_name=file_name, mime=mime, help=help_text,
                            key=f"download_{label}", on_click="ignore")


def _chunked_exports(name: str, result, ds) -> None:
    """For a lazy result: files written to the server chunk by chunk, downloaded when small."""
    H = result.layers()[0].H
    st.info(f"H of this result covers {H.shape[1]:,} items in {H.numblocks[1]:,} chunks, computed where the fit "
            "ran: the .npz, CSV, .h5ad and PNG downloads would pull it whole into this server's memory, so "
            "it is written to a file on the server chunk by chunk instead (W, H, names, labels and recipe; "
            "not the data).")
    stem = file_stem(name)
    written = _state.memo("chunked_exports", name, dict)
    formats = [(".zarr", "Write .zarr", "A zarr store (a folder) with AnnData's layout: anndata.read_zarr reads it."),
               (".h5ad", "Write .h5ad", "AnnData: H transposed in obsm['X_nmf'], W in varm['NMF_basis'], "
                                        "the recipe in uns['nmf'].")]
    cols = st.columns(len(formats) + 1)
    for col, (suffix, label, help_text) in zip(cols, formats):
        if col.button(label, help=help_text, key=f"write_{suffix}"):
            try:
                with st.spinner(f"Writing {suffix} chunk by chunk…"):
                    written[suffix] = export.write_export(result, stem, suffix, ds)
            except (ValueError, OSError) as exc:
                col.error(literal(exc))
    cols[-1].download_button("Download recipe (JSON)", lambda: export.to_recipe_json(result, ds),
                             file_name=f"{stem}_recipe.json", mime="application/json", key="download_recipe_lazy",
                             help="Data fingerprint, preprocessing, model, parameters, seed and versions.",
                             on_click="ignore")
    for suffix, done in written.items():
        st.markdown(f"**{suffix}** written on the server ({human(done.size)}):")
        st.code(str(done.path), language=None)
        if done.downloadable:
            st.download_button(f"Download {done.download_name}", lambda done=done: export.download_bytes(done),
                               file_name=done.download_name, mime="application/octet-stream",
                               key=f"download_chunked_{suffix}", on_click="ignore")
        else:
            st.info(f"It is larger than {human(export.MAX_DOWNLOAD_BYTES)}, too large to download through the "
                    "browser: fetch it from the server at the path above (the operator sets the folder with "
                    "`NMFCORE_EXPORT_DIR`).")


def _upload_result() -> None:
    st.subheader("Upload a result exported earlier")
    st.write("An `.npz` or `.h5ad` from this page (with its recipe inside) is shown again in every view, "
             "without refitting. Its W and H can also start a new NMF fit.")
    uploaded = st.file_uploader("Exported result", type=UPLOAD_TYPES, key="result_upload")
    if uploaded is None:
        return
    if _state.new_upload("result", (uploaded.name, uploaded.size)):
        try:
            result = export.read_result(uploaded)
        except ValueError as exc:
            _state.set_result_upload(error=str(exc))
        else:
            model = result.params.get("model", "result")
            name = _state.add_result(result, model, ds=None, key=None, source=f"uploaded {uploaded.name}")
            first = result.layers()[0]
            _state.set_custom_init(first.W, first.H)
            _state.set_result_upload(name=name)
    name, error = _state.result_upload()
    if error:
        st.error(literal(error))
    elif name:
        st.success(f"Kept as **{literal(name)}**: see it on the Layers page. On the Model page, NMF can start from "
                   "its first layer ('uploaded factors' initialisation) when the data has the same shape.")


st.title("Export")
name = _state.select_result()
if name is not None:
    result = _state.results()[name]
    ds = _state.dataset_for(name)
    if export.is_lazy_result(result):
        _chunked_exports(name, result, ds)
    else:
        _downloads(name, result, ds)
    st.subheader("Reproduce in Python")
    dense = needs_dense_copy(result.params, None if ds is None else ds.X)
    st.code(python_snippet(result.params, data_call(*_state.source_of(name)), densify=dense), language="python")
else:
    st.info("No result yet: run a model on the Model page, or upload an exported result below.")
_upload_result()
st.caption(f"Uploads are limited to {st.get_option('server.maxUploadSize')} MB per file; "
           f"nmfcore {__version__}.")
