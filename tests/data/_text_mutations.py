"""Format-aware mutations of text formats: MatrixMarket banners, size lines and entries;
CSV/TSV cells, rows, delimiters and encodings; ENVI header fields and lists."""

from __future__ import annotations

import random

from _mutations import bad_number, duplicate_chunk, truncate, zero_block

def mtx_edit(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Edit the banner, the size line or entry lines of a MatrixMarket file."""
    lines = data.decode("latin1").split("\n")
    size_at = next((k for k, line in enumerate(lines) if line and not line.startswith("%")), 1)
    op = rng.choice(("size", "size", "size", "entry", "entry", "banner", "lines"))
    if op == "size":
        numbers = lines[size_at].split()
        k = rng.randrange(len(numbers))
        numbers[k] = rng.choice((str(bad_number(int(numbers[k]), rng)), "4000000001", "1e3", "3.5", "abc", "",
                                 "99999999999999999999999", "-5"))
        if rng.random() < 0.2:
            numbers.append("7") if rng.random() < 0.5 else numbers.pop()
        lines[size_at] = " ".join(numbers)
        what = f"size line -> {lines[size_at]!r}"
    elif op == "entry" and size_at + 1 < len(lines) - 1:
        k = rng.randrange(size_at + 1, len(lines) - 1)
        fields = lines[k].split()
        j = rng.randrange(len(fields)) if fields else 0
        bad = rng.choice(("0", "-1", "51", "41", "999999999", "4000000001", "nan", "inf", "-3", "1e400", "x", ""))
        if fields:
            fields[j] = bad
        lines[k] = " ".join(fields)
        what = f"entry line {k} -> {lines[k]!r}"
    elif op == "banner":
        words = lines[0].split()
        k = rng.randrange(1, len(words))
        words[k] = rng.choice(("matrix", "vector", "coordinate", "array", "real", "integer", "complex", "pattern",
                               "double", "general", "symmetric", "skew-symmetric", "hermitian", "bogus"))
        lines[0] = " ".join(words)
        what = f"banner -> {lines[0]!r}"
    else:
        k = rng.randrange(size_at + 1, max(size_at + 2, len(lines)))
        if rng.random() < 0.5:
            lines[k:k] = lines[size_at + 1:size_at + 1 + rng.choice((1, 10, 100))]
            what = f"duplicated entry lines at {k}"
        else:
            del lines[k:k + rng.choice((1, 10, 100))]
            what = f"deleted entry lines at {k}"
    return "\n".join(lines).encode("latin1"), f"mtx: {what}"


_BAD_CELLS = ("nan", "inf", "-1", "1e999", "-inf", "abc", "", '"', '""x', "1,5", "\x00", "\xff", "x" * 200_000,
              "1_000", "0x10", "  ", "NaN", "1e-400")


def table_edit(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Bad cells, ragged rows, changed delimiters, quotes, BOMs and bad encodings in a CSV/TSV."""
    text = data.decode("utf-8")
    delimiter = "\t" if "\t" in text.split("\n")[0] else ","
    lines = text.split("\n")
    op = rng.choice(("cell", "cell", "cell", "ragged", "header", "delimiter", "encoding", "lines"))
    k = rng.randrange(len(lines) - 1) if len(lines) > 1 else 0
    cells = lines[k].split(delimiter)
    if op == "cell":
        j = rng.randrange(len(cells))
        cells[j] = rng.choice(_BAD_CELLS)
        lines[k] = delimiter.join(cells)
        what = f"cell ({k}, {j}) -> {cells[j][:20]!r}"
    elif op == "ragged":
        cells = cells[:-1] if rng.random() < 0.5 else cells + ["7"] * rng.choice((1, 3, 1000))
        lines[k] = delimiter.join(cells)
        what = f"line {k} has {len(cells)} fields"
    elif op == "header":
        lines.pop(0)
        what = "header removed"
    elif op == "delimiter":
        new = rng.choice((";", "\t", ",", " ", "|"))
        lines = [line.replace(delimiter, new) for line in lines] if rng.random() < 0.5 else \
            lines[:k] + [lines[k].replace(delimiter, new)] + lines[k + 1:]
        what = f"delimiter -> {new!r}"
    elif op == "encoding":
        raw = "\n".join(lines).encode("utf-8")
        at = rng.randrange(len(raw))
        insert = rng.choice((b"\xff\xfe", b"\xef\xbb\xbf", b"\x00", b"\xc3", b"\r", b'"'))
        return raw[:at] + insert + raw[at:], f"inserted {insert!r} at {at}"
    else:
        if rng.random() < 0.5:
            lines = lines + lines[1:] * rng.choice((1, 5))
            what = "rows duplicated"
        else:
            lines = lines[: rng.choice((1, 2, 3))]
            what = "rows deleted"
    return "\n".join(lines).encode("utf-8", "surrogateescape"), f"table: {what}"


_ENVI_VALUES = {
    "samples": None, "lines": None, "bands": None, "header offset": None,
    "data type": ("0", "1", "2", "3", "4", "5", "6", "9", "12", "13", "14", "15", "99", "x"),
    "interleave": ("bsq", "bil", "bip", "xyz", "", "BIP"),
    "byte order": ("0", "1", "2", "-1", "x"),
}


def envi_edit(files: dict[str, bytes], rng: random.Random) -> tuple[dict[str, bytes], str]:
    """Set a header field to a huge, zero, negative, mismatched or non-numeric value, or
    break the wavelength and bad-band lists, or cut the data file."""
    header = files["scene.hdr"].decode()
    lines = header.split("\n")
    op = rng.choice(("field", "field", "field", "field", "remove", "list", "data"))
    if op == "data":
        data, what = rng.choice((truncate, zero_block, duplicate_chunk))(files["scene.img"], rng)
        return {**files, "scene.img": data}, f"envi data: {what}"
    if op == "list":
        key = rng.choice(("wavelength", "bbl"))
        value = rng.choice(("{1, 2}", "{a, b, c, d, e, f, g, h}", "{}", "{" + ", ".join(["0"] * 8) + "}",
                            "{nan, inf, -1, 1, 1, 1, 1, 1}", "{" + ", ".join(["1"] * 80) + "}"))
        lines = [f"{key} = {value}" if line.startswith(key) else line for line in lines]
        return {**files, "scene.hdr": "\n".join(lines).encode()}, f"envi {key} -> {value[:30]}"
    key = rng.choice(list(_ENVI_VALUES))
    if op == "remove":
        lines = [line for line in lines if not line.startswith(key)]
        return {**files, "scene.hdr": "\n".join(lines).encode()}, f"envi removed {key}"
    options = _ENVI_VALUES[key]
    if options is None:
        current = int(next(line for line in lines if line.startswith(key)).split("=")[1])
        value = rng.choice((str(bad_number(current, rng)), "abc", "", "1.5", "1e3", str(current)))
    else:
        value = rng.choice(options)
    lines = [f"{key} = {value}" if line.startswith(key) else line for line in lines]
    if rng.random() < 0.2:
        lines.append(f"{key} = {rng.choice(('1', '7', '0'))}")  # a conflicting duplicate
    return {**files, "scene.hdr": "\n".join(lines).encode()}, f"envi {key} -> {value!r}"
