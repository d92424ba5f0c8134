"""Sandbox runner: waits for one program on stdin, runs it, reports its end; single use.

The app starts containers ahead of time with this process waiting, so a run costs no container
start. Protocol: one header line ``<size> <nonce>``, then ``size`` bytes of UTF-8 source; this
process acknowledges with ``\\0FAME-GO <nonce>`` on stdout. The program runs as ``__main__`` in a forked child with stdin closed, in ``/tmp``. When the child
ends, this process writes one line ``\\0FAME-END <nonce> <exit code> <oom>`` to stdout and to
stderr, so the app knows the result without waiting for the container to stop (tens of ms). The
app strips those lines; the container is removed right after, which ends anything left behind.
"""

import atexit
import os
import sys
import threading
import traceback
import types


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


def main():
    source_bytes, nonce = _read_program()
    os.write(1, b"\0FAME-GO %s\n" % nonce.encode("ascii"))  # tells the app this container is alive
    source = source_bytes.decode("utf-8", "replace")
    os.chdir("/tmp")
    before = _oom_kills()
    pid = os.fork()
    if pid == 0:
        _child(source)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        code = 128 - code  # killed by a signal, as a shell reports it
    after = _oom_kills()
    oom = 1 if before >= 0 and after > before else 0
    end = b"\0FAME-END %s %d %d\n" % (nonce.encode("ascii"), code, oom)
    os.write(1, end)  # on both streams: each is ordered, so nothing the program wrote comes later
    os.write(2, end)
    os._exit(code)


if __name__ == "__main__":
    main()
