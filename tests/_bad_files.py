"""Writers of small data files, good and bad, for the data-loading tests (all in memory)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import h5py
import numpy as np
import scipy.sparse as sp
from PIL import Image


def png(pixels: np.ndarray, fmt: str = "PNG") -> bytes:
    """Encode a uint8 (h, w) or (h, w, 3) array as an image file."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(buffer, format=fmt)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP archive holding ``members`` (name -> content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    """A .npy file of ``array``."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def npz(**arrays: np.ndarray) -> bytes:
    """A compressed .npz of ``arrays``."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def mat_v5(**variables) -> bytes:
    """A MATLAB v5 file written by SciPy."""
    import scipy.io

    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables)
    return buffer.getvalue()


def mat_v73(path: Path, **variables) -> Path:
    """A MATLAB v7.3 (HDF5) file laid out as MATLAB writes it: a 512-byte text header,
    arrays stored transposed with a MATLAB_class attribute, sparse matrices as groups."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, value in variables.items():
            if sp.issparse(value):
                csc = sp.csc_matrix(value)
                group = f.create_group(name)
                group.attrs["MATLAB_class"] = np.bytes_("double")
                group.attrs["MATLAB_sparse"] = np.uint64(csc.shape[0])
                group["data"], group["ir"], group["jc"] = csc.data, csc.indices.astype(np.uint64), csc.indptr.astype(np.uint64)
            elif isinstance(value, str):
                f[name] = np.frombuffer(value.encode("utf-16-le"), dtype=np.uint16)
                f[name].attrs["MATLAB_class"] = np.bytes_("char")
            else:
                f[name] = np.asarray(value).T
                f[name].attrs["MATLAB_class"] = np.bytes_("double")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    header = header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02IM"
    with open(path, "r+b") as fh:
        fh.write(header.ljust(512, b"\x00"))
    return path


def tenx_h5(path: Path, counts: sp.csr_matrix, genes: list[str]) -> Path:
    """A Cell Ranger v3 ``filtered_feature_bc_matrix.h5`` for a cells x genes count matrix."""
    csc = sp.csc_matrix(counts.T)  # genes x cells, stored column (cell) by column
    with h5py.File(path, "w") as f:
        group = f.create_group("matrix")
        group["barcodes"] = np.array([f"CELL{i}-1" for i in range(counts.shape[0])], dtype="S")
        group["data"] = csc.data.astype(np.int32)
        group["indices"] = csc.indices.astype(np.int64)
        group["indptr"] = csc.indptr.astype(np.int64)
        group["shape"] = np.array(csc.shape, dtype=np.int32)
        features = group.create_group("features")
        features["id"] = np.array([f"ENSG{i:05d}" for i in range(len(genes))], dtype="S")
        features["name"] = np.array(genes, dtype="S")
        features["feature_type"] = np.array(["Gene Expression"] * len(genes), dtype="S")
        features["genome"] = np.array(["GRCh38"] * len(genes), dtype="S")
        features["_all_tag_keys"] = np.array([b"genome"])
    return path


def tenx_triplet(counts: sp.csr_matrix, genes: list[str]) -> dict[str, bytes]:
    """matrix.mtx / features.tsv / barcodes.tsv of a cells x genes count matrix."""
    import scipy.io

    buffer = io.BytesIO()
    scipy.io.mmwrite(buffer, sp.coo_matrix(counts.T))
    features = "".join(f"ENSG{i:05d}\t{g}\tGene Expression\n" for i, g in enumerate(genes))
    barcodes = "".join(f"CELL{i}-1\n" for i in range(counts.shape[0]))
    return {"matrix.mtx": buffer.getvalue(), "features.tsv": features.encode(),
            "barcodes.tsv": barcodes.encode()}


def counts(n_cells: int = 40, n_genes: int = 30, seed: int = 0) -> sp.csr_matrix:
    """A sparse cells x genes matrix of Poisson counts."""
    rng = np.random.default_rng(seed)
    return sp.csr_matrix(rng.poisson(1.0, size=(n_cells, n_genes)).astype(np.float64))
