"""The main process of one Swarm sandbox job (passed as ``python3 -c``; not part of the image).

Usage: ``python3 -u -B -I -c <this> PROGRAM NONCE DEADLINE_S``. PROGRAM is the code, a Swarm
config mounted read-only; it runs as ``__main__`` in a forked child with stdin closed, in
``/tmp``, its stdout and stderr the container's own (the engine's log, which the app follows).
When it ends, this process writes ``\\0FAME-END <nonce> <exit code> <oom> <timed out>`` on both
streams, so the app knows the output is complete, and exits with the program's code. At DEADLINE_S
(the run's time limit) it kills the program itself and says so in that line: the node that runs
the job enforces its limit, so the app can tell a program that ran out of time (its end line
comes) from a node that died (nothing comes), and a job whose app died still ends on time.

Before the program starts this process sets no_new_privs (Swarm services cannot ask for
``no-new-privileges`` on engine 20.10): a setuid file in the image gives the program nothing.
"""

import contextlib
import os
import signal
import sys
import traceback
import types


def _no_new_privs() -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    except Exception as exc:  # no ctypes in the image: the other limits still hold
        sys.stderr.write(f"fame job: could not set no_new_privs: {exc}\n")


def _oom_kills() -> int:
    """OOM kills counted by the container's memory cgroup (v2, then v1), or -1 if unknown."""
    for path in ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"):
        try:
            with open(path) as f:
                for line in f:
                    name, _, value = line.partition(" ")
                    if name == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            continue
    return -1


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _child(source: str) -> None:
    """Run the program like ``python main.py < /dev/null``; never returns."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.chdir("/tmp")
    sys.argv = ["main.py"]
    sys.path.insert(0, "/tmp")
    module = types.ModuleType("__main__")
    module.__file__ = "/tmp/main.py"
    sys.modules["__main__"] = module
    try:
        exec(compile(source, "main.py", "exec"), module.__dict__)
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException as exc:  # report like the interpreter, minus this frame
        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next if exc.__traceback__ else None)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # the program may have closed it
            stream.flush()
    os._exit(code)


def main() -> None:
    path, nonce, deadline = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(path, "rb") as f:
        source = f.read().decode("utf-8", "replace")
    _no_new_privs()
    before = _oom_kills()
    pid = os.fork()
    if pid == 0:
        _child(source)
    # The deadline: SIGALRM kills the program (the container's init ends whatever it started
    # once this process exits).
    timed_out = False

    def _deadline(*_: object) -> None:
        nonlocal timed_out
        timed_out = True
        with contextlib.suppress(ProcessLookupError):  # it ended in this very moment
            os.kill(pid, signal.SIGKILL)

    signal.signal(signal.SIGALRM, _deadline)
    signal.setitimer(signal.ITIMER_REAL, deadline)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    signal.setitimer(signal.ITIMER_REAL, 0)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        code = 128 - code  # killed by a signal, as a shell reports it
    after = _oom_kills()
    oom = 1 if before >= 0 and after > before else 0
    end = b"\0FAME-END %s %d %d %d\n" % (nonce.encode("ascii"), code, oom, 1 if timed_out else 0)
    os.write(1, end)
    os.write(2, end)
    os._exit(code)


main()
