"""Every loader survives a seeded corpus of mutated files (issue 14).

A valid small file of every format ``nmfcore.load`` reads is mutated the way parser
fuzzers do (see :mod:`_fuzz_cases`): ``NMFCORE_FUZZ_CASES`` cases per format, 200 by
default. Every case runs in a child process under a hard address-space limit of
``max_bytes`` above the child's own size and a time limit (:mod:`_fuzz_runner`), and
must end in a :class:`Dataset` that passes ``Dataset.check()`` or in a ``DataError``
that names the file: never another exception, a crash, more than 10 s, or an
allocation beyond ``max_bytes``. A failing case is reported with its format, seed and
mutation, and the command that rebuilds it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from _fuzz_cases import FORMATS, base_case, build_bases, make_case
from _fuzz_files import Case
from _fuzz_runner import Outcome, run_cases

CASES_PER_FORMAT = int(os.environ.get("NMFCORE_FUZZ_CASES", "200"))
MAX_BYTES = 64 * 2**20
SECONDS = 10.0


@dataclass(repr=False)
class FuzzRun:
    """The corpus, how each case ended, and the warm-up loads of the valid files."""

    cases: list[Case]
    outcomes: list[Outcome]
    bases: list[Case]
    base_outcomes: list[Outcome]
    seconds: float

    def of(self, fmt: str) -> Iterator[tuple[Case, Outcome]]:
        return ((c, o) for c, o in zip(self.cases, self.outcomes) if c.fmt == fmt)


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> FuzzRun:
    folder = tmp_path_factory.mktemp("fuzz")
    start = time.perf_counter()
    bases = build_bases(folder / "valid")
    valid = [base_case(fmt, bases[fmt], folder) for fmt in FORMATS]
    cases = [make_case(fmt, i, bases, folder) for fmt in FORMATS for i in range(CASES_PER_FORMAT)]
    outcomes, base_outcomes = run_cases(
        [c.request() for c in cases], warmup=[c.request() for c in valid], max_bytes=MAX_BYTES,
        timeout=SECONDS, workers=2, log_dir=folder / "logs")
    return FuzzRun(cases, outcomes, valid, base_outcomes, time.perf_counter() - start)


def _problem(case: Case, outcome: Outcome) -> str | None:
    if outcome.result not in ("dataset", "dataerror"):
        return outcome.result
    if outcome.seconds > SECONDS:
        return f"took {outcome.seconds:.1f} s"
    if outcome.peak > MAX_BYTES:
        return f"peak memory {outcome.peak / 2**20:.1f} MiB"
    if outcome.result == "dataerror" and not any(name in outcome.detail for name in case.names):
        return "the DataError does not name the file"
    return None


def _report(case: Case, outcome: Outcome, problem: str) -> str:
    return (f"{case.fmt} case {case.index} (seed {case.seed}): {problem} after {case.mutation}\n"
            f"  rebuild: python tests/data/_fuzz_cases.py {case.fmt} {case.index} /tmp/case\n"
            f"  {outcome.detail[-1500:]}")


def test_every_valid_file_loads_as_a_dataset(fuzz):
    for case, outcome in zip(fuzz.bases, fuzz.base_outcomes):
        assert outcome.result == "dataset", f"valid {case.fmt} file: {outcome.detail}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_mutated_files_end_in_a_dataset_or_a_data_error(fuzz, fmt):
    ran = list(fuzz.of(fmt))
    assert len(ran) == CASES_PER_FORMAT
    failures = [_report(c, o, p) for c, o in ran if (p := _problem(c, o))]
    assert not failures, f"{len(failures)} of {len(ran)} {fmt} cases failed:\n" + "\n".join(failures[:10])


def test_fuzz_summary(fuzz, capsys):
    lines = [f"{'format':<14}{'cases':>7}{'DataError':>11}{'Dataset':>9}{'worst peak':>12}{'slowest':>9}"]
    for fmt in FORMATS:
        ran = [o for _, o in fuzz.of(fmt)]
        errors = sum(o.result == "dataerror" for o in ran)
        datasets = sum(o.result == "dataset" for o in ran)
        peak = max((o.peak for o in ran), default=0) / 2**20
        slowest = max((o.seconds for o in ran), default=0.0)
        lines.append(f"{fmt:<14}{len(ran):>7}{errors:>11}{datasets:>9}{peak:>9.1f} MiB{slowest:>7.2f} s")
        if CASES_PER_FORMAT >= 50:  # the mutations reach past the first check, and catch something
            assert errors and datasets, f"{fmt}: {errors} DataError and {datasets} Dataset outcomes"
    lines.append(f"{len(fuzz.cases)} cases in {fuzz.seconds:.0f} s (max_bytes {MAX_BYTES // 2**20} MiB)")
    with capsys.disabled():
        print(f"\nfuzzed loaders, {CASES_PER_FORMAT} cases per format\n" + "\n".join(lines))
