"""Safe reading of ZIP archives: sizes and names are checked before anything is extracted."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from nmfcore.data.errors import MALFORMED, DataError, reading
from nmfcore.data.limits import MAX_RATIO, check_claimed_size
from nmfcore.data.source import Source

MAX_MEMBERS = 100_000


@dataclass(frozen=True)
class Member:
    """One regular file inside an archive.

    Attributes
    ----------
    name : str
        Path inside the archive, with forward slashes.
    size : int
        Uncompressed size in bytes, as declared by the archive.
    """

    name: str
    size: int

    @property
    def suffix(self) -> str:
        """Lower-case extension with the dot."""
        return PurePosixPath(self.name).suffix.lower()

    @property
    def folder(self) -> str:
        """Name of the folder holding the member ("" at the top level)."""
        return str(PurePosixPath(self.name).parent).strip(".")


def _is_unsafe(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or (len(name) > 1 and name[1] == ":")


def _is_junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return not parts or any(p.startswith(".") or p == "__MACOSX" for p in parts)


class SafeZip:
    """A ZIP archive whose member names and declared sizes have been checked.

    Parameters
    ----------
    source : Source
        The archive.
    limit : int
        Largest total uncompressed size accepted, in bytes.

    Raises
    ------
    DataError
        Corrupt or truncated archive, a path-traversal name, an encrypted member, or a
        declared uncompressed size above ``limit`` or more than ``MAX_RATIO`` times the
        archive's own size (a ZIP bomb); all found before anything is extracted.
    """

    def __init__(self, source: Source, limit: int):
        self.name = source.name
        with reading(f"{source.name!r} is not a readable ZIP archive",
                     "the file is truncated or corrupt: create the archive again and re-upload it",
                     MALFORMED + (NotImplementedError,)):
            self._zip = zipfile.ZipFile(source.open())
            infos = self._zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise DataError(
                f"{source.name!r} holds {len(infos)} entries, more than the {MAX_MEMBERS} accepted; "
                "split it into smaller archives"
            )
        unsafe = [i.filename for i in infos if _is_unsafe(i.filename)]
        if unsafe:
            raise DataError(
                f"{source.name!r} contains {len(unsafe)} entr{'y' if len(unsafe) == 1 else 'ies'} "
                f"with a path outside the archive, e.g. {unsafe[0]!r}; nothing was extracted. "
                "Re-create the archive from a folder with relative file names"
            )
        encrypted = [i.filename for i in infos if i.flag_bits & 0x1]
        if encrypted:
            raise DataError(
                f"{source.name!r} has encrypted entries, e.g. {encrypted[0]!r}; "
                "create the archive without a password"
            )
        check_claimed_size(
            (sum(i.file_size for i in infos),), what=repr(source.name), limit=limit, itemsize=1,
            names=False, file_size=source.size, ratio=MAX_RATIO, unit="bytes of uncompressed content",
            fix="this looks like a ZIP bomb, so nothing was extracted. Upload the files "
                "uncompressed or in smaller archives")
        self.members = [
            Member(i.filename, i.file_size)
            for i in infos
            if not i.filename.endswith("/") and not _is_junk(i.filename)
        ]
        if not self.members:
            raise DataError(f"{source.name!r} is an empty ZIP archive; add the data files to it")

    def read(self, member: Member) -> bytes:
        """Extract one member, never reading past its declared size."""
        with reading(f"{member.name!r} in {self.name!r} cannot be extracted",
                     "the archive is corrupt: create it again and re-upload it",
                     MALFORMED + (NotImplementedError,)):
            with self._zip.open(member.name) as fh:
                data = fh.read(member.size + 1)
        if len(data) > member.size:
            raise DataError(
                f"{member.name!r} in {self.name!r} is larger than its declared size; the archive "
                "is corrupt or malicious, so it was not extracted"
            )
        return data

    def source(self, member: Member) -> Source:
        """One member as a :class:`Source`."""
        return Source(PurePosixPath(member.name).name, data=self.read(member), within=self.name)

    def suffixes(self) -> set[str]:
        """The set of member extensions."""
        return {m.suffix for m in self.members}

    def with_suffix(self, *suffixes: str) -> list[Member]:
        """Members whose extension is one of ``suffixes``, sorted by name."""
        return sorted((m for m in self.members if m.suffix in suffixes), key=lambda m: m.name)

    def __iter__(self) -> Iterator[Member]:
        return iter(self.members)
