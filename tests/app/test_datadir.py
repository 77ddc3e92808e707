"""The operator's data folder (nmfcore.app.datadir): listing supported files and resolving
a chosen name without ever leaving the folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nmfcore.app.datadir import (ENV_VARIABLE, DataFile, check_in_memory, data_dir, list_files, opens_lazily,
                                 resolve)


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """(root, outside): a data folder with nested files and links, and a folder beside it."""
    root, outside = tmp_path / "data", tmp_path / "outside"
    (root / "atlas" / "run1").mkdir(parents=True)
    outside.mkdir()
    (root / "pbmc.h5ad").write_bytes(b"x" * 10)
    (root / "atlas" / "run1" / "cells.h5").write_bytes(b"y" * 20)
    (root / "atlas" / "notes.docx").write_bytes(b"not data")
    (root / "store.zarr").mkdir()
    (root / "store.zarr" / "zarr.json").write_bytes(b"{}" * 3)
    (root / ".hidden.csv").write_text("1,2\n")
    (outside / "secret.csv").write_text("1,2\n")
    (outside / "deep").mkdir()
    (outside / "deep" / "more.npy").write_bytes(b"z")
    os.symlink(outside / "secret.csv", root / "leak.csv")
    os.symlink(outside / "deep", root / "leakdir")
    os.symlink(root / "pbmc.h5ad", root / "atlas" / "alias.h5ad")
    return root, outside


def test_data_dir_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VARIABLE, raising=False)
    assert data_dir() is None
    monkeypatch.setenv(ENV_VARIABLE, str(tmp_path))
    assert data_dir() == tmp_path.resolve()
    monkeypatch.setenv(ENV_VARIABLE, str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="not an existing folder"):
        data_dir()


def test_list_files_shows_supported_files_inside_only(tree):
    root, _ = tree
    files = list_files(root)
    assert [f.path for f in files] == ["atlas/alias.h5ad", "atlas/run1/cells.h5", "pbmc.h5ad", "store.zarr"]
    by_path = {f.path: f for f in files}
    assert by_path["pbmc.h5ad"] == DataFile("pbmc.h5ad", "pbmc.h5ad", 10, "scrna", True)
    assert by_path["atlas/run1/cells.h5"].size == 20
    assert by_path["store.zarr"].size == 6 and by_path["store.zarr"].lazy


def test_resolve_accepts_nested_files_and_links_inside(tree):
    root, _ = tree
    assert resolve(root, "atlas/run1/cells.h5") == (root / "atlas" / "run1" / "cells.h5").resolve()
    assert resolve(root, "atlas/alias.h5ad") == (root / "pbmc.h5ad").resolve()
    assert resolve(root, "store.zarr") == (root / "store.zarr").resolve()


@pytest.mark.parametrize("relative, message", [
    ("../x", r"'\.\.' component"),
    ("atlas/../../outside/secret.csv", r"'\.\.' component"),
    ("/etc/passwd", "absolute"),
    ("leak.csv", "outside the data folder"),
    ("leakdir/more.npy", "outside the data folder"),
    ("missing.h5ad", "does not exist"),
    ("", "not a path"),
    ("a\x00b", "NUL"),
])
def test_resolve_refuses_every_way_out(tree, relative, message):
    root, _ = tree
    with pytest.raises(ValueError, match=message):
        resolve(root, relative)


def test_which_files_open_lazily_and_the_in_memory_cap(tree):
    root, _ = tree
    assert [f.path for f in list_files(root) if not f.lazy] == []
    assert opens_lazily(root / "store.zarr") and opens_lazily("a/B.H5AD") and opens_lazily("cells.h5")
    assert not opens_lazily("m.csv") and not opens_lazily("x.npz")
    check_in_memory(root / "pbmc.h5ad", 10)
    with pytest.raises(ValueError, match=r"'pbmc.h5ad' is 10.0 B, more than the 9.0 B .* save it as .h5ad or zarr"):
        check_in_memory(root / "pbmc.h5ad", 9)
    check_in_memory(root / "store.zarr", 6)  # a zarr folder counts every file in it
    with pytest.raises(ValueError, match="is 6.0 B"):
        check_in_memory(root / "store.zarr", 5)
