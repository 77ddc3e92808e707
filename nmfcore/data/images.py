"""Image collections: several image files, a ZIP of them, a ``.npy``/``.npz`` stack or a ``.mat``.

Every image becomes one column of X (its pixels in C order), converted to grey,
resized to a common size and scaled to [0, 1].
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageMode

from nmfcore.data.dataset import Dataset
from nmfcore.data.errors import MALFORMED, DataError, reading
from nmfcore.data.limits import IMAGE_RATIO, check_claimed_size, check_dense_size
from nmfcore.data.source import IMAGE_SUFFIXES, Source
from nmfcore.data.validate import finish, require_numeric

_INTEGER_RANGES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


#: What Pillow raises for a malformed image: OSError (truncated data, decoder errors,
#: unidentified formats), SyntaxError (broken chunk structure), TypeError (a TIFF page
#: without dimensions), ValueError, EOFError, struct.error and friends.
DECODE_ERRORS = MALFORMED + (SyntaxError, TypeError)


def open_image(source: Source) -> Image.Image:
    """Open an image file lazily (nothing decoded yet), refusing decompression bombs.

    Raises
    ------
    DataError
        An unreadable file, or one declaring more pixels than Pillow's bomb limit.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with reading(f"{source.label} is not a readable image",
                         "the file is truncated or corrupt: export it again as PNG or JPEG",
                         DECODE_ERRORS):
                return Image.open(source.open())
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise DataError(
            f"{source.label} declares an enormous pixel count (a decompression bomb); "
            "downscale the image before uploading"
        ) from None


def claimed_pixels(image: Image.Image, source: Source, limit: int, pages: int = 1) -> None:
    """Check an opened image's declared size against its file and the memory limit.

    Raises
    ------
    DataError
        More pixels than the file can encode (even at :data:`IMAGE_RATIO` compression),
        or more than ``limit`` bytes as float64.
    """
    width, height = image.size
    if image.mode == "1":
        stored = 1 / 8
    else:
        mode = ImageMode.getmode(image.mode)
        stored = len(mode.bands) * np.dtype(mode.typestr).itemsize
    check_claimed_size((height, width) + ((pages,) if pages > 1 else ()), what=source.label,
                       limit=limit, file_size=source.size, stored_itemsize=stored,
                       ratio=IMAGE_RATIO, names=False,
                       fix="the image is truncated or corrupt: export it again")


def _grey(image: Image.Image, name: str) -> np.ndarray:
    with reading(f"{name} cannot be decoded",
                 "the image is truncated or corrupt: export it again", DECODE_ERRORS):
        if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            pixels = np.asarray(image)
            if image.mode.startswith("I;16"):
                return pixels.astype(np.float64) / 65535.0
            return pixels.astype(np.float64)
        return np.asarray(image.convert("L"), dtype=np.float64) / 255.0


def _resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if pixels.shape == size:
        return pixels
    image = Image.fromarray(pixels.astype(np.float32), mode="F")
    return np.asarray(image.resize((size[1], size[0]), Image.Resampling.BILINEAR), dtype=np.float64)


def _check_size(size: Any) -> tuple[int, int] | None:
    if size is None:
        return None
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(isinstance(s, (int, np.integer)) and s > 0 for s in size)
    ):
        raise ValueError(f"size must be a (height, width) pair of positive integers, got {size!r}")
    return int(size[0]), int(size[1])


def _common_size(shapes: Sequence[tuple[int, int]], names: Sequence[str],
                 size: tuple[int, int] | None, resize: bool) -> tuple[tuple[int, int], str]:
    counts = Counter(shapes)
    target = size or counts.most_common(1)[0][0]
    if not resize:
        odd = [(n, s) for n, s in zip(names, shapes) if s != target]
        if odd:
            raise DataError(
                f"{len(odd)} of {len(shapes)} images differ from the size {target[0]} x "
                f"{target[1]} (height x width), e.g. {odd[0][0]!r} is {odd[0][1][0]} x "
                f"{odd[0][1][1]}; turn resizing on (resize=True) or crop them to one size"
            )
    note = f"resized to {target[0]} x {target[1]}"
    note += " (chosen by the user)" if size else " (the most common size)"
    return target, note


def from_files(sources: Sequence[Source], *, size: Any = None, resize: bool = True,
               labels: Sequence[str] | None = None, limit: int, origin: str,
               **checks: Any) -> Dataset:
    """Load image files as a pixels x images matrix.

    Parameters
    ----------
    sources : sequence of Source
        One image each (the first frame of a multi-frame file).
    size : (height, width), optional
        Common size; default the most common size among the images.
    resize : bool
        Resize images of another size; with False they are refused.
    labels : sequence of str, optional
        One label per image (e.g. its folder in a ZIP).
    limit : int
        Memory limit in bytes.
    origin : str
        Description of where the images came from, for messages and provenance.
    **checks
        ``nan`` and ``negative`` policies for :func:`finish`.

    Returns
    -------
    Dataset
        X of shape (h * w, n_images), ``image_shape`` (h, w).
    """
    size = _check_size(size)
    opened = [open_image(s) for s in sources]
    for image, source in zip(opened, sources):
        claimed_pixels(image, source, limit)
    shapes = [(im.size[1], im.size[0]) for im in opened]
    names = [s.name for s in sources]
    target, note = _common_size(shapes, names, size, resize)
    check_dense_size((target[0] * target[1], len(opened)), limit, origin)
    columns = [_resize(_grey(im, s.label), target).ravel() for im, s in zip(opened, sources)]
    X = np.stack(columns, axis=1)
    steps = ["converted to grey and scaled to [0, 1] (8-bit / 255, 16-bit / 65535)"]
    peak = float(X.max()) if np.isfinite(X).all() else 0.0
    if peak > 1:  # 32-bit integer or float images have no fixed range
        X /= peak
        steps.append(f"divided by the largest value {peak:g} (32-bit or float images)")
    if any(s != target for s in shapes):
        steps.append(note)
    return _images_dataset(X, target, names, labels, origin, steps, checks)


def from_array(array: np.ndarray, *, layout: str, image_shape: Any = None, order: str = "C",
               origin: str, **checks: Any) -> Dataset:
    """Load an image stack held in one array.

    Parameters
    ----------
    array : ndarray
        ``layout="nhw"``: shape (n, h, w) or (n, h, w, channels) (NumPy convention);
        ``layout="hwn"``: shape (h, w, n) (MATLAB convention);
        2-D arrays are pixels x images and need ``image_shape`` unless the pixel count
        is a perfect square.
    layout : {"nhw", "hwn"}
    image_shape : (h, w), optional
        For 2-D arrays.
    order : {"C", "F"}
        How the pixels of a 2-D array's column were flattened ("F" for MATLAB files).
    origin : str
        Description for messages and provenance.

    Returns
    -------
    Dataset
    """
    array = require_numeric(np.asarray(array), origin)
    if array.size == 0 or (array.ndim == 4 and array.shape[-1] == 0):
        raise DataError(f"{origin} has shape {array.shape}, which holds no pixels; there is nothing to factorise")
    scale = _INTEGER_RANGES.get(array.dtype)
    if array.ndim == 2:
        n_pixels = array.shape[0]
        shape = _check_size(image_shape)
        if shape is None:
            side = int(round(np.sqrt(n_pixels)))
            if side * side != n_pixels:
                raise DataError(
                    f"{origin} is a {array.shape[0]} x {array.shape[1]} matrix whose {n_pixels} "
                    "rows are not a square image; pass image_shape=(height, width), or "
                    "load it with kind='matrix'"
                )
            shape = (side, side)
        if shape[0] * shape[1] != n_pixels:
            raise DataError(
                f"image_shape={shape} has {shape[0] * shape[1]} pixels but {origin} has "
                f"{n_pixels} rows; give the (height, width) of one image"
            )
        if order == "F":
            stack = array.T.reshape(-1, shape[1], shape[0]).transpose(0, 2, 1)
        else:
            stack = array.T.reshape(-1, *shape)
    elif array.ndim in (3, 4):
        stack = np.moveaxis(array, 2, 0) if layout == "hwn" else array
        if stack.ndim == 4:
            stack = stack[..., :3].mean(axis=-1) if stack.shape[-1] >= 3 else stack[..., 0]
    else:
        raise DataError(
            f"{origin} has {array.ndim} dimension(s); an image stack needs 2 (pixels x "
            "images), 3 (images x height x width) or 4 (with colour channels)"
        )
    stack = stack.astype(np.float64)
    steps = []
    peak = float(stack.max()) if np.isfinite(stack).all() else 0.0
    if peak > 1:
        divisor = scale if scale is not None else peak
        stack /= divisor
        what = "the type's range" if scale is not None else "the maximum"
        steps.append(f"scaled to [0, 1] by dividing by {divisor:g} ({what})")
    n, h, w = stack.shape
    X = stack.reshape(n, h * w).T
    names = [f"image {i}" for i in range(n)]
    return _images_dataset(X, (h, w), names, None, origin, steps, checks)


def _images_dataset(X: np.ndarray, shape: tuple[int, int], names: Sequence[str],
                    labels: Sequence[str] | None, origin: str, steps: list[str],
                    checks: dict[str, Any]) -> Dataset:
    h, w = shape
    features = [f"pixel ({r}, {c})" for r in range(h) for c in range(w)]
    label_array = np.asarray(labels, dtype=object) if labels is not None else None
    return finish(
        X, "images", what=origin, feature_names=features, item_names=names, steps=steps,
        image_shape=(h, w), labels=label_array,
        label_options={"folder": label_array} if label_array is not None else {},
        meta={"orientation": "pixels (C order) x images"}, **checks,
    )


def is_image_name(name: str) -> bool:
    """True when ``name`` has an image extension."""
    return name.lower().endswith(IMAGE_SUFFIXES)
