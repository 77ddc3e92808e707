"""The fuzz corpus: one valid file per format (:mod:`_fuzz_files`) and the mutators that
apply to it; :func:`make_case` derives case ``index`` of a format with
``random.Random(seed_of(format, index))``, so every run and machine builds the same files.

Reproduce one case from the command line::

    python tests/data/_fuzz_cases.py h5ad 17 /tmp/case     # writes the files, prints the call
"""

from __future__ import annotations

import random
import shutil
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _container_mutations import hdf5_edit, inner_image, inner_npy, mat_v5_edit, zip_members  # noqa: E402
from _fuzz_files import BUILDERS, Base, Case, rebuild_mat, rebuild_npz  # noqa: E402
from _mutations import (  # noqa: E402
    GENERIC, SUFFIXES, duplicate_chunk, flip, inflate, jpeg_edit, npy_header, png_edit, tiff_edit, truncate,
    zero_block,
)
from _text_mutations import envi_edit, mtx_edit, table_edit  # noqa: E402

Mutator = Callable[[dict[str, bytes], Base, random.Random, Path], tuple[dict[str, bytes], str]]


def _on_main(function: Callable[..., tuple[bytes, str]], *extra: str) -> Mutator:
    """Apply a bytes -> bytes mutator to the main file (the first, for a list)."""
    def mutate(files: dict[str, bytes], base: Base, rng: random.Random, scratch: Path) -> tuple[dict[str, bytes], str]:
        name = base.main if isinstance(base.main, str) else base.main[0]
        args = {"numbers": (base.numbers,), "scratch": (scratch,)}
        data, what = function(files[name], rng, *[a for key in extra for a in args[key]])
        return {**files, name: data}, what

    return mutate


def _zip_mutator(inner: Callable[[str, bytes, random.Random], tuple[bytes, str]] | None) -> Mutator:
    return _on_main(lambda data, rng: zip_members(data, rng, inner))


def _replace_main(function: Callable[[random.Random], tuple[bytes, str]]) -> Mutator:
    def mutate(files: dict[str, bytes], base: Base, rng: random.Random, scratch: Path) -> tuple[dict[str, bytes], str]:
        data, what = function(rng)
        return {**files, str(base.main): data}, what

    return mutate


def _envi_mutator(files: dict[str, bytes], base: Base, rng: random.Random, scratch: Path) -> tuple[dict[str, bytes], str]:
    return envi_edit(files, rng)


def _vocabulary_mutator(files: dict[str, bytes], base: Base, rng: random.Random, scratch: Path) -> tuple[dict[str, bytes], str]:
    data, what = rng.choice((truncate, flip, zero_block, duplicate_chunk))(files["vocabulary.txt"], rng)
    return {**files, "vocabulary.txt": data}, f"vocabulary: {what}"


_INFLATE = _on_main(inflate, "numbers")
_HDF5 = _on_main(hdf5_edit, "scratch")

#: format -> the format-aware mutators of its valid file (drawn for about half the cases)
MUTATORS: dict[str, tuple[Mutator, ...]] = {
    "npy-images": (_on_main(npy_header), _on_main(npy_header), _INFLATE),
    "npz-cube": (_zip_mutator(inner_npy), _zip_mutator(inner_npy), _replace_main(rebuild_npz), _INFLATE),
    "npz-sparse": (_zip_mutator(inner_npy), _zip_mutator(inner_npy), _zip_mutator(inner_npy), _INFLATE),
    "mat-v5": (_on_main(mat_v5_edit, "numbers"), _replace_main(rebuild_mat), _INFLATE),
    "mat-v5-sparse": (_on_main(mat_v5_edit, "numbers"), _on_main(mat_v5_edit, "numbers"), _INFLATE),
    "mat-v73": (_HDF5, _HDF5, _HDF5, _INFLATE),
    "h5ad": (_HDF5, _HDF5, _HDF5, _INFLATE),
    "10x-h5": (_HDF5, _HDF5, _HDF5, _INFLATE),
    "mtx": (_on_main(mtx_edit), _on_main(mtx_edit), _on_main(mtx_edit), _vocabulary_mutator),
    "csv": (_on_main(table_edit),),
    "tsv": (_on_main(table_edit),),
    "png": (_on_main(png_edit),),
    "jpeg": (_on_main(jpeg_edit),),
    "tiff": (_on_main(tiff_edit), _on_main(tiff_edit), _INFLATE),
    "zip-images": (_zip_mutator(inner_image),),
    "zip-texts": (_zip_mutator(None),),
    "envi": (_envi_mutator,),
}
FORMATS = tuple(BUILDERS)
assert set(MUTATORS) == set(FORMATS)


def build_bases(folder: Path) -> dict[str, Base]:
    """One valid file (or set of files) per format, written under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return {fmt: build(folder) for fmt, build in BUILDERS.items()}


def seed_of(fmt: str, index: int) -> int:
    """The seed of case ``index`` of ``fmt``: the same in every run and on every machine."""
    return zlib.crc32(fmt.encode()) * 100_000 + index


def write_case(folder: Path, fmt: str, base: Base, files: dict[str, bytes], main: str | list[str],
               index: int, seed: int, mutation: str) -> Case:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    paths = str(folder / main) if isinstance(main, str) else [str(folder / m) for m in main]
    options = {key: str(folder / value) for key, value in base.options.items()}
    return Case(fmt, index, seed, mutation, paths, options, sorted(files))


def make_case(fmt: str, index: int, bases: dict[str, Base], folder: Path) -> Case:
    """Derive case ``index`` of ``fmt`` from its valid file, writing it under ``folder``."""
    seed = seed_of(fmt, index)
    rng = random.Random(seed)
    base = bases[fmt]
    files = dict(base.files)
    main = base.main
    scratch = folder / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    steps = []
    for _ in range(2 if rng.random() < 0.15 else 1):
        draw = rng.random()
        if draw < 0.05:
            suffix = rng.choice(SUFFIXES)
            first = main if isinstance(main, str) else main[0]
            renamed = first.rsplit(".", 1)[0] + suffix
            files[renamed] = files.pop(first)
            main = renamed if isinstance(main, str) else [renamed, *main[1:]]
            steps.append(f"renamed to {renamed}")
        elif draw < 0.55:
            mutator = rng.choice(MUTATORS[fmt])
            try:
                files, what = mutator(files, Base(files, main, base.options, base.numbers), rng, scratch)
            except Exception:  # noqa: BLE001 - a format-aware edit of an already broken file
                target = main if isinstance(main, str) else main[0]
                files[target], what = flip(files[target], rng)
            steps.append(what)
        else:
            target = main if isinstance(main, str) else main[0]
            if len(files) > 1 and isinstance(main, str) and rng.random() < 0.2:
                target = rng.choice(sorted(files))
            files[target], what = rng.choice(GENERIC)(files[target], rng)
            steps.append(f"{target}: {what}")
    return write_case(folder / fmt / str(index), fmt, base, files, main, index, seed, "; ".join(steps))


def base_case(fmt: str, base: Base, folder: Path) -> Case:
    """The unmutated file of ``fmt`` as a case (for warm-up and the sanity check)."""
    return write_case(folder / fmt / "base", fmt, base, base.files, base.main, -1, 0, "none")


if __name__ == "__main__":
    import tempfile

    fmt, index, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    with tempfile.TemporaryDirectory() as scratch_folder:
        case = make_case(fmt, index, build_bases(Path(scratch_folder)), out)
    shutil.rmtree(out / "scratch", ignore_errors=True)
    print(f"# {case.mutation}\nnmfcore.load({case.paths!r}, max_bytes=64 * 2**20, **{case.options!r})")
