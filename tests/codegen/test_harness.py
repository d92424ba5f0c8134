"""The test harness program: genuine reports only, whatever the code under test does."""

from __future__ import annotations

import pytest
from codegen_harness import check, run_program

from fame_desktop.orchestrator.codegen import build_test_program, parse_test_output

CODE = "def double(x):\n    return 2 * x\n"
TESTS = """
def test_one():
    assert double(1) == 2


def test_two():
    assert double(2) == 4


def test_three():
    assert double(-3) == -6
"""


def test_passing_code_reports_every_test_and_a_benchmark() -> None:
    program = build_test_program(CODE, TESTS, bench="for i in range(1000): double(i)")
    report = run_program(program)
    summary = program.parse(report.stdout)
    assert summary is not None and summary.all_passed
    assert (summary.passed, summary.failed, summary.total) == (3, 0, 3)
    assert summary.bench_ns is not None and summary.bench_ns > 0 and summary.bench_runs >= 3
    assert report.exit_code == 0
    assert "PASS test_one" in report.stdout  # live, readable progress for the sandbox pane


def test_failures_carry_the_error_and_a_short_traceback() -> None:
    code = "def double(x):\n    if x < 0:\n        raise RuntimeError('negative')\n    return x + x\n"
    program = build_test_program(code, TESTS, bench="double(1)")
    report = run_program(program)
    summary = program.parse(report.stdout)
    assert summary is not None and not summary.all_passed
    assert (summary.passed, summary.failed) == (2, 1)
    failure = summary.failures[0]
    assert failure.test == "test_three" and failure.error == "RuntimeError: negative"
    assert "<solution>" in failure.traceback and "raise RuntimeError('negative')" in failure.traceback
    assert summary.bench_ns is None  # broken code is not timed
    assert report.exit_code == 1


def test_a_wrong_answer_is_an_assertion_failure() -> None:
    summary = check("def double(x):\n    return x\n", TESTS)
    assert summary is not None and summary.failed == 3 and summary.failures[0].error == "AssertionError"


def test_code_that_does_not_compile_fails_every_test() -> None:
    summary = check("def double(x)\n    return 2 * x\n", TESTS)
    assert summary is not None and (summary.passed, summary.failed) == (0, 3)
    assert summary.failures[0].error.startswith("SyntaxError")


def test_sys_exit_at_import_is_not_a_pass() -> None:
    summary = check("import sys\nsys.exit(0)\n" + CODE, TESTS)
    assert summary is not None and not summary.all_passed and summary.failed == 3
    assert summary.failures[0].error.startswith("SystemExit")


def test_sys_exit_inside_a_test_fails_that_test_only() -> None:
    code = "import sys\n\ndef double(x):\n    if x == 2:\n        sys.exit(0)\n    return 2 * x\n"
    summary = check(code, TESTS)
    assert summary is not None and (summary.passed, summary.failed) == (2, 1)
    assert summary.failures[0].test == "test_two"


def test_os_exit_leaves_no_summary() -> None:
    assert check("import os\nos._exit(0)\n", TESTS) is None


def test_an_endless_loop_leaves_no_summary() -> None:
    program = build_test_program("def double(x):\n    while True:\n        pass\n", TESTS)
    report = run_program(program, timeout=2)
    assert report.status == "timeout"
    assert program.parse(report.stdout) is None


FORGERS = {
    "prints a marker with a made-up nonce": (
        "print('@@FAME-TESTS:' + '0' * 32 + ':3:0:3:1:3:')\n" + CODE.replace("2 * x", "x")
    ),
    "writes a marker straight to fd 1 and exits": (
        "import os\nos.write(1, b'@@FAME-TESTS:' + b'0' * 32 + b':3:0:3:1:3:\\n')\nos._exit(0)\n"
    ),
    "silences print and sys.stdout": (
        "import builtins, sys, io\nbuiltins.print = lambda *a, **k: None\nsys.stdout = io.StringIO()\n"
        + CODE.replace("2 * x", "x")
    ),
    "patches os.write and time": (
        "import os, time\n_w = os.write\nos.write = lambda fd, data: _w(fd, data.replace(b':0:3:', b':0:0:'))\n"
        "time.perf_counter_ns = lambda: 0\n" + CODE.replace("2 * x", "x")
    ),
    "defines extra passing tests": (
        CODE.replace("2 * x", "x") + "\n" + "\n".join(f"def test_extra_{i}():\n    pass\n" for i in range(10))
    ),
    "registers an atexit handler": (
        "import atexit\natexit.register(lambda: print('@@FAME-TESTS:x:9:0:9:1:1:'))\n"
        + CODE.replace("2 * x", "x")
    ),
}


@pytest.mark.parametrize("code", FORGERS.values(), ids=list(FORGERS))
def test_hostile_code_cannot_forge_a_pass(code: str) -> None:
    program = build_test_program(code, TESTS)
    report = run_program(program)
    summary = program.parse(report.stdout)
    assert summary is None or not summary.all_passed, report.stdout
    if summary is not None:
        assert summary.total == 3 and summary.passed + summary.failed == 3


def test_parse_needs_exactly_one_line_with_the_right_nonce() -> None:
    program = build_test_program(CODE, TESTS)
    stdout = run_program(program).stdout
    assert program.parse(stdout) is not None
    assert parse_test_output(stdout, "0" * 32) is None
    assert program.parse(stdout + stdout) is None  # two summaries: one of them is not genuine
    assert program.parse("") is None
    line = next(ln for ln in stdout.splitlines() if ln.startswith("@@FAME-TESTS"))
    assert program.parse(line.replace(":3:0:3:", ":4:0:4:")) is None  # another test count
    assert program.parse(line.replace(":3:0:3:", ":3:1:3:")) is None  # failures do not add up
    assert program.parse(line + "garbage") is None


def test_each_program_has_its_own_nonce() -> None:
    a, b = build_test_program(CODE, TESTS), build_test_program(CODE, TESTS)
    assert a.nonce != b.nonce and len(a.nonce) == 32
    assert a.test_names == ("test_one", "test_two", "test_three")


def test_placeholder_lookalikes_and_quotes_in_code_survive() -> None:
    code = 'SNEAKY = "__CODE__ __NONCE__ \'\'\' \\"\\"\\""\n' + CODE
    tests = TESTS + '\n\ndef test_text():\n    assert SNEAKY.startswith("__CODE__ __NONCE__")\n'
    summary = check(code, tests)
    assert summary is not None and summary.all_passed and summary.passed == 4


def test_output_of_the_code_is_kept_apart_and_shown() -> None:
    program = build_test_program("print('hello from the code')\n" + CODE, TESTS)
    report = run_program(program)
    assert "hello from the code" in report.stdout
    summary = program.parse(report.stdout)
    assert summary is not None and summary.all_passed


def test_tests_that_do_not_parse_are_not_a_pass() -> None:
    summary = check(CODE, "def test_broken(:\n    pass\n")
    assert summary is None or not summary.all_passed
