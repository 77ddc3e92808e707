"""Text typed into a user interface, turned into model parameters with messages that say what to type."""

from __future__ import annotations


def parse_floats(text: str, name: str, count: int | None = None) -> list[float]:
    """Numbers separated by commas (or semicolons), e.g. ``"0.1, 0.1"``.

    Parameters
    ----------
    text : str
    name : str
        What the numbers are, for the message.
    count : int, optional
        How many are needed (one per layer); any positive number when None.

    Returns
    -------
    list of float

    Raises
    ------
    ValueError
        When an entry is not a number, or the count is wrong; the message names the field.
    """
    try:
        values = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{name} must be numbers separated by commas, e.g. '0.1, 0.1'; got {text!r}") from None
    if not values or (count is not None and len(values) != count):
        need = f"{count} numbers (one per layer)" if count else "at least one number"
        raise ValueError(f"{name} needs {need}; got {text!r}")
    return values


def parse_ranks(text: str) -> list[int]:
    """Decreasing positive integer ranks of a deep model, e.g. ``"20, 10, 5"``.

    Raises
    ------
    ValueError
        When an entry is not a positive integer or the ranks do not decrease.
    """
    values = parse_floats(text, "ranks")
    if any(v != int(v) or v < 1 for v in values) or any(b >= a for a, b in zip(values, values[1:])):
        raise ValueError(f"ranks must be decreasing positive integers such as '20, 10, 5'; got {text!r}")
    return [int(v) for v in values]
