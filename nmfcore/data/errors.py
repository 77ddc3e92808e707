"""The one exception that data loaders raise for a bad file, and the boundary around parsers."""

from __future__ import annotations

import contextlib
import struct
import zipfile
import zlib
from collections.abc import Iterator


class DataError(ValueError):
    """A file or upload that cannot become a data matrix.

    The message always says what is wrong and what to do about it, so that the
    app can show it to the user verbatim.
    """


#: What the parsers we call (NumPy, SciPy, zipfile, gzip, zlib) raise for malformed
#: input: truncated streams, bad numbers, missing members, short reads.
MALFORMED: tuple[type[BaseException], ...] = (
    OSError, EOFError, ValueError, KeyError, IndexError, OverflowError, struct.error,
    zlib.error, zipfile.BadZipFile,
)


@contextlib.contextmanager
def reading(problem: str, fix: str,
            errors: tuple[type[BaseException], ...] = MALFORMED) -> Iterator[None]:
    """Turn a third-party parser's failure on a malformed file into a :class:`DataError`.

    Wrap only the call into the library (``np.load``, ``scipy.io.mmread``, ``h5py``
    reads, ``anndata.read_h5ad``...), never our own code, so that a bug of ours still
    surfaces as itself.

    Parameters
    ----------
    problem : str
        What failed, e.g. ``"'x.mtx' cannot be read as MatrixMarket"``.
    fix : str
        What the user can do, e.g. ``"write it again with scipy.io.mmwrite"``.
    errors : tuple of exception types
        What the library raises for a malformed file; default :data:`MALFORMED`.

    Raises
    ------
    DataError
        ``"<problem> (<exception type>: <its first line>); <fix>"``.
    """
    try:
        yield
    except DataError:
        raise
    except errors as exc:
        detail = (str(exc).strip().splitlines() or [""])[0][:200]
        raise DataError(f"{problem} ({type(exc).__name__}: {detail}); {fix}") from exc
