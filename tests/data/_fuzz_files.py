"""Small valid files, one per format that ``nmfcore.load`` reads, for the mutation tests;
and rebuilt files whose side variables (maxValue, wavelengths, scene and image shapes,
labels) disagree with the data."""

from __future__ import annotations

import io
import random
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
import scipy.sparse as sp
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for _bad_files
from _bad_files import counts, mat_v73, tenx_h5  # noqa: E402
from _mutations import npy_bytes  # noqa: E402

_FIXED_TIME = (2024, 1, 1, 0, 0, 0)


@dataclass
class Base:
    """A valid file to mutate.

    Attributes
    ----------
    files : dict of str to bytes
        File name -> content; ``main`` is the one ``load`` is called on.
    main : str or list of str
        The name (or names, for a list of images) passed to ``load``.
    options : dict
        Keyword arguments for ``load`` (file names in it are relative to the case folder).
    numbers : list of int
        Sizes the file stores (shapes, nnz, band counts), for "inflate a header number".
    """

    files: dict[str, bytes]
    main: str | list[str]
    options: dict[str, Any] = field(default_factory=dict)
    numbers: list[int] = field(default_factory=list)


@dataclass
class Case:
    """One mutated input: where it lies and how to load it.

    Attributes
    ----------
    fmt, index, seed : str, int, int
        The format, the case number and the seed of its ``random.Random``.
    mutation : str
        What was done to the valid file.
    paths : str or list of str
        What ``load`` is called on.
    options : dict
        Keyword arguments for ``load``.
    names : list of str
        Every file of the case (a message should name one of them).
    """

    fmt: str
    index: int
    seed: int
    mutation: str
    paths: str | list[str]
    options: dict[str, Any]
    names: list[str] = field(default_factory=list)

    def request(self) -> dict[str, Any]:
        """The case as the fuzz runner takes it."""
        return {"paths": self.paths, "options": self.options}


def zip_archive(members: dict[str, bytes] | list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    items = members.items() if isinstance(members, dict) else members
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in items:
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


def _image(pixels: np.ndarray, fmt: str, **kwargs: Any) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _faces(n: int, size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    stack = [np.clip(128 + 100 * np.sin(xx / (2 + i % 5) + i) * np.cos(yy / 3) + rng.normal(0, 10, (size, size)), 0, 255)
             for i in range(n)]
    return np.asarray(stack, dtype=np.uint8)


def _cube(rows: int = 10, cols: int = 12, bands: int = 16, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((rows, cols, 3)) @ rng.random((3, bands))).astype(np.float32)


def _npy_images(folder: Path) -> Base:
    return Base({"stack.npy": npy_bytes(_faces(20, 24))}, "stack.npy", numbers=[20, 24])


def _npz_cube(folder: Path) -> Base:
    buffer = io.BytesIO()
    np.savez(buffer, X=_cube(), wavelengths=np.linspace(400, 900, 16))
    return Base({"scene.npz": buffer.getvalue()}, "scene.npz", numbers=[10, 12, 16])


def _npz_sparse(folder: Path) -> Base:
    matrix = sp.random(60, 80, density=0.1, random_state=2, format="csr", dtype=np.float64)
    matrix.data = np.ceil(matrix.data * 5)
    buffer = io.BytesIO()
    sp.save_npz(buffer, matrix, compressed=False)
    return Base({"dtm.npz": buffer.getvalue()}, "dtm.npz", numbers=[60, 80, matrix.nnz, 61])


def _mat_v5(folder: Path) -> Base:
    cube = (_cube(10, 12, 20) * 4000).astype(np.uint16)
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"cube": cube, "wavelengths": np.linspace(400, 2500, 20),
                              "maxValue": 16000.0})
    return Base({"scene.mat": buffer.getvalue()}, "scene.mat", numbers=[10, 12, 20])


def _mat_v5_sparse(folder: Path) -> Base:
    matrix = sp.random(40, 60, density=0.12, random_state=3, format="csc")
    matrix.data = np.ceil(matrix.data * 4)
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"D": matrix, "labels": np.arange(40) % 3}, do_compression=True)
    return Base({"docs.mat": buffer.getvalue()}, "docs.mat", numbers=[40, 60, matrix.nnz])


def _mat_v73(folder: Path) -> Base:
    matrix = sp.random(30, 50, density=0.15, random_state=4, format="csr")
    path = mat_v73(folder / "v73.mat", D=matrix, labels=np.arange(30.0) % 2)
    return Base({"v73.mat": path.read_bytes()}, "v73.mat", numbers=[30, 50, matrix.nnz, 51])


def _h5ad(folder: Path) -> Base:
    import anndata
    import pandas as pd

    raw = counts(40, 30, seed=5)
    obs = pd.DataFrame({"cell_type": pd.Categorical(["T", "B", "NK", "B"] * 10)},
                       index=[f"cell{i}" for i in range(40)])
    adata = anndata.AnnData(X=raw, obs=obs, var=pd.DataFrame(index=[f"GENE{i}" for i in range(30)]))
    adata.write_h5ad(folder / "cells.h5ad")
    return Base({"cells.h5ad": (folder / "cells.h5ad").read_bytes()}, "cells.h5ad",
                numbers=[40, 30, raw.nnz, 41])


def _tenx(folder: Path) -> Base:
    raw = counts(40, 30, seed=6)
    path = tenx_h5(folder / "filtered_feature_bc_matrix.h5", raw, [f"GENE{i}" for i in range(30)])
    return Base({path.name: path.read_bytes()}, path.name, numbers=[40, 30, raw.nnz, 41])


def _mtx(folder: Path) -> Base:
    matrix = sp.random(50, 40, density=0.1, random_state=7, format="coo")
    matrix.data = np.ceil(matrix.data * 9)
    buffer = io.BytesIO()
    scipy.io.mmwrite(buffer, matrix, field="integer")
    vocabulary = "".join(f"term{i}\n" for i in range(40)).encode()
    return Base({"docs.mtx": buffer.getvalue(), "vocabulary.txt": vocabulary}, "docs.mtx",
                {"vocabulary": "vocabulary.txt"}, numbers=[50, 40, matrix.nnz])


def _csv(folder: Path) -> Base:
    rng = np.random.default_rng(8)
    values = rng.gamma(2.0, 3.0, size=(30, 12))
    lines = ["gene," + ",".join(f"sample{j}" for j in range(12))]
    lines += [f"g{i}," + ",".join(f"{v:.4f}" for v in row) for i, row in enumerate(values)]
    return Base({"table.csv": ("\n".join(lines) + "\n").encode()}, "table.csv", numbers=[30, 12])


_WORDS = ("matrix factor topic image gene cell pixel band spectrum word count sparse dense "
          "model basis weight noise signal cluster label").split()


def _documents(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 25))) for _ in range(n)]


def _tsv(folder: Path) -> Base:
    rows = ["text\tlabel"] + [f"{doc}\t{'ab'[i % 2]}" for i, doc in enumerate(_documents(40, 9))]
    return Base({"docs.tsv": ("\n".join(rows) + "\n").encode()}, "docs.tsv", numbers=[40])


def _pictures(fmt: str, suffix: str, **kwargs: Any) -> Callable[[Path], Base]:
    def build(folder: Path) -> Base:
        faces = _faces(3, 32, seed=10)
        files = {f"face{i}{suffix}": _image(face, fmt, **kwargs) for i, face in enumerate(faces)}
        return Base(files, list(files), numbers=[32])

    return build


def _tiff(folder: Path) -> Base:
    bands = (_cube(24, 24, 5) * 9000).astype(np.uint16)
    pages = [Image.fromarray(bands[..., b]) for b in range(5)]
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:])
    return Base({"bands.tif": buffer.getvalue()}, "bands.tif", numbers=[24, 5])


def _zip_images(folder: Path) -> Base:
    faces = _faces(6, 20, seed=11)
    members = {f"{'ab'[i % 2]}/face{i}.png": _image(face, "PNG") for i, face in enumerate(faces)}
    return Base({"faces.zip": zip_archive(members)}, "faces.zip", numbers=[20, 6])


def _zip_texts(folder: Path) -> Base:
    members = {f"doc{i}.txt": doc.encode() for i, doc in enumerate(_documents(8, 12))}
    return Base({"docs.zip": zip_archive(members)}, "docs.zip", numbers=[8])


def _envi(folder: Path) -> Base:
    cube = _cube(12, 10, 8)
    wavelengths = ", ".join(f"{w:.1f}" for w in np.linspace(450, 950, 8))
    header = (f"ENVI\ndescription = {{fuzz}}\nsamples = 10\nlines = 12\nbands = 8\nheader offset = 0\n"
              f"file type = ENVI Standard\ndata type = 4\ninterleave = bsq\nbyte order = 0\n"
              f"wavelength = {{{wavelengths}}}\nbbl = {{1, 1, 1, 1, 1, 1, 1, 1}}\n")
    data = np.ascontiguousarray(cube.transpose(2, 0, 1)).astype("<f4").tobytes()
    return Base({"scene.hdr": header.encode(), "scene.img": data}, "scene.hdr", numbers=[12, 10, 8])


def rebuild_mat(rng: random.Random) -> tuple[bytes, str]:
    """A v5 scene whose side variables are mismatched: maxValue, wavelengths, nRow/nCol."""
    cube = (_cube(10, 12, 20) * 4000).astype(np.uint16)
    variables: dict[str, Any] = {"cube": cube, "wavelengths": np.linspace(400, 2500, 20), "maxValue": 16000.0}
    choice = rng.randrange(5)
    if choice == 0:
        variables["maxValue"] = rng.choice((0.0, -1.0, np.nan, np.inf, 1e-300, 1e300, 1.0))
    elif choice == 1:
        variables["wavelengths"] = rng.choice((np.arange(3.0), np.array([np.nan] * 20), np.zeros((20, 20))))
    elif choice == 2:
        variables = {"cube": cube.reshape(120, 20), "nRow": rng.choice((0.0, -3.0, 2.5, 7.0, np.nan, 1e20)),
                     "nCol": 12.0}
    elif choice == 3:
        variables["cube"] = rng.choice((cube.astype(np.complex128), cube[:, :, :0], cube.astype(np.int8) - 100))
    else:
        variables["labels"] = np.arange(rng.choice((3, 120, 11)))
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables)
    return buffer.getvalue(), "mat v5 rebuilt: " + ", ".join(sorted(variables))


def rebuild_npz(rng: random.Random) -> tuple[bytes, str]:
    """A cube .npz with mismatched side arrays: spatial_shape, wavelengths, labels, image_shape."""
    arrays: dict[str, Any] = {"X": _cube()}
    key = rng.choice(("spatial_shape", "wavelengths", "labels", "image_shape", "feature_names"))
    arrays[key] = rng.choice((np.array([0, 5]), np.array([-1, -120]), np.array([7, 7]), np.array([2.5, 48.0]),
                              np.array(["a", "b"]), np.arange(5), np.array(3), np.array([np.nan, 1.0]),
                              np.ones((4, 4)), np.array([2**40, 2])))
    if key != "spatial_shape" and rng.random() < 0.5:
        arrays["X"] = arrays["X"].reshape(120, 16).T
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue(), f"npz rebuilt with {key}={np.asarray(arrays[key]).tolist()!r}"[:120]


#: format -> builder of its valid file(s) in a folder
BUILDERS: dict[str, Callable[[Path], Base]] = {
    "npy-images": _npy_images,
    "npz-cube": _npz_cube,
    "npz-sparse": _npz_sparse,
    "mat-v5": _mat_v5,
    "mat-v5-sparse": _mat_v5_sparse,
    "mat-v73": _mat_v73,
    "h5ad": _h5ad,
    "10x-h5": _tenx,
    "mtx": _mtx,
    "csv": _csv,
    "tsv": _tsv,
    "png": _pictures("PNG", ".png"),
    "jpeg": _pictures("JPEG", ".jpg", quality=90),
    "tiff": _tiff,
    "zip-images": _zip_images,
    "zip-texts": _zip_texts,
    "envi": _envi,
}
