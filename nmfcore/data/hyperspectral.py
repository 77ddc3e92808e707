"""Hyperspectral scenes: ``.mat``, ``.npy``/``.npz``, ENVI ``.hdr`` + raw data, multi-page TIFF.

X is bands x pixels, with the pixels of the (rows, cols) scene in C order, so that
``H[k].reshape(spatial_shape)`` is an abundance map whatever the file's layout was.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import ImageSequence

from nmfcore.data.dataset import Dataset
from nmfcore.data.errors import DataError
from nmfcore.data.limits import check_dense_size
from nmfcore.data.source import Source
from nmfcore.data.validate import finish

PIXEL_ORDERS = ("F", "C")


def _shape_pair(value: Any, name: str) -> tuple[int, int] | None:
    if value is None:
        return None
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(isinstance(s, (int, np.integer)) and s > 0 for s in value)
    ):
        raise ValueError(f"{name} must be a (rows, cols) pair of positive integers, got {value!r}")
    return int(value[0]), int(value[1])


def from_cube(cube: np.ndarray, **options: Any) -> Dataset:
    """Load a rows x cols x bands cube.

    Parameters
    ----------
    cube : ndarray, shape (rows, cols, bands)
    **options
        See :func:`from_bands_by_pixels`.

    Returns
    -------
    Dataset
    """
    cube = np.asarray(cube)
    if cube.ndim != 3:
        raise DataError(
            f"{options.get('origin', 'the cube')} has {cube.ndim} dimension(s); a hyperspectral "
            "cube needs 3 (rows x cols x bands)"
        )
    rows, cols, bands = cube.shape
    return from_bands_by_pixels(
        cube.reshape(rows * cols, bands).T, spatial_shape=(rows, cols), pixel_order="C",
        orientation="rows x cols x bands", **options,
    )


def from_bands_by_pixels(
    V: np.ndarray, *, spatial_shape: Any = None, pixel_order: str = "F", origin: str,
    wavelengths: Sequence[float] | None = None, max_value: float | None = None,
    drop_bands: Sequence[int] | None = None, drop_bad_bands: bool = False,
    bad_band_list: Sequence[int] | None = None, orientation: str = "bands x pixels",
    **checks: Any,
) -> Dataset:
    """Load a bands x pixels matrix of a scene.

    Parameters
    ----------
    V : ndarray, shape (bands, rows * cols)
    spatial_shape : (rows, cols), optional
        Scene size; default a square scene when the pixel count is a perfect square.
    pixel_order : {"F", "C"}
        How the file flattened the scene: "F" = column-major (MATLAB: pixel p is row
        ``p % rows``, column ``p // rows``), "C" = row-major.
    origin : str
        Description for messages and provenance.
    wavelengths : sequence of float, optional
        Band centres, length bands.
    max_value : float, optional
        Scale of integer data (e.g. ``maxValue`` in the file); integer data without it is
        divided by its maximum.
    drop_bands : sequence of int, optional
        Band indices to remove (e.g. water-absorption bands).
    drop_bad_bands : bool
        Also remove bands flagged in ``bad_band_list`` or holding NaN, inf or only zeros.
    bad_band_list : sequence of {0, 1}, optional
        ENVI's ``bbl`` (1 = good band).
    orientation : str
        The file's layout, for provenance.

    Returns
    -------
    Dataset
        X of shape (kept bands, rows * cols), ``spatial_shape`` (rows, cols), pixels in C order.
    """
    if pixel_order not in PIXEL_ORDERS:
        raise ValueError(f"pixel_order={pixel_order!r} is not valid; choose 'F' (MATLAB) or 'C'")
    V = np.asarray(V)
    bands, n_pixels = V.shape
    shape = _shape_pair(spatial_shape, "spatial_shape")
    if shape is None:
        side = int(round(np.sqrt(n_pixels)))
        if side * side != n_pixels:
            raise DataError(
                f"{origin} has {n_pixels} pixels, which is not a square scene, and the file "
                "does not give its size; pass spatial_shape=(rows, cols)"
            )
        shape = (side, side)
    if shape[0] * shape[1] != n_pixels:
        raise DataError(
            f"spatial_shape={shape} has {shape[0] * shape[1]} pixels but {origin} has "
            f"{n_pixels}; give the scene's (rows, cols)"
        )
    steps: list[str] = []
    X = V
    if pixel_order == "F":
        X = V.reshape(bands, shape[0], shape[1], order="F").reshape(bands, n_pixels)
        steps.append("reordered pixels from column-major (MATLAB) to row-major")
    if X.dtype.kind in "iub":
        scale = float(max_value) if max_value else float(X.max() or 1)
        X = X.astype(np.float64) / scale
        source_of_scale = "the file's maximum value" if max_value else "the data maximum"
        steps.append(f"scaled integer data to [0, 1] by dividing by {scale:g} ({source_of_scale})")
    keep = np.ones(bands, dtype=bool)
    if drop_bands is not None:
        index = np.asarray(list(drop_bands), dtype=int)
        if index.size and (index.min() < -bands or index.max() >= bands):
            raise ValueError(f"drop_bands={list(drop_bands)} has indices outside 0..{bands - 1}")
        keep[index] = False
    if drop_bad_bands:
        if bad_band_list is not None:
            keep &= np.asarray(bad_band_list, dtype=float).ravel()[:bands] > 0
        finite = np.isfinite(X)
        keep &= finite.all(axis=1) & (np.where(finite, X, 0) != 0).any(axis=1)
    if not keep.all():
        dropped = np.flatnonzero(~keep)
        steps.append(f"dropped {dropped.size} band(s): {dropped.tolist()}")
        X = X[keep]
    wl = None
    if wavelengths is not None:
        wl = np.asarray(wavelengths, dtype=float).ravel()
        if wl.size != bands:
            raise DataError(f"{origin} has {bands} bands but {wl.size} wavelengths; fix the header")
        wl = wl[keep]
    features = [f"{w:g} nm" for w in wl] if wl is not None else [f"band {b}" for b in np.flatnonzero(keep)]
    rows, cols = shape
    items = [f"pixel ({r}, {c})" for r in range(rows) for c in range(cols)]
    return finish(
        X, "hyperspectral", what=origin, feature_names=features, item_names=items, steps=steps,
        spatial_shape=shape, wavelengths=wl,
        meta={"orientation": f"{orientation} in the file; now bands x pixels (row-major)"},
        **checks,
    )


def from_tiff(source: Source, *, limit: int, **options: Any) -> Dataset:
    """Load a multi-page TIFF whose pages are the bands of a scene."""
    from nmfcore.data.images import _open

    image = _open(source)
    pages = getattr(image, "n_frames", 1)
    check_dense_size((image.size[1], image.size[0], pages), limit, repr(source.name))
    try:
        cube = np.stack([np.asarray(page) for page in ImageSequence.Iterator(image)], axis=-1)
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"{source.name!r} cannot be decoded ({exc}); the TIFF is corrupt: save it again") from None
    if cube.ndim != 3:
        raise DataError(f"{source.name!r} has colour pages; save one grey band per page")
    return from_cube(cube, origin=repr(source.name), **options)


_ENVI_TYPES = {1: "u1", 2: "i2", 3: "i4", 4: "f4", 5: "f8", 12: "u2", 13: "u4", 14: "i8", 15: "u8"}


def parse_envi_header(text: str) -> dict[str, str]:
    """Parse an ENVI ``.hdr`` into lower-case keys and raw string values (braces kept)."""
    if not text.lstrip().startswith("ENVI"):
        raise DataError("the .hdr file does not start with 'ENVI'; it is not an ENVI header")
    fields: dict[str, str] = {}
    for match in re.finditer(r"^\s*([^=\n]+?)\s*=\s*(\{[^}]*\}|[^\n]*)", text, flags=re.M):
        fields[match.group(1).strip().lower()] = match.group(2).strip()
    return fields


def _list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.strip("{}").split(",") if v.strip()]


def from_envi(header: str, data: bytes, *, name: str, limit: int, **options: Any) -> Dataset:
    """Load an ENVI scene from its header text and raw data bytes."""
    fields = parse_envi_header(header)
    try:
        rows, cols, bands = (int(fields[k]) for k in ("lines", "samples", "bands"))
        dtype = np.dtype(_ENVI_TYPES[int(fields["data type"])])
    except KeyError as exc:
        raise DataError(
            f"the ENVI header of {name!r} lacks or has an unsupported {exc}; it needs lines, "
            "samples, bands and a real 'data type' (1, 2, 3, 4, 5, 12, 13, 14 or 15)"
        ) from None
    dtype = dtype.newbyteorder(">" if fields.get("byte order", "0") == "1" else "<")
    interleave = fields.get("interleave", "bsq").lower()
    offset = int(fields.get("header offset", "0"))
    check_dense_size((rows, cols, bands), limit, repr(name))
    needed = offset + rows * cols * bands * dtype.itemsize
    if len(data) < needed:
        raise DataError(
            f"the ENVI data of {name!r} has {len(data)} bytes but the header describes "
            f"{needed}; the data file is truncated or belongs to another header"
        )
    flat = np.frombuffer(data, dtype=dtype, count=rows * cols * bands, offset=offset)
    layouts = {"bsq": ((bands, rows, cols), (1, 2, 0)), "bil": ((rows, bands, cols), (0, 2, 1)),
               "bip": ((rows, cols, bands), (0, 1, 2))}
    if interleave not in layouts:
        raise DataError(f"interleave={interleave!r} in {name!r} is not bsq, bil or bip")
    shape, axes = layouts[interleave]
    cube = flat.reshape(shape).transpose(axes).astype(dtype.newbyteorder("="))
    wavelengths = _list(fields.get("wavelength"))
    bbl = _list(fields.get("bbl"))
    options.setdefault("wavelengths", [float(w) for w in wavelengths] if wavelengths else None)
    return from_cube(cube, origin=repr(name), bad_band_list=[float(b) for b in bbl] if bbl else None,
                     **options)


