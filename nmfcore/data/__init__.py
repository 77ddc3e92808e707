"""Loading data files into a :class:`Dataset` (features x items), and the bundled samples.

``load`` reads images, document-term matrices and raw text, hyperspectral cubes,
single-cell AnnData and plain matrices; every bad file raises :class:`DataError`
with a message that says what is wrong and how to fix it. ``load_isolated`` does the
same in a child process with memory and time limits, for untrusted uploads.
"""

from nmfcore.data.dataset import KINDS, Dataset
from nmfcore.data.errors import DataError
from nmfcore.data.fingerprint import data_fingerprint
from nmfcore.data.isolated import load_isolated
from nmfcore.data.lazy import as_item_chunks, open_lazy, subsample_items
from nmfcore.data.limits import DEFAULT_MAX_BYTES
from nmfcore.data.loader import load
from nmfcore.data.samples import load_sample, sample_path, samples

__all__ = ["DEFAULT_MAX_BYTES", "KINDS", "DataError", "Dataset", "as_item_chunks", "data_fingerprint",
           "load", "load_isolated", "load_sample", "open_lazy", "sample_path", "samples", "subsample_items"]
