"""Where numba's cache of nmfcore's kernels goes, and that it works when the package folder is read-only."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numba
import pytest

from nmfcore.utils import compile_cache
from nmfcore.utils.compile_cache import cached_njit, locate, user_cache_dir

PACKAGE = Path(compile_cache.__file__).resolve().parents[1]


def _blocked(path: Path) -> Path:
    """A folder path that cannot be made, even by root: a file stands where its parent would be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a folder")
    return path / "sub"


def test_package_folder_when_it_is_writable(tmp_path):
    where = locate(tmp_path / "pkg", {})
    assert where.source == "package"
    assert where.root == tmp_path / "pkg" / "__pycache__"


def test_numba_cache_dir_comes_first_when_set(tmp_path):
    where = locate(tmp_path / "pkg", {"NUMBA_CACHE_DIR": str(tmp_path / "numba")})
    assert (where.source, where.root) == ("NUMBA_CACHE_DIR", tmp_path / "numba")


def test_unwritable_package_falls_back_to_the_per_user_folder(tmp_path):
    package = _blocked(tmp_path / "site" / "nmfcore")
    xdg = locate(package, {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")})
    assert (xdg.source, xdg.root) == ("per-user", tmp_path / "xdg" / "nmfcore" / "numba")
    home = locate(package, {"HOME": str(tmp_path / "home")})
    assert (home.source, home.root) == ("per-user", tmp_path / "home" / ".cache" / "nmfcore" / "numba")
    assert home.root == user_cache_dir({"HOME": str(tmp_path / "home")})
    # an unwritable NUMBA_CACHE_DIR is skipped like the package folder
    unusable = locate(package, {"NUMBA_CACHE_DIR": str(_blocked(tmp_path / "n")), "HOME": str(tmp_path / "home")})
    assert unusable.source == "per-user"


def test_no_writable_home_falls_back_to_a_private_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    environ = {"HOME": str(_blocked(tmp_path / "home"))}
    where = locate(_blocked(tmp_path / "site" / "nmfcore"), environ)
    assert where.source == "temporary"
    assert where.root == tmp_path / "tmp" / f"nmfcore-{os.getuid()}" / "numba"
    for folder in (where.root, where.root.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_temporary_folder_others_can_write_is_refused(tmp_path, monkeypatch):
    # numba's cache files are pickles: a folder someone else could fill must not be read
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    shared = tmp_path / "tmp" / f"nmfcore-{os.getuid()}"
    shared.mkdir(parents=True)
    shared.chmod(0o777)
    environ = {"HOME": str(_blocked(tmp_path / "home"))}
    where = locate(_blocked(tmp_path / "site" / "nmfcore"), environ)
    assert (where.source, where.root) == ("none", None)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give the folder to another user")
def test_a_temporary_folder_owned_by_someone_else_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    theirs = tmp_path / "tmp" / f"nmfcore-{os.getuid()}"
    theirs.mkdir(parents=True, mode=0o700)
    os.chown(theirs, 65534, 65534)
    where = locate(_blocked(tmp_path / "site" / "nmfcore"), {"HOME": str(_blocked(tmp_path / "home"))})
    assert where.source == "none"


def test_cached_njit_always_caches():
    with pytest.raises(TypeError, match="always caches"):
        cached_njit(cache=False)


def test_the_kernels_of_this_checkout_are_cached_where_locate_says():
    from nmfcore.classic._kernels import extrapolate

    where = compile_cache.location_of(extrapolate)
    assert where == locate(PACKAGE / "classic", {**os.environ, "NUMBA_CACHE_DIR": numba.config.CACHE_DIR or ""})
    assert where.source != "none"


# -- a read-only install, for real ------------------------------------------------

_CHILD = """
import json, numba, numpy as np
from nmfcore.classic._kernels import extrapolate
from nmfcore.utils.compile_cache import location_of
a = np.ones((3, 4)); out = np.empty_like(a)
extrapolate(a, a, 0.5, out)
where = location_of(extrapolate)
print(json.dumps({"source": where.source, "root": str(where.root), "cache_dir": numba.config.CACHE_DIR,
                  "hits": sum(extrapolate.stats.cache_hits.values()),
                  "misses": sum(extrapolate.stats.cache_misses.values()),
                  "file": extrapolate.py_func.__code__.co_filename}))
"""


def _without_privileges() -> list[str]:
    """A command prefix under which this user cannot write where the permission bits say no.

    Root writes anywhere (CAP_DAC_OVERRIDE): as root the children run with every
    capability dropped (util-linux's setpriv), which leaves root's uid, and so read
    access to this Python (often under /root), but honours a folder's missing write bit.
    """
    if os.getuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux): cannot make a folder read-only for root")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all"]


def _set_writable(root: Path, writable: bool) -> None:
    for folder, dirs, files in os.walk(root):
        for path in [folder] + [os.path.join(folder, f) for f in files]:
            mode = os.stat(path).st_mode
            os.chmod(path, mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _copy_package(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A copy of nmfcore without caches, an empty home, and the environment of children that use them."""
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "nmfcore", ignore=shutil.ignore_patterns("__pycache__"))
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "PYTHONPATH")}
    env.update(HOME=str(home), PYTHONPATH=str(site), PYTHONDONTWRITEBYTECODE="1")
    return site, home, env


def _kernel_runs(site: Path, env: dict[str, str], prefix: list[str], count: int) -> list[dict]:
    """``count`` fresh processes calling one kernel of the copy, with the copy read-only to them."""
    _set_writable(site, False)
    try:
        assert prefix or not os.access(site / "nmfcore" / "classic", os.W_OK)
        runs = []
        for _ in range(count):
            reply = subprocess.run(prefix + [sys.executable, "-c", _CHILD], cwd=site, env=env,
                                   capture_output=True, text=True, timeout=300)
            assert reply.returncode == 0, reply.stderr
            runs.append(json.loads(reply.stdout.strip().splitlines()[-1]))
        # the copy really was unwritable to the children
        probe = subprocess.run(prefix + ["sh", "-c", f"touch {site / 'nmfcore' / 'probe'}"],
                               capture_output=True, timeout=30)
        assert probe.returncode != 0
    finally:
        _set_writable(site, True)
    return runs


def test_a_second_process_does_not_compile_again_when_the_package_folder_is_read_only(tmp_path):
    prefix = _without_privileges()
    site, home, env = _copy_package(tmp_path)
    first, second = _kernel_runs(site, env, prefix, 2)
    assert first["file"].startswith(str(site))
    per_user = home / ".cache" / "nmfcore" / "numba"
    assert first["source"] == second["source"] == "per-user"
    assert first["root"] == str(per_user)
    assert (first["misses"], first["hits"]) == (1, 0)
    assert (second["misses"], second["hits"]) == (0, 1)  # loaded, not compiled again
    assert first["cache_dir"] == ""  # numba's own setting is left as it was, for other libraries
    assert list(per_user.rglob("_kernels.extrapolate-*.nbi"))
    assert not list((site / "nmfcore").rglob("*.nbi"))


def test_a_cache_made_at_install_serves_a_read_only_package_from_the_first_process(tmp_path):
    # e.g. `pip install` and `python -m nmfcore.warmup` as root, or when an image is built
    prefix = _without_privileges()
    site, home, env = _copy_package(tmp_path)
    reply = subprocess.run([sys.executable, "-c", _CHILD], cwd=site, env=env, capture_output=True,
                           text=True, timeout=300)
    assert reply.returncode == 0, reply.stderr
    installed = json.loads(reply.stdout.strip().splitlines()[-1])
    assert (installed["source"], installed["misses"]) == ("package", 1)
    (first,) = _kernel_runs(site, env, prefix, 1)
    assert first["source"] == "per-user"
    assert (first["misses"], first["hits"]) == (0, 1)  # the installed cache, copied to the per-user folder
    assert list((home / ".cache" / "nmfcore" / "numba").rglob("_kernels.extrapolate-*.nbi"))


def test_cache_file_names_are_numbas():
    from nmfcore.classic._kernels import extrapolate

    base = compile_cache.cache_file_base(extrapolate.py_func)
    assert extrapolate._cache._cache_file._index_name == base + ".nbi"
