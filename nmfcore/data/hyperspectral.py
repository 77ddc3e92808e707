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
from nmfcore.data.errors import DataError, reading
from nmfcore.data.limits import check_claimed_size
from nmfcore.data.source import Source
from nmfcore.data.validate import finish, require_numeric

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
    V = require_numeric(np.asarray(V), origin)
    bands, n_pixels = V.shape
    if V.size == 0:
        raise DataError(f"{origin} has {bands} bands and {n_pixels} pixels, so there is nothing to factorise")
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
    if max_value is not None and not (np.isfinite(max_value) and max_value > 0):
        raise DataError(
            f"{origin} gives the maximum value {max_value!r}, which is not a positive number; "
            "fix maxValue in the file, or pass max_value="
        )
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
        wl = np.asarray(wavelengths).ravel()
        if wl.dtype.kind not in "biuf":
            raise DataError(f"the wavelengths of {origin} are {wl.dtype} values, not numbers; fix them")
        wl = wl.astype(float)
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
    from nmfcore.data.images import DECODE_ERRORS, claimed_pixels, open_image

    image = open_image(source)
    name = repr(source.name)
    with reading(f"{name} cannot be decoded", "the TIFF is corrupt: save it again", DECODE_ERRORS):
        pages = image.n_frames
    claimed_pixels(image, source, limit, pages=pages)
    first = (image.size, image.mode)
    cube = None
    with reading(f"{name} cannot be decoded", "the TIFF is corrupt: save it again", DECODE_ERRORS):
        for band, page in enumerate(ImageSequence.Iterator(image)):
            if band >= pages:
                break
            if (page.size, page.mode) != first:
                raise DataError(
                    f"page {band} of {name} is {page.size[1]} x {page.size[0]} {page.mode} but page 0 "
                    f"is {first[0][1]} x {first[0][0]} {first[1]}; every band must have the same "
                    "size and type"
                )
            pixels = np.asarray(page)
            if cube is None:
                if pixels.ndim != 2:
                    raise DataError(f"{name} has colour pages; save one grey band per page")
                cube = np.empty(pixels.shape + (pages,), dtype=pixels.dtype)
            cube[..., band] = pixels
    return from_cube(cube, origin=name, **options)


_ENVI_TYPES = {1: "u1", 2: "i2", 3: "i4", 4: "f4", 5: "f8", 12: "u2", 13: "u4", 14: "i8", 15: "u8"}


def parse_envi_header(text: str, name: str = "the .hdr file") -> dict[str, str]:
    """Parse an ENVI ``.hdr`` into lower-case keys and raw string values (braces kept)."""
    if not text.lstrip().startswith("ENVI"):
        raise DataError(f"{name} does not start with 'ENVI'; it is not an ENVI header")
    fields: dict[str, str] = {}
    for match in re.finditer(r"^\s*([^=\n]+?)\s*=\s*(\{[^}]*\}|[^\n]*)", text, flags=re.M):
        fields[match.group(1).strip().lower()] = match.group(2).strip()
    return fields


def _list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.strip("{}").split(",") if v.strip()]


def _header_int(fields: dict[str, str], key: str, name: str, default: str | None = None) -> int:
    value = fields.get(key, default)
    if value is None:
        raise DataError(
            f"the ENVI header of {name!r} lacks {key!r}; it needs lines, samples, bands and a "
            "'data type' (1, 2, 3, 4, 5, 12, 13, 14 or 15)"
        )
    try:
        return int(value)
    except ValueError:
        raise DataError(
            f"the ENVI header of {name!r} has {key} = {value[:40]!r}, which is not a whole number; "
            "fix the header"
        ) from None


def from_envi(header: str, data: bytes, *, name: str, limit: int, **options: Any) -> Dataset:
    """Load an ENVI scene from its header text and raw data bytes."""
    fields = parse_envi_header(header, repr(name))
    rows, cols, bands = (_header_int(fields, k, name) for k in ("lines", "samples", "bands"))
    code = _header_int(fields, "data type", name)
    if code not in _ENVI_TYPES:
        raise DataError(
            f"the ENVI header of {name!r} has the unsupported data type {code}; it must be "
            "1, 2, 3, 4, 5, 12, 13, 14 or 15"
        )
    byte_order = _header_int(fields, "byte order", name, "0")
    if byte_order not in (0, 1):
        raise DataError(f"the ENVI header of {name!r} has byte order = {byte_order}; it must be 0 or 1")
    dtype = np.dtype(_ENVI_TYPES[code]).newbyteorder(">" if byte_order == 1 else "<")
    interleave = fields.get("interleave", "bsq").lower()
    layouts = {"bsq": ((bands, rows, cols), (1, 2, 0)), "bil": ((rows, bands, cols), (0, 2, 1)),
               "bip": ((rows, cols, bands), (0, 1, 2))}
    if interleave not in layouts:
        raise DataError(f"interleave={interleave!r} in {name!r} is not bsq, bil or bip")
    offset = _header_int(fields, "header offset", name, "0")
    if not 0 <= offset <= len(data):
        raise DataError(
            f"the ENVI header of {name!r} has header offset = {offset}, outside its "
            f"{len(data)}-byte data file; fix the header"
        )
    check_claimed_size((rows, cols, bands), what=f"the ENVI data of {name!r}", limit=limit,
                       file_size=len(data) - offset, stored_itemsize=dtype.itemsize,
                       fix="the data file is truncated or belongs to another header")
    flat = np.frombuffer(data, dtype=dtype, count=rows * cols * bands, offset=offset)
    shape, axes = layouts[interleave]
    cube = flat.reshape(shape).transpose(axes).astype(dtype.newbyteorder("="))
    options.setdefault("wavelengths", _numbers(fields, "wavelength", name))
    return from_cube(cube, origin=repr(name), bad_band_list=_numbers(fields, "bbl", name), **options)


def _numbers(fields: dict[str, str], key: str, name: str) -> list[float] | None:
    values = _list(fields.get(key))
    if not values:
        return None
    try:
        return [float(v) for v in values]
    except ValueError:
        raise DataError(f"the {key} list in the ENVI header of {name!r} holds text, not numbers; fix the header") from None
