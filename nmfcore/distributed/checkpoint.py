"""Checkpoints of a chunked fit: W, the H blocks and the iteration, in a folder, resumable.

Layout of the folder (the workers write their own H blocks, so on a cluster it must be
a folder every worker and the client see)::

    checkpoint.json          what the fit was (its fingerprint), where it is, the loss history
    iter-000120/W.npy        the client's arrays (W, and HALS's extrapolation points)
    iter-000120/H/00000.npy  one file per H block, written by the worker that holds it

``checkpoint.json`` is replaced last, atomically, so it always names a complete
checkpoint; older ``iter-*`` folders are removed after it. A resumed fit reloads the
blocks, checks that the data and the fit's arguments are those of the checkpoint, and
continues with the same scale, sums and solver state, so it reaches the same factors
as a fit that was never interrupted.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from nmfcore.distributed.chunk_tasks import save_block

VERSION = 1
STATE = "checkpoint.json"
#: Relative difference of the data's sums above which a checkpoint is for other data.
SUM_TOLERANCE = 1e-9


def _folder_of(folder: Path, iteration: int) -> Path:
    return folder / f"iter-{iteration:06d}"


def exists(folder: str | Path) -> bool:
    """Whether ``folder`` holds a checkpoint."""
    return (Path(folder) / STATE).is_file()


def save(folder: str | Path, iteration: int, solver: Any, backend: Any, record: dict[str, Any]) -> dict[str, Any]:
    """Write the solver's state at ``iteration`` and make it the folder's checkpoint.

    Parameters
    ----------
    folder : path
    iteration : int
        Iterations behind the solver's current factors.
    solver : ChunkedMU or ChunkedHALS
        Its ``arrays()``, ``blocks()`` and ``meta()`` are written.
    backend : LocalBackend or ClusterBackend
        H blocks are written where they are (:func:`save_block` tasks on a cluster).
    record : dict
        JSON-able rest of the state: ``fingerprint``, ``losses``, ``times``, ``stats``;
        ``row_sums`` (an array) is written as a file.

    Returns
    -------
    dict
        The state written (its ``blocks`` name the files, see :func:`block_paths`).
    """
    folder = Path(folder)
    here = _folder_of(folder, iteration)
    if here.exists():
        shutil.rmtree(here)
    (here / "H").mkdir(parents=True)
    arrays = dict(solver.arrays())
    arrays["row_sums"] = record["row_sums"]
    names = {}
    for name, array in arrays.items():
        np.save(here / f"{name}.npy", array)
        names[name] = f"{here.name}/{name}.npy"
    blocks = {}
    for name, handles in solver.blocks().items():
        paths = [str(here / "H" / f"{name}-{b:05d}.npy") for b in range(len(handles))]
        backend.map_blocks(save_block, [handles, paths], ())
        blocks[name] = [str(Path(p).relative_to(folder)) for p in paths]
    state = {
        "version": VERSION, "iteration": iteration, "arrays": names, "blocks": blocks, "meta": solver.meta(),
        **{key: value for key, value in record.items() if key != "row_sums"},
    }
    partial = folder / (STATE + ".partial")
    partial.write_text(json.dumps(state, indent=1, default=_plain))
    partial.replace(folder / STATE)
    for old in folder.glob("iter-*"):
        if old != here and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return state


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-able")


def block_paths(folder: str | Path, state: dict[str, Any], name: str) -> list[str]:
    """Absolute paths of the checkpoint's blocks ``name``."""
    return [str(Path(folder) / p) for p in state["blocks"][name]]


def load(folder: str | Path, fingerprint: dict[str, Any]) -> dict[str, Any]:
    """The folder's checkpoint state, with its arrays loaded, after checking it is this fit's.

    Raises
    ------
    ValueError
        A checkpoint of another version, for other data (shape, chunks, sums) or with
        other arguments (rank, β, solver, penalties, dtype).
    """
    folder = Path(folder)
    state = json.loads((folder / STATE).read_text())
    if state.get("version") != VERSION:
        raise ValueError(f"the checkpoint in {str(folder)!r} has version {state.get('version')}, not {VERSION}; "
                         "start a new fit in another folder")
    saved = state["fingerprint"]
    for key, value in fingerprint.items():
        old = saved.get(key)
        same = (math.isclose(old, value, rel_tol=SUM_TOLERANCE) if key.startswith("x_") and old is not None
                else old == value)
        if not same:
            raise ValueError(
                f"the checkpoint in {str(folder)!r} is of another fit: its {key} is {old!r}, this fit's is "
                f"{value!r}; resume with the same data and arguments, or use another folder (resume=False)")
    state["arrays"] = {name: np.load(folder / path) for name, path in state["arrays"].items()}
    return state

