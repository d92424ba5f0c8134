"""Sandbox runner: waits for one program on stdin, runs it, reports its end; single use.

The app starts containers ahead of time with this process waiting, so a run costs no container
start. Protocol: one header line ``<size> <nonce>``, then ``size`` bytes of UTF-8 source; this
process acknowledges with the line ``\\0FAME-GO <nonce>`` on stdout. The program runs as
``__main__`` in a child with stdin closed, in ``/tmp``. The child is forked, its pipes and output streams set up, before the
code comes: it waits for the source on a pipe, so a run costs no fork (on two busy cores, forking
and setting up took about half of a short run's time in here). When the child ends, this process
writes one line ``\\0FAME-END <nonce> <exit code> <oom>`` in both output streams, so the app knows
the result without waiting for the container to stop (tens of ms). The app strips those lines; the
container is removed right after, which ends anything left behind.

The program writes into two pipes that this process relays in batches (at most ``RELAY_S`` late)
as frames on its own stdout: a header ``>BxxxI`` (stream 1 or 2, size), then the bytes, the format
Docker uses for the attach stream. One stream keeps stdout and stderr in the order the program
wrote them (the engine copies two streams independently and reorders them). The program stays
unbuffered, so nothing is lost if it crashes, but a loop of ``print`` no longer crosses the engine
one line per message: that flood kept the engine's shim and daemon busy on every core and starved
the app's window of CPU.
"""

import array
import atexit
import fcntl
import io
import os
import select
import signal
import struct
import sys
import termios
import threading
import time
import traceback
import types

# No `typing` import: names used only in annotations are quoted and imported for the type checker
# alone (mypy treats this name as true), so the runner loads nothing more in the container. Nor
# `from __future__ import annotations`: compile() would pass that flag on to the program.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

# How late relayed output may be, and how much is held before it goes out at once.
RELAY_S = 0.02
RELAY_BYTES = 1 << 18
# The pause after a small read (a flood is read on at once), and the pipes' size: a program writing
# 200 MB/s fills less than that.
GAP_S = 0.002
GAP_BYTES = 1 << 19
PIPE_BYTES = 1 << 20
# After the program ends, at most this much more is read from pipes a leftover child still holds.
DRAIN_BYTES = 1 << 22
# How long a stderr write waits for the relay to read stdout (then it goes on regardless).
ORDER_WAIT_S = 0.05
# Rounds of killing what the program left running before the runner gives up lingering.
LEFTOVER_ROUNDS = 50


def _read_program() -> tuple[bytes, str]:
    data = b""
    while b"\n" not in data:
        chunk = os.read(0, 65536)
        if not chunk:
            os._exit(0)  # the app went away before sending code: end quietly
        data += chunk
    header, _, body = data.partition(b"\n")
    size_text, _, nonce = header.decode("ascii").partition(" ")
    size = int(size_text)
    parts = [body]
    got = len(body)
    while got < size:
        chunk = os.read(0, min(1 << 20, size - got))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)[:size], nonce.strip()


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _read_source(fd: int) -> str:
    """Everything written to pipe ``fd`` until it closes, as text (nothing if the runner ended)."""
    parts = []
    while True:
        try:
            chunk = os.read(fd, 1 << 20)
        except InterruptedError:
            continue
        if not chunk:
            break
        parts.append(chunk)
    os.close(fd)
    return b"".join(parts).decode("utf-8", "replace")


def _child(code: int, nudge: int) -> "NoReturn":
    """Wait for the source on pipe ``code``, then run it like ``python main.py < /dev/null``;
    never returns. Everything but the program itself is done before the source comes."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    _order_stderr(nudge)
    source = _read_source(code)
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
    try:
        for thread in threading.enumerate():
            if thread is not threading.main_thread() and not thread.daemon:
                thread.join()
        atexit._run_exitfuncs()
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:
        traceback.print_exc()
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - no contextlib import in the container
            stream.flush()
        except Exception:  # the program may have closed it
            pass
    os._exit(code)


def _wait_drained(fd: int, nudge: int) -> None:
    """Wait (briefly) until the relay has read everything written to pipe ``fd``; writing to
    ``nudge`` tells the relay not to wait for more output first."""
    unread = array.array("i", [0])
    deadline = time.monotonic() + ORDER_WAIT_S
    nudged = False
    while True:
        try:
            fcntl.ioctl(fd, termios.FIONREAD, unread)
        except OSError:  # the program closed or replaced the descriptor
            return
        if unread[0] == 0 or time.monotonic() > deadline:
            return
        if not nudged:
            nudged = True
            try:  # noqa: SIM105 - on every stderr write: a plain try is the cheapest
                os.write(nudge, b"!")
            except OSError:  # full (the relay has been nudged already) or gone
                pass
        time.sleep(0.0001)


def _order_stderr(nudge: int) -> None:
    """Keep ``sys.stderr`` writes in order with the ``print`` output around them.

    The two streams are separate pipes, so the relay cannot tell which came first when both hold
    data. A stderr write first waits until the relay has read stdout, and the relay reads stderr
    before stdout: together they keep the order the program wrote in, without slowing ``print``.
    Like ``python -u``, every write still goes out at once.
    """
    write = io.TextIOWrapper.write

    class Ordered(io.TextIOWrapper):
        def write(self, text: str) -> int:
            _wait_drained(1, nudge)
            return write(self, text)

    old = sys.stderr
    stream = Ordered(
        io.FileIO(2, "w", closefd=False), encoding=old.encoding, errors=old.errors, write_through=True
    )
    # typeshed marks __stderr__ Final; the program's crash report (traceback) may write there too.
    sys.stderr = sys.__stderr__ = stream  # type: ignore[misc]


def _oom_kills() -> int:
    """OOM kills counted by the container's memory cgroup (v2, then v1), or -1 if unknown."""
    for path, key in (
        ("/sys/fs/cgroup/memory.events", "oom_kill"),
        ("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill"),
    ):
        try:
            with open(path) as f:
                for line in f:
                    name, _, value = line.partition(" ")
                    if name == key:
                        return int(value)
        except (OSError, ValueError):
            continue
    return -1


def _write_all(fd: int, parts: list[bytes]) -> None:
    """Write the byte strings ``parts``, all of them, in as few calls as the pipe allows."""
    views = [memoryview(p) for p in parts if p]
    while views:
        try:
            n = os.writev(fd, views[:64])  # well under IOV_MAX
        except InterruptedError:
            continue
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        except OSError:  # the app went away: the container is about to be removed
            return
        while views and n >= len(views[0]):
            n -= len(views.pop(0))
        if n:
            views[0] = views[0][n:]


def _frame(stream: int, size: int) -> bytes:
    """The header of a frame of ``size`` bytes of ``stream`` (1 stdout, 2 stderr), in Docker's
    own stream format."""
    return struct.pack(">BxxxI", stream, size)


class _Relay:
    """Copies the program's two pipes as frames on this process's stdout, in the order written.

    Output is held until ``RELAY_S`` passed since its first byte or ``RELAY_BYTES`` piled up; bytes
    of the other stream first send what is held, so the two streams keep their relative order.
    After a small read it pauses ``GAP_S`` so that a program printing line by line is read in
    batches, not woken for every line (which halved its speed); a stderr write cuts the pause
    short. Bulk output is read on without pausing, the engine never left waiting.
    """

    def __init__(self, pipes: dict[int, int], nudge: int) -> None:
        self.pipes = dict(pipes)  # read end -> 1 or 2
        self.nudge: int | None = nudge
        self.held: dict[int, list[bytes]] = {1: [], 2: []}
        self.size = {1: 0, 2: 0}
        self.since: float | None = None
        for fd in (*self.pipes, nudge):
            os.set_blocking(fd, False)
        for fd in self.pipes:
            try:  # noqa: SIM105 - no contextlib import in the container
                fcntl.fcntl(fd, 1031, PIPE_BYTES)  # F_SETPIPE_SZ: room for what comes in a pause
            except OSError:
                pass
        # SIGCHLD wakes the poll (no thread: the program may have used up the pids limit). Armed
        # before the code comes, so a child that ends early still wakes the relay.
        self.wake, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(wake_w)

    def read(self, fd: int, budget: int) -> int:
        """Read what ``fd`` has (up to about ``budget`` bytes); the bytes read. A closed pipe is
        closed and forgotten."""
        got = 0
        while budget > 0:
            try:
                data = os.read(fd, PIPE_BYTES)
            except (BlockingIOError, InterruptedError):
                break
            if not data:
                del self.pipes[fd]
                os.close(fd)
                break
            target = self.pipes[fd]
            if self.held[3 - target]:
                self.send(3 - target)
            self.held[target].append(data)
            self.size[target] += len(data)
            if self.since is None:
                self.since = time.monotonic()
            if self.size[target] >= RELAY_BYTES:
                self.send(target)
            budget -= len(data)
            got += len(data)
        return got

    def send(self, target: int | None = None, tail: "list[bytes] | None" = None) -> None:
        """Write the output held (of ``target``, default both streams) as frames, then ``tail``,
        in one write when the pipe takes it (each write crosses the engine as one message)."""
        parts = []
        for t in (target,) if target else (1, 2):
            if self.held[t]:
                parts += [_frame(t, self.size[t]), b"".join(self.held[t])]
                self.held[t], self.size[t] = [], 0
        _write_all(1, parts + (tail or []))
        if not self.held[1] and not self.held[2]:
            self.since = None

    def read_all(self, ready: set[int], budget: int) -> int:
        """Read the ready pipes, stderr first and all of it: the program wrote that before
        anything now waiting on stdout (a stderr write waits until stdout was read). stdout gets
        one read of ``budget`` (1: one read): once it is empty, the program may write to stderr
        again, and that comes before whatever it writes to stdout next. Returns the bytes read."""
        got = 0
        for fd in sorted(ready & set(self.pipes), key=self.pipes.__getitem__, reverse=True):
            got += self.read(fd, DRAIN_BYTES if self.pipes[fd] == 2 else budget)
        return got

    def run(self, pid: int) -> int:
        """Relay until the program ``pid`` ends; its wait status."""
        wake_r = self.wake
        data_poll, pause_poll = select.poll(), select.poll()
        wakers = (wake_r,) if self.nudge is None else (wake_r, self.nudge)
        for fd in (*self.pipes, *wakers):
            data_poll.register(fd, select.POLLIN)
        for fd in wakers:
            pause_poll.register(fd, select.POLLIN)
        # A short program ends within RELAY_S: wait for its end (or a stderr write's nudge)
        # without waking for its output, then send the output and the end line in one write
        # (each write wakes the engine's shim, its daemon and the app in turn). Output read later
        # counts from now, so it is still at most RELAY_S late.
        self.since = time.monotonic()
        pause_poll.poll(RELAY_S * 1000)
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            timeout = None
            if self.since is not None:
                timeout = max(0.0, (self.since + RELAY_S - time.monotonic()) * 1000)
            ready = {fd for fd, _ in data_poll.poll(timeout)}
            for fd in ready & {wake_r, self.nudge}:
                try:
                    if os.read(fd, 4096):
                        continue
                except BlockingIOError:
                    continue
                # The program closed its end of the nudge pipe (closerange): stop polling it.
                data_poll.unregister(fd)
                pause_poll.unregister(fd)
                self.nudge = None
            before = set(self.pipes)
            got = self.read_all(ready, 1)
            for fd in before - set(self.pipes):
                data_poll.unregister(fd)
            if self.since is not None and time.monotonic() - self.since >= RELAY_S:
                self.send()
            if 0 < got < GAP_BYTES and self.nudge not in ready:
                pause_poll.poll(GAP_S * 1000)  # returns early when the program ends or nudges
        # The program ended: take what it left in the pipes without waiting for a leftover child
        # (the caller sends it, with the end line).
        self.read_all(set(self.pipes), DRAIN_BYTES)
        return status


def _in_own_container() -> bool:
    """Whether this runner is the one program of its container: not root, and its parent is the
    container's init (PID 1), started for this very file. Run anywhere else (by mistake, on a
    host), ``kill(-1)`` would end every process of the user."""
    if os.getuid() == 0 or os.getppid() != 1:
        return False
    try:
        with open("/proc/1/cmdline", "rb") as f:
            return os.path.abspath(__file__).encode() in f.read().split(b"\0")
    except OSError:
        return False


def _leftovers() -> "list[int]":
    """The processes of this container other than init and this one, not yet reaped zombies."""
    me = os.getpid()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (1, me):
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):  # ended meanwhile
            continue
        if state != b"Z":
            found.append(int(name))
    return found


def _end_leftovers() -> bool:
    """Kill every other process of the container but init; whether none is left. Every one runs
    as this user, so ``kill(-1)`` reaches them all; it is repeated for the children a process
    forked while the signal went round."""
    for _ in range(LEFTOVER_ROUNDS):
        try:  # noqa: SIM105 - no contextlib import in the container
            os.kill(-1, signal.SIGKILL)
        except OSError:  # nothing left to signal
            pass
        if not _leftovers():
            return True
        time.sleep(0.001)
    return False


def _linger(app: int) -> None:
    """Keep the container up until the app lets go (closes stdin), with nothing else running.

    The app closes stdin when it removes the container, once the runs leave the engine alone: a
    container that stops right after its run makes the engine tear it down (a few tens of ms of
    CPU on every core) next to the run that follows. (When the program's leftovers could not all
    be ended, the runner exits instead: the container stops, and its PID namespace with
    everything in it.)
    """
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    while True:
        try:
            if not os.read(app, 65536):
                return
        except InterruptedError:
            continue
        except OSError:
            return


def _send_source(fd: int, source: bytes) -> None:
    """Hand the program's source to the waiting child and close the pipe (the child reads to its end)."""
    view = memoryview(source)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except InterruptedError:
            continue
        except OSError:  # the child is gone (killed while it waited): the relay reports how it ended
            break
    os.close(fd)


def main() -> "NoReturn":
    os.chdir("/tmp")
    before = _oom_kills()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    nudge_r, nudge_w = os.pipe()
    code_r, code_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        for fd in (out_r, err_r, nudge_r, code_w):
            os.close(fd)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.close(out_w)
        os.close(err_w)
        os.set_blocking(nudge_w, False)
        _child(code_r, nudge_w)
    for fd in (out_w, err_w, nudge_w, code_r):
        os.close(fd)
    relay = _Relay({out_r: 1, err_r: 2}, nudge_r)
    # Everything above happens when the container starts; from here on, the run.
    source, nonce = _read_program()
    # Tells the app this container is alive; before the program runs, so the program cannot write
    # into the container's stdout (through /proc/1/fd/1) ahead of it.
    os.write(1, b"\0FAME-GO %s\n" % nonce.encode("ascii"))
    _send_source(code_w, source)
    app = os.dup(0)  # the attachment's stdin, kept out of reach of the program's descendants
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    status = relay.run(pid)
    # What the program left running ends with it (before the end line, so the app can count on
    # that); when that fails, or this is not its own container, the runner does not linger.
    linger = _in_own_container() and _end_leftovers()
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        code = 128 - code  # killed by a signal, as a shell reports it
    after = _oom_kills()
    oom = 1 if before >= 0 and after > before else 0
    end = b"\0FAME-END %s %d %d\n" % (nonce.encode("ascii"), code, oom)
    # On both streams, after everything the program wrote to each.
    relay.send(tail=[_frame(1, len(end)), end, _frame(2, len(end)), end])
    if linger:
        _linger(app)
    os._exit(code)


if __name__ == "__main__":
    main()
