"""One self-contained Python program that runs code against its tests and reports genuinely.

The sandbox runs the program with no files: it defines the code, runs each ``test_*`` function
(exceptions, ``SystemExit`` included, are caught per test with a short traceback), optionally
times a benchmark statement, and prints one summary line. The line carries a random nonce chosen
when the program is built; :func:`parse_test_output` believes only a single line with that nonce.

Why this resists forging: the code under test never sees the nonce in its own namespace, the
harness writes through a duplicate of file descriptor 1 with functions captured before the code
ran (so replacing ``print``, ``sys.stdout``, ``os.write`` or ``json`` changes nothing), encodes the
report without any module the code could patch, and ends with ``os._exit`` (no ``atexit``
handlers or lingering threads of the code get to print after it). Code that exits, crashes the
interpreter or loops forever never produces the line, which reads as "not tested". Only the
sandbox is a security boundary; code that introspects the harness's frames could still find the
nonce, which is why results never grant anything beyond "these tests passed".
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from fame_desktop.orchestrator.codegen.recipes import test_names

_PLACEHOLDER = re.compile(r"__(NONCE|NAMES|BENCH|TESTS|CODE)__")

#: The summary line starts with this, then ``:<nonce>:``.
MARKER = "@@FAME-TESTS"

_TEMPLATE = r"""
import sys as _s, os as _o, io as _io, time as _t, traceback as _tb, linecache as _lc


def _fame_harness(_nonce, _code, _tests, _names, _bench):
    # Everything the harness needs is bound here, before the code under test runs.
    _write, _exit, _perf, _fmt = _o.write, _o._exit, _t.perf_counter_ns, _tb.format_exception
    _hex, _len, _str, _sorted = bytes.hex, len, str, sorted
    try:
        _fd = _o.dup(1)
    except OSError:
        _fd = 1

    def emit(line):
        data = (line + "\n").encode("utf-8", "replace")
        while data:
            data = data[_write(_fd, data):]

    def h(text):
        return _hex(_str(text).encode("utf-8", "replace"))

    failures = []
    passed = 0
    for name, src in (("<solution>", _code), ("<tests>", _tests)):
        _lc.cache[name] = (_len(src), None, src.splitlines(True), name)

    def fail(test, exc):
        kind = type(exc).__name__
        error = kind + (": " + _str(exc) if _str(exc) else "")
        trace = "".join(_fmt(type(exc), exc, exc.__traceback__.tb_next if exc.__traceback__ else None))
        failures.append((test, error[:500], trace[-1500:]))
        emit("FAIL " + test + ": " + error[:300].replace("\n", " "))

    captured = _io.StringIO()
    old = (_s.stdout, _s.stderr)
    _s.stdout = _s.stderr = captured
    bench_ns = None
    runs = 0
    try:
        ns = {"__name__": "solution"}
        try:
            exec(compile(_code, "<solution>", "exec"), ns)
            exec(compile(_tests, "<tests>", "exec"), ns)
        except BaseException as exc:  # the code did not even load: every test fails with its error
            for name in _names:
                fail(name, exc)
        else:
            for name in _names:
                fn = ns.get(name)
                try:
                    if not callable(fn):
                        raise NameError(name + " is not defined after the code ran")
                    fn()
                except BaseException as exc:
                    fail(name, exc)
                else:
                    passed += 1
                    emit("PASS " + name)
            if _bench and not failures:
                try:
                    stmt = compile(_bench, "<bench>", "exec")
                    exec(stmt, ns)  # warm-up
                    times = []
                    budget = _perf() + 2_000_000_000
                    while runs < 7 and (runs < 3 or _perf() < budget):
                        start = _perf()
                        exec(stmt, ns)
                        times.append(_perf() - start)
                        runs += 1
                    times = _sorted(times)
                    bench_ns = times[_len(times) // 2]
                except BaseException as exc:
                    fail("bench", exc)
    finally:
        _s.stdout, _s.stderr = old
    out = captured.getvalue()
    if out:
        emit("--- output of the code (first 2000 characters) ---")
        emit(out[:2000].rstrip("\n"))
    fields = [
        "@@FAME-TESTS",
        _nonce,
        "%d" % passed,
        "%d" % _len(failures),
        "%d" % _len(_names),
        "-" if bench_ns is None else "%d" % bench_ns,
        "%d" % runs,
        ",".join(h(t) + "." + h(e) + "." + h(tr) for t, e, tr in failures),
    ]
    emit(":".join(fields))
    _exit(0 if not failures else 1)


_fame_harness(__NONCE__, __CODE__, __TESTS__, __NAMES__, __BENCH__)
"""


@dataclass(frozen=True)
class TestFailure:
    """One failed test (or the benchmark, named ``bench``)."""

    __test__ = False  # not a pytest test class

    test: str
    error: str
    traceback: str

    def __str__(self) -> str:
        return f"{self.test}: {self.error}"

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"test": self.test, "error": self.error, "traceback": self.traceback}


@dataclass(frozen=True)
class TestSummary:
    """What a genuine run of the harness reported.

    Attributes:
        passed: Tests that passed.
        failed: Tests (and the benchmark, if it raised) that failed.
        total: Tests the program was built to run.
        failures: Each failure with a short traceback.
        bench_ns: Median time of the benchmark statement (None: not run, e.g. a test failed).
        bench_runs: Timed repetitions behind the median.
    """

    __test__ = False  # not a pytest test class

    passed: int
    failed: int
    total: int
    failures: tuple[TestFailure, ...]
    bench_ns: int | None
    bench_runs: int

    @property
    def all_passed(self) -> bool:
        """Every test ran and passed."""
        return self.failed == 0 and self.passed == self.total and self.total > 0


class TestProgram(str):
    """The harness program (a ``str``, so it goes straight to ``sandbox.run``) and its nonce."""

    __test__ = False  # not a pytest test class
    nonce: str
    test_names: tuple[str, ...]

    def __new__(cls, source: str, nonce: str, names: tuple[str, ...]) -> TestProgram:
        obj = super().__new__(cls, source)
        obj.nonce = nonce
        obj.test_names = names
        return obj

    def parse(self, stdout: str) -> TestSummary | None:
        """:func:`parse_test_output` with this program's nonce and test count."""
        return parse_test_output(stdout, self.nonce, expected_tests=len(self.test_names))


def build_test_program(code: str, tests: str, *, bench: str | None = None) -> TestProgram:
    """One program that runs ``tests`` against ``code`` (and times ``bench`` when all pass).

    Args:
        code: The implementation.
        tests: ``def test_*():`` functions; only those found here are run (tests the code itself
            defines are ignored).
        bench: A statement to time (median of up to 7 runs, within about 2 s), or None.

    Returns:
        The program; pass it to the sandbox, then ``program.parse(report.stdout)``.
    """
    nonce = secrets.token_hex(16)
    names = tuple(test_names(tests))
    values = {"NONCE": nonce, "NAMES": names, "BENCH": bench or "", "TESTS": tests, "CODE": code}
    # One pass, so text inside the code or tests that looks like a placeholder stays as it is.
    source = _PLACEHOLDER.sub(lambda m: repr(values[m.group(1)]), _TEMPLATE)
    return TestProgram(source.lstrip(), nonce, names)


def _unhex(text: str) -> str:
    return bytes.fromhex(text).decode("utf-8", "replace")


def parse_test_output(stdout: str, nonce: str, *, expected_tests: int | None = None) -> TestSummary | None:
    """The summary the harness printed, or None when there is no single genuine one.

    Args:
        stdout: Everything the program printed.
        nonce: The program's nonce (``TestProgram.nonce``).
        expected_tests: When given, a summary for another number of tests is rejected.
    """
    prefix = f"{MARKER}:{nonce}:"
    lines = [line.strip() for line in stdout.splitlines() if line.strip().startswith(prefix)]
    if len(lines) != 1:
        return None
    fields = lines[0][len(prefix) :].split(":")
    if len(fields) != 6:
        return None
    try:
        passed, failed, total, runs = int(fields[0]), int(fields[1]), int(fields[2]), int(fields[4])
        bench_ns = None if fields[3] == "-" else int(fields[3])
        failures = []
        for item in filter(None, fields[5].split(",")):
            test, error, trace = item.split(".")
            failures.append(TestFailure(_unhex(test), _unhex(error), _unhex(trace)))
    except ValueError:
        return None
    if min(passed, failed, total, runs) < 0 or passed > total or len(failures) != failed:
        return None
    if expected_tests is not None and total != expected_tests:
        return None
    return TestSummary(passed, failed, total, tuple(failures), bench_ns, runs)


_REPORT_PREFIX = MARKER + ":"


def hide_report_lines(text: str) -> str:
    """``text`` without the harness's summary lines: they are for :func:`parse_test_output` only.

    Output shown to a person (the Sandbox pane, the API's and the CLI's test reports) goes through
    this after it was parsed, so the internal ``@@FAME-TESTS:<nonce>:…`` line never shows.
    """
    if _REPORT_PREFIX not in text:
        return text
    return "".join(
        line for line in text.splitlines(keepends=True) if not line.lstrip().startswith(_REPORT_PREFIX)
    )


class ReportLineFilter:
    """:func:`hide_report_lines` for output that arrives in chunks (a line may span two chunks)."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, text: str) -> str:
        """The part of ``text`` that can be shown now (an unfinished line that may become the summary waits)."""
        text = self._held + text
        head, newline, tail = text.rpartition("\n")
        shown = head + newline
        start = tail.lstrip()
        if start and (_REPORT_PREFIX.startswith(start) or start.startswith(_REPORT_PREFIX)):
            self._held = tail
        else:
            self._held = ""
            shown += tail
        return hide_report_lines(shown)

    def finish(self) -> str:
        """What is still held back once the output ended (nothing if it was the summary)."""
        held, self._held = self._held, ""
        return hide_report_lines(held)
