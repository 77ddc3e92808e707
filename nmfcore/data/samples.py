"""The small real data sets bundled in ``sample_data/`` (the app's defaults)."""

from __future__ import annotations

import site
import sysconfig
from pathlib import Path

import numpy as np

from nmfcore.data.dataset import Dataset
from nmfcore.data.errors import DataError
from nmfcore.data.loader import load

#: Where pip puts ``sample_data/`` (pyproject's data-files), below an environment's or a user's prefix.
INSTALLED_SAMPLES = Path("share") / "nmfcore" / "sample_data"


def _sample_dir() -> Path:
    """``sample_data/`` beside the package in a checkout, else where the package was installed with it."""
    checkout = Path(__file__).resolve().parents[2] / "sample_data"
    installed = [Path(prefix) / INSTALLED_SAMPLES for prefix in (sysconfig.get_path("data"), site.getuserbase())]
    return next((folder for folder in [checkout, *installed] if folder.is_dir()), checkout)


SAMPLE_DIR = _sample_dir()
SAMPLES = {
    "faces": ("faces.npz", "images"),
    "text": ("text.npz", "text"),
    "hyperspectral": ("hyperspectral.npz", "hyperspectral"),
    "scrna": ("scrna.h5ad", "scrna"),
}

# how the app names each sample: what it is, then where it comes from and its size
SAMPLE_NAMES = {
    "faces": ("Faces", "LFW, 100 images of 25 × 25 pixels"),
    "text": ("News articles", "Reuters, 395 documents × 4258 terms"),
    "hyperspectral": ("Hyperspectral scene", "simulated, 40 × 40 pixels × 120 bands"),
    "scrna": ("Blood cells", "PBMC single-cell RNA, 700 cells × 765 genes"),
}


def samples() -> list[str]:
    """Names of the bundled samples: ["faces", "text", "hyperspectral", "scrna"]."""
    return list(SAMPLES)


def sample_title(name: str) -> str:
    """How a person would name a bundled sample, with its size, e.g. ``"Faces (LFW, 100 images of 25 × 25 pixels)"``.

    The two parts are ``SAMPLE_NAMES[name]``: what the data are, and where they come
    from with their size.

    Raises
    ------
    ValueError
        Unknown name.
    """
    if name not in SAMPLE_NAMES:
        raise ValueError(f"sample {name!r} does not exist; choose one of {samples()}")
    what, details = SAMPLE_NAMES[name]
    return f"{what} ({details})"


def sample_path(name: str) -> Path:
    """Location of a bundled sample's file.

    Raises
    ------
    ValueError
        Unknown name.
    DataError
        The file is missing (rebuild it with ``python scripts/make_sample_data.py``).
    """
    if name not in SAMPLES:
        raise ValueError(f"sample {name!r} does not exist; choose one of {samples()}")
    path = SAMPLE_DIR / SAMPLES[name][0]
    if not path.exists():
        raise DataError(
            f"the sample file {path} is missing; rebuild the samples with "
            "`python scripts/make_sample_data.py`"
        )
    return path


def load_sample(name: str) -> Dataset:
    """Load a bundled sample as a :class:`Dataset`.

    Parameters
    ----------
    name : {"faces", "text", "hyperspectral", "scrna"}

    Returns
    -------
    Dataset
        "faces": 625 pixels x 100 LFW faces (25 x 25); "text": terms x 395 Reuters
        articles; "hyperspectral": bands x pixels of a simulated scene, with the true
        endmembers and abundances in ``meta["ground_truth"]`` ({"W": (bands, r),
        "H": (r, pixels)}); "scrna": 765 genes x 700 PBMC cells labelled by ``bulk_labels``.
    """
    path = sample_path(name)
    dataset = load(path, kind=SAMPLES[name][1])
    dataset.meta["sample"] = name
    if name == "hyperspectral":
        with np.load(path, allow_pickle=False) as arrays:
            dataset.meta["ground_truth"] = {"W": arrays["W_true"], "H": arrays["H_true"]}
    return dataset
