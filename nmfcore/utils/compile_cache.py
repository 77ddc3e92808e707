"""Where numba keeps nmfcore's compiled kernels, so that a process does not compile them again.

numba caches a ``cache=True`` kernel in the ``__pycache__`` folder beside its source
file. Installed where the process cannot write (a system install, a read-only
container image), that folder is unusable and numba falls back to its own per-user
folder, or, when there is no writable home either, refuses to cache and the kernel
module fails to import. :func:`cached_njit` makes the choice explicit, in this order:

1. ``NUMBA_CACHE_DIR`` when it is set and writable (the user's choice, numba's rule);
2. ``__pycache__`` beside the kernel's source file when it is writable;
3. the per-user folder :func:`user_cache_dir` (``$XDG_CACHE_HOME/nmfcore/numba``, or
   ``~/.cache/nmfcore/numba``);
4. a private folder in the temporary directory (``nmfcore-<uid>/numba``, mode 0700,
   used only when this user owns it and nobody else can write to it: numba's cache
   files are pickles);
5. nowhere: the kernels then compile in every process.

In cases 3 and 4 a cache left in the read-only ``__pycache__`` (filled when the package
was installed or its image built) is copied into the new folder, kernel by kernel.
numba picks a kernel's cache folder when the decorator runs, so the choice is made
once per source folder at import time. numba's cache entries are keyed by the
source file's path and content, so a copy of the package elsewhere (a non-editable
install) has its own entries: :mod:`nmfcore.warmup` fills them where the package is
installed.
"""

from __future__ import annotations

import functools
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCES = ("NUMBA_CACHE_DIR", "package", "per-user", "temporary", "none")


@dataclass(frozen=True)
class CacheLocation:
    """Where the kernels of one source folder are cached.

    Attributes
    ----------
    source : {"NUMBA_CACHE_DIR", "package", "per-user", "temporary", "none"}
        Which rule of the module docstring chose it.
    root : Path or None
        The folder: ``__pycache__`` beside the sources for "package", else the root
        under which numba makes one subfolder per source folder; None for "none".
    """

    source: str
    root: Path | None


def user_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The per-user folder: ``$XDG_CACHE_HOME/nmfcore/numba``, else ``~/.cache/nmfcore/numba``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".cache")
    return Path(base) / "nmfcore" / "numba"


def temporary_cache_dir() -> Path:
    """The last resort: ``<temporary directory>/nmfcore-<uid>/numba``."""
    return Path(tempfile.gettempdir()) / f"nmfcore-{os.getuid()}" / "numba"


def writable(folder: Path) -> bool:
    """Whether ``folder`` exists or can be made, and a file can be written in it (numba's own test)."""
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def _private(folder: Path) -> bool:
    """Make ``folder`` (and its parent) owned by this user and closed to others, or say it cannot be.

    A folder in a shared temporary directory could have been made by someone else,
    who could then plant cache files that this process would unpickle.
    """
    for path in (folder.parent, folder):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError:
            return False
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            return False
    return writable(folder)


def locate(source_dir: Path, environ: Mapping[str, str] | None = None) -> CacheLocation:
    """Choose where the kernels whose source files are in ``source_dir`` are cached.

    Parameters
    ----------
    source_dir : Path
        Folder of the kernels' source files.
    environ : mapping, optional
        Environment to read (``NUMBA_CACHE_DIR``, ``XDG_CACHE_HOME``, ``HOME``); default
        ``os.environ``.

    Returns
    -------
    CacheLocation
        The first usable rule of the module docstring.
    """
    env = os.environ if environ is None else environ
    if env.get("NUMBA_CACHE_DIR") and writable(Path(env["NUMBA_CACHE_DIR"])):
        return CacheLocation("NUMBA_CACHE_DIR", Path(env["NUMBA_CACHE_DIR"]))
    in_tree = Path(source_dir) / "__pycache__"
    if writable(in_tree):
        return CacheLocation("package", in_tree)
    per_user = user_cache_dir(env)
    if writable(per_user):
        return CacheLocation("per-user", per_user)
    temporary = temporary_cache_dir()
    if _private(temporary):
        return CacheLocation("temporary", temporary)
    return CacheLocation("none", None)


@functools.lru_cache(maxsize=None)
def _location(source_dir: str) -> CacheLocation:
    import numba

    # numba's setting, which a program may have changed since numba read the environment
    return locate(Path(source_dir), {**os.environ, "NUMBA_CACHE_DIR": numba.config.CACHE_DIR or ""})


def location_of(dispatcher: Any) -> CacheLocation:
    """Where a kernel made by :func:`cached_njit` is cached."""
    return _location(os.path.dirname(os.path.abspath(dispatcher.py_func.__code__.co_filename)))


def cached_njit(**options: Any) -> Callable[[Callable], Any]:
    """``numba.njit(cache=True, **options)``, cached where :func:`locate` says.

    numba's rules 1 and 2 are its own; for rules 3 and 4 ``numba.config.CACHE_DIR``
    is set while the decorator makes the kernel's cache, and restored after, so that
    other libraries' kernels keep numba's choice.
    """
    import numba

    if "cache" in options:
        raise TypeError("cached_njit always caches; do not pass cache")

    def decorate(func: Callable) -> Any:
        dispatcher = numba.njit(**options)(func)
        if dispatcher is func:  # NUMBA_DISABLE_JIT: plain Python, nothing to cache
            return func
        where = location_of(dispatcher)
        if where.source in ("NUMBA_CACHE_DIR", "package"):
            dispatcher.enable_caching()
        elif where.root is not None:
            previous = numba.config.CACHE_DIR
            numba.config.CACHE_DIR = str(where.root)
            try:
                dispatcher.enable_caching()
            finally:
                numba.config.CACHE_DIR = previous
            _seed_from_package(func, Path(dispatcher.stats.cache_path))
        return dispatcher

    return decorate


def cache_file_base(func: Callable) -> str:
    """The stem of numba's cache files of ``func``: ``<module file>.<qualname>-<line>.py<version>``."""
    code = func.__code__
    module = os.path.splitext(os.path.basename(code.co_filename))[0]
    qualname = func.__qualname__.replace("<", "").replace(">", "")
    version = f"{sys.version_info[0]}{sys.version_info[1]}{getattr(sys, 'abiflags', '')}"
    return f"{module}.{qualname}-{code.co_firstlineno}.py{version}"


def _seed_from_package(func: Callable, cache_path: Path) -> None:
    """Copy ``func``'s cache files from the read-only ``__pycache__`` beside its source, if any.

    A package installed and warmed up by one user (``python -m nmfcore.warmup`` as
    root, or when an image was built) and run where that folder is read-only has a
    full cache that numba cannot use: it reads only where it could also write. The
    copy, once, makes it the per-user cache's start. numba checks the files as ever
    (the source's stamp, the machine), so a stale copy is simply compiled over.
    """
    base = cache_file_base(func)
    packaged = Path(func.__code__.co_filename).resolve().parent / "__pycache__"
    index = packaged / f"{base}.nbi"
    if not index.is_file() or (cache_path / index.name).exists():
        return
    try:
        cache_path.mkdir(parents=True, exist_ok=True)
        for source in sorted(packaged.glob(f"{base}.*.nbc")) + [index]:  # the index last: it names the data
            # each file lands whole (a temporary file, then a rename): another process may be reading
            with tempfile.NamedTemporaryFile(dir=cache_path, delete=False) as handle:
                handle.write(source.read_bytes())
            os.replace(handle.name, cache_path / source.name)
    except OSError:
        return
