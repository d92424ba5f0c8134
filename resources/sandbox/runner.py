"""Sandbox runner: waits for one program on stdin, runs it, reports its end; single use.

The app starts containers ahead of time with this process waiting, so a run costs no container
start. Protocol: one header line ``<size> <nonce>``, then ``size`` bytes of UTF-8 source; this
process acknowledges with the line ``\\0FAME-GO <nonce>`` on stdout. The program runs as
``__main__`` in a forked child with stdin closed, in ``/tmp``. When the child ends, this process
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

# How late relayed output may be, and how much is held before it goes out at once.
RELAY_S = 0.02
RELAY_BYTES = 1 << 18
# After the program ends, at most this much more is read from pipes a leftover child still holds.
DRAIN_BYTES = 1 << 22
# How long a stderr write waits for the relay to read stdout (then it goes on regardless).
ORDER_WAIT_S = 0.05


def _read_program():
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


def _exit_code(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _child(source):
    """Run the program like ``python main.py < /dev/null``; never returns."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    _order_stderr()
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
    except BaseException as exc:  # noqa: BLE001 - report like the interpreter, minus this frame
        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next if exc.__traceback__ else None)
        code = 1
    try:
        for thread in threading.enumerate():
            if thread is not threading.main_thread() and not thread.daemon:
                thread.join()
        atexit._run_exitfuncs()
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - the program may have closed it
            pass
    os._exit(code)


def _wait_drained(fd):
    """Wait (briefly) until the relay has read everything written to pipe ``fd``."""
    unread = array.array("i", [0])
    deadline = time.monotonic() + ORDER_WAIT_S
    while True:
        try:
            fcntl.ioctl(fd, termios.FIONREAD, unread)
        except OSError:  # the program closed or replaced the descriptor
            return
        if unread[0] == 0 or time.monotonic() > deadline:
            return
        time.sleep(0.0001)


def _order_stderr():
    """Keep ``sys.stderr`` writes in order with the ``print`` output around them.

    The two streams are separate pipes, so the relay cannot tell which came first when both hold
    data. A stderr write first waits until the relay has read stdout, and the relay reads stderr
    before stdout: together they keep the order the program wrote in, without slowing ``print``.
    Like ``python -u``, every write still goes out at once.
    """
    write = io.TextIOWrapper.write

    class Ordered(io.TextIOWrapper):
        def write(self, text):
            _wait_drained(1)
            return write(self, text)

    old = sys.stderr
    stream = Ordered(
        io.FileIO(2, "w", closefd=False), encoding=old.encoding, errors=old.errors, write_through=True
    )
    sys.stderr = sys.__stderr__ = stream


def _oom_kills():
    """OOM kills counted by the container's memory cgroup (v2, then v1), or -1 if unknown."""
    for path, key in (("/sys/fs/cgroup/memory.events", "oom_kill"),
                      ("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill")):
        try:
            with open(path) as f:
                for line in f:
                    name, _, value = line.partition(" ")
                    if name == key:
                        return int(value)
        except (OSError, ValueError):
            continue
    return -1


def _frame(stream, data):
    """``data`` of ``stream`` (1 stdout, 2 stderr) as one frame, in Docker's own stream format."""
    return struct.pack(">BxxxI", stream, len(data)) + data


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except InterruptedError:
            continue
        except OSError:  # the app went away: the container is about to be removed
            return


class _Relay:
    """Copies the program's two pipes to this process's stdout and stderr, in arrival order.

    Output is held until ``RELAY_S`` passed since its first byte or ``RELAY_BYTES`` piled up; bytes
    of the other stream first send what is held, so the two streams keep their relative order.
    """

    def __init__(self, pipes):
        self.pipes = dict(pipes)  # read end -> 1 or 2
        self.held = {1: bytearray(), 2: bytearray()}
        self.since = None
        for fd in self.pipes:
            os.set_blocking(fd, False)
            try:
                fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ: room for a burst while held
            except OSError:
                pass

    def read(self, fd):
        """Read what ``fd`` has: the number of bytes, 0 if none yet, -1 once it is closed."""
        try:
            data = os.read(fd, 1 << 16)
        except (BlockingIOError, InterruptedError):
            return 0
        if not data:
            del self.pipes[fd]
            os.close(fd)
            return -1
        target = self.pipes[fd]
        other = 3 - target
        if self.held[other]:
            self.send(other)
        self.held[target] += data
        if self.since is None:
            self.since = time.monotonic()
        if len(self.held[target]) >= RELAY_BYTES:
            self.send(target)
        return len(data)

    def send(self, target=None):
        for t in (target,) if target else (1, 2):
            if self.held[t]:
                _write_all(1, _frame(t, self.held[t]))
                self.held[t] = bytearray()
        if not self.held[1] and not self.held[2]:
            self.since = None

    def run(self, pid):
        """Relay until the program ``pid`` ends; its wait status."""
        # SIGCHLD wakes the poll (no thread: the program may have used up the pids limit).
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(wake_w)
        poller = select.poll()
        for fd in (*self.pipes, wake_r):
            poller.register(fd, select.POLLIN)
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            timeout = None
            if self.since is not None:
                timeout = max(0.0, (self.since + RELAY_S - time.monotonic()) * 1000)
            ready = {fd for fd, _ in poller.poll(timeout)}
            if wake_r in ready:
                os.read(wake_r, 4096)
            # stderr first, all of it: the program wrote it before anything now waiting on stdout
            # (a stderr write waits until stdout was read, see _order_stderr).
            for fd in sorted(ready & set(self.pipes), key=self.pipes.get, reverse=True):
                budget = DRAIN_BYTES if self.pipes[fd] == 2 else 1
                while budget > 0:
                    got = self.read(fd)
                    if got < 0:
                        poller.unregister(fd)
                    if got <= 0:
                        break
                    budget -= got
            if self.since is not None and time.monotonic() - self.since >= RELAY_S:
                self.send()
        # The program ended: take what it left in the pipes without waiting for a leftover child.
        budget = DRAIN_BYTES
        for fd in sorted(self.pipes, key=self.pipes.get, reverse=True):
            while budget > 0:
                got = self.read(fd)
                if got <= 0:
                    break
                budget -= got
        self.send()
        return status


def main():
    source_bytes, nonce = _read_program()
    os.write(1, b"\0FAME-GO %s\n" % nonce.encode("ascii"))  # tells the app this container is alive
    source = source_bytes.decode("utf-8", "replace")
    os.chdir("/tmp")
    before = _oom_kills()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(out_r)
        os.close(err_r)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.close(out_w)
        os.close(err_w)
        _child(source)
    os.close(out_w)
    os.close(err_w)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    status = _Relay({out_r: 1, err_r: 2}).run(pid)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        code = 128 - code  # killed by a signal, as a shell reports it
    after = _oom_kills()
    oom = 1 if before >= 0 and after > before else 0
    end = b"\0FAME-END %s %d %d\n" % (nonce.encode("ascii"), code, oom)
    # On both streams, after everything the program wrote to each.
    _write_all(1, _frame(1, end) + _frame(2, end))
    os._exit(code)


if __name__ == "__main__":
    main()
