"""Parsing untrusted files in a separate process with memory and time limits.

The readers refuse every bad file the fuzz tests found, but they drive compiled
parsers (libhdf5, SciPy's MATLAB and MatrixMarket readers, Pillow) that no test can
prove safe. :func:`load_isolated` runs the parse in a child process: a crash, a hang or
a runaway allocation there ends that child, and the caller gets a :class:`DataError`
instead of losing the process (for the app, the server of every user).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from nmfcore.data.dataset import Dataset
from nmfcore.data.errors import DataError
from nmfcore.data.limits import human
from nmfcore.data.limits import max_bytes as resolve_limit
from nmfcore.data.source import Source, as_source

#: Address space a child may add beyond its start for the libraries a reader imports
#: lazily (anndata, scanpy, scikit-learn), on top of the working copies of the data.
IMPORT_HEADROOM = 1024**3
#: Working copies of the matrix a reader may hold at once (raw, converted, checked).
WORKING_COPIES = 4



def _context() -> Any:
    """forkserver where available: its children fork from a server that has imported the
    readers already (spawn's fresh interpreter costs seconds per file); both start
    clean, unlike fork, which would copy the caller's threads and state. As with any
    multiprocessing code, a script calling :func:`load_isolated` needs the
    ``if __name__ == "__main__":`` guard."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["nmfcore.data.loader", "anndata", "scanpy"])
    return context


def _default_parser(source: Any, kind: str | None = None, **options: Any) -> Dataset:
    from nmfcore.data.loader import load

    return load(source, kind, **options)


def load_isolated(source: Any, kind: str | None = None, *, max_bytes: int | None = None,
                  timeout: float = 120.0, memory: int | None = None,
                  parser: Callable[..., Dataset] | None = None, name: str | None = None,
                  **options: Any) -> Dataset:
    """Load a data file like :func:`nmfcore.load`, parsing it in a separate process.

    The child process gets a hard address-space limit (``RLIMIT_AS``) of ``memory``
    bytes above its size at start and ``timeout`` seconds; if it crashes, overruns or
    runs out of memory, this raises a :class:`DataError` that says so, and the calling
    process is untouched.

    The data come back through a temporary ``.npz`` of plain arrays, read with
    ``allow_pickle=False``, and a JSON description: nothing the child sends is
    unpickled, so even a child whose parser the file subverted cannot run code in the
    caller. The caller checks the result with :meth:`Dataset.check`.

    Parameters
    ----------
    source, kind, max_bytes, name, **options
        As for :func:`nmfcore.load`.
    timeout : float
        Seconds the parse may take.
    memory : int, optional
        Address space the child may add, in bytes; default
        ``WORKING_COPIES * max_bytes + IMPORT_HEADROOM``.
    parser : callable, optional
        A module-level function with :func:`nmfcore.load`'s signature, run in the child;
        default :func:`nmfcore.load` (tests pass one that crashes on purpose).

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        A bad file (the reader's own message), or a parse that crashed, ran out of time
        or of memory.
    ValueError
        An unknown kind or option, as :func:`nmfcore.load` raises it.
    RuntimeError
        Any other exception in the child: a bug, reported with the child's traceback.
    """
    limit = resolve_limit(max_bytes)
    memory = WORKING_COPIES * limit + IMPORT_HEADROOM if memory is None else int(memory)
    payload = [_payload(as_source(s)) for s in source] if isinstance(source, (list, tuple)) \
        else _payload(as_source(source, name))
    with tempfile.TemporaryDirectory(prefix="nmfcore-isolated-") as folder:
        out = Path(folder) / "dataset.npz"
        context = _context()
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(
            target=_child, name="nmfcore-parser", daemon=True,
            args=(sender, payload, kind, limit, options, parser or _default_parser, memory, str(out)))
        child.start()
        sender.close()
        try:
            finished = receiver.poll(timeout)
            report = _receive(receiver) if finished else None
        finally:
            receiver.close()
            if child.is_alive():
                child.kill()
            child.join()
        if report is None:
            raise DataError(_ended(None if not finished else child.exitcode, source_name(payload), timeout))
        status = report.get("status")
        if status == "ok":
            return _read(out).check()
        message = str(report.get("message", ""))
        if status == "data-error":
            raise DataError(message)
        if status == "memory":
            raise DataError(
                f"{source_name(payload)} could not be parsed safely: the parser needed more than "
                f"{human(memory)} of memory; lower max_bytes= or subsample the file"
            )
        if status == "value-error":
            raise ValueError(message)
        raise RuntimeError(f"the parser process failed on {source_name(payload)}:\n{report.get('traceback', message)}")


def source_name(payload: Any) -> str:
    """The file name(s) of a payload, for messages."""
    if isinstance(payload, list):
        return f"{len(payload)} files"
    return repr(payload[1])


def _payload(source: Source) -> tuple[str, str, Any]:
    """A picklable description of a source: its path, or its bytes."""
    if source.path is not None:
        return "path", source.name, str(source.path)
    return "bytes", source.name, source.data


def _receive(receiver: Any) -> dict[str, Any] | None:
    """The child's JSON report, or None when it died without one."""
    try:
        return json.loads(receiver.recv_bytes(1 << 20).decode("utf-8"))
    except (EOFError, OSError, ValueError):
        return None


def _ended(code: int | None, name: str, timeout: float) -> str:
    """Why the child gave no report: ``code`` is its exit code, None when it ran out of time."""
    if code is None:
        return (f"{name} could not be parsed safely: the parser did not finish within {timeout:g} s "
                "and was stopped; the file may be corrupt, or too large to read in that time")
    how = (f"ended with signal {-code} ({signal.Signals(-code).name})" if code < 0
           else f"exited with status {code} before reporting")
    return (f"{name} could not be parsed safely: the parser process {how}, which a corrupt or "
            "malicious file can cause; check the file, or save it again from the program that made it")


# ---------------------------------------------------------------- child side

def _child(sender: Any, payload: Any, kind: str | None, limit: int, options: dict[str, Any],
           parser: Callable[..., Dataset], memory: int, out: str) -> None:
    import resource

    try:
        with open("/proc/self/status") as fh:
            size = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (size + memory, size + memory))
    except (OSError, ValueError, StopIteration):
        pass  # no /proc (not Linux): the time limit still applies
    try:
        source = [_source(p) for p in payload] if isinstance(payload, list) else _source(payload)
        dataset = parser(source, kind, max_bytes=limit, **options)
        _write(dataset, out)
        report: dict[str, Any] = {"status": "ok"}
    except DataError as exc:
        report = {"status": "data-error", "message": str(exc)}
    except MemoryError:
        report = {"status": "memory"}
    except ValueError as exc:
        report = {"status": "value-error", "message": str(exc)}
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        report = {"status": "error", "message": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc()[-4000:]}
    sender.send_bytes(json.dumps(report).encode("utf-8"))
    sender.close()
    os._exit(0)  # no interpreter teardown: a corrupted heap could crash on the way out


def _source(payload: tuple[str, str, Any]) -> Source:
    kind, name, value = payload
    return Source(name, path=Path(value)) if kind == "path" else Source(name, data=value)


def _strings(values: Any) -> dict[str, np.ndarray]:
    """Strings as UTF-8 bytes and lengths (no pickled objects, no fixed-width padding)."""
    encoded = [str(v).encode("utf-8", "surrogatepass") for v in values]
    return {"bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8),
            "lengths": np.array([len(e) for e in encoded], dtype=np.int64)}


def _unstrings(data: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    raw = data.tobytes()
    ends = np.cumsum(lengths)
    return np.array([raw[e - n:e].decode("utf-8", "surrogatepass") for e, n in zip(ends, lengths)],
                    dtype=object)


def _vector(arrays: dict[str, np.ndarray], key: str, values: Any) -> str:
    """Store a per-item or per-feature vector; return how ("numbers" or "strings")."""
    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        arrays[key] = values
        return "numbers"
    for part, array in _strings(values).items():
        arrays[f"{key}.{part}"] = array
    return "strings"


def _write(dataset: Dataset, out: str) -> None:
    arrays: dict[str, np.ndarray] = {}
    X = dataset.X
    if sp.issparse(X):
        arrays.update({"X.data": X.data, "X.indices": X.indices, "X.indptr": X.indptr,
                       "X.shape": np.array(X.shape, dtype=np.int64)})
    else:
        arrays["X"] = X
    vectors = {"feature_names": _vector(arrays, "feature_names", dataset.feature_names),
               "item_names": _vector(arrays, "item_names", dataset.item_names)}
    if dataset.labels is not None:
        vectors["labels"] = _vector(arrays, "labels", dataset.labels)
    if dataset.wavelengths is not None:
        vectors["wavelengths"] = _vector(arrays, "wavelengths", dataset.wavelengths)
    options = [str(k) for k in dataset.label_options]
    for i, key in enumerate(options):
        vectors[f"option{i}"] = _vector(arrays, f"option{i}", dataset.label_options[key])
    description = {"kind": dataset.kind, "sparse": sp.issparse(X), "vectors": vectors,
                   "label_options": options, "image_shape": dataset.image_shape,
                   "spatial_shape": dataset.spatial_shape, "meta": dataset.meta}
    arrays["description"] = np.frombuffer(json.dumps(description, default=str).encode("utf-8"), dtype=np.uint8)
    np.savez(out, **arrays)


def _read(out: Path) -> Dataset:
    with np.load(out, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    description = json.loads(arrays["description"].tobytes().decode("utf-8"))

    def vector(key: str) -> np.ndarray | None:
        how = description["vectors"].get(key)
        if how is None:
            return None
        return arrays[key] if how == "numbers" else _unstrings(arrays[f"{key}.bytes"], arrays[f"{key}.lengths"])

    if description["sparse"]:
        from nmfcore.data.sparse import checked_csr

        X = checked_csr(arrays["X.data"], arrays["X.indices"], arrays["X.indptr"], arrays["X.shape"],
                        what="the parsed matrix")
    else:
        X = arrays["X"]
    shape = {k: tuple(description[k]) if description[k] is not None else None
             for k in ("image_shape", "spatial_shape")}
    return Dataset(
        X=X, kind=description["kind"], feature_names=vector("feature_names"),
        item_names=vector("item_names"), labels=vector("labels"), wavelengths=vector("wavelengths"),
        label_options={key: vector(f"option{i}") for i, key in enumerate(description["label_options"])},
        meta=description["meta"], **shape)
