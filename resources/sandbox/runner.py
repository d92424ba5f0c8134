"""Sandbox runner: waits for one program on stdin, then runs it as ``__main__``; single use.

The app starts containers ahead of time with this process waiting, so a run costs no container
start. Protocol: a decimal byte count and a newline, then that many bytes of UTF-8 source. The
program then runs with stdin closed (``/dev/null``) in ``/tmp``, and the container ends with it.
"""

import os
import sys
import traceback
import types


def _read_program() -> bytes:
    data = b""
    while b"\n" not in data:
        chunk = os.read(0, 65536)
        if not chunk:
            sys.exit(0)  # the app went away before sending code: end quietly
        data += chunk
    header, _, body = data.partition(b"\n")
    size = int(header)
    parts = [body]
    got = len(body)
    while got < size:
        chunk = os.read(0, min(1 << 20, size - got))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)[:size]


def main() -> None:
    source = _read_program().decode("utf-8", "replace")
    # The program gets a closed stdin, like `python main.py < /dev/null`.
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
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - report like the interpreter, minus this frame
        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next if exc.__traceback__ else None)
        sys.stderr.flush()
        os._exit(1)


if __name__ == "__main__":
    main()
