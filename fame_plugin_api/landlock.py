"""Confining a plugin host's file access with Linux Landlock (kernel 5.13+), before plugin code runs.

Landlock lets an unprivileged process give up file access for good: after :func:`confine`, the
process (and anything it starts) can read only beneath the paths it was given (Python, its
packages, a few system folders) and write only beneath its own scratch folder. Everything else —
the data dir with the admin keys, settings, secrets and audit log — is refused, even to a process
of the same user, even to root. Landlock also refuses ``ptrace``-guarded access to processes outside
the sandbox (``/proc/<app>/environ``, ``mem``), so the app's memory and environment stay out of reach.

With ``tcp=False`` (the app's network switch is off) and Landlock ABI 4 or later, the process can
neither connect nor bind a TCP socket either, so a plugin cannot reach the network by opening a
socket itself instead of asking for the app's HTTP client.

Where Landlock is missing (another OS, an older kernel, disabled), :func:`confine` says so and
does nothing; the host is then isolated as a process only.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterable

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_V1_ALL = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
_REFER, _TRUNCATE = 1 << 13, 1 << 14
_FILE_ONLY = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE
READ = _EXECUTE | _READ_FILE | _READ_DIR
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi_version() -> int:
    """The kernel's Landlock ABI version (0: not available here)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        version = int(libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(version, 0)


def confine(read_paths: Iterable[str], write_paths: Iterable[str], *, tcp: bool = True) -> str:
    """Restrict this process to reading ``read_paths`` and writing ``write_paths`` (and beneath).

    Paths that do not exist are skipped. Irreversible; applies to the calling thread and every
    thread and process it starts afterwards.

    Args:
        read_paths: Folders and files it may read (and run).
        write_paths: Folders and files it may also write, create and delete in.
        tcp: Whether it may connect and bind TCP sockets (refused only from ABI 4 on).

    Returns:
        What was done, e.g. ``landlock v4``, ``landlock v4, no tcp`` or ``none: <why>``.
    """
    abi = abi_version()
    if abi < 1:
        return "none: Landlock is not available on this system"
    libc = ctypes.CDLL(None, use_errno=True)
    handled = _V1_ALL | (_REFER if abi >= 2 else 0) | (_TRUNCATE if abi >= 3 else 0)
    block_tcp = not tcp and abi >= 4
    attr = _RulesetAttr(handled, _NET_BIND_TCP | _NET_CONNECT_TCP if block_tcp else 0)
    # ABI 1-3 know only the file-system field: give them the short structure.
    size = ctypes.sizeof(attr) if abi >= 4 else ctypes.sizeof(ctypes.c_uint64)
    ruleset = int(libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0))
    if ruleset < 0:
        return f"none: landlock_create_ruleset failed ({os.strerror(ctypes.get_errno())})"
    try:
        rules = [(p, READ) for p in read_paths] + [(p, handled) for p in write_paths]
        for path, access in rules:
            _add(libc, ruleset, path, access & handled)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return f"none: no_new_privs refused ({os.strerror(ctypes.get_errno())})"
        if libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0) != 0:
            return f"none: landlock_restrict_self failed ({os.strerror(ctypes.get_errno())})"
    finally:
        os.close(ruleset)
    return f"landlock v{abi}" + (", no tcp" if block_tcp else "")


def _add(libc: ctypes.CDLL, ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not os.path.isdir(path):
            access &= _FILE_ONLY  # a rule on a file may only grant file rights
        rule = _PathBeneath(access, fd)
        with contextlib.suppress(OSError):
            libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0)
    finally:
        os.close(fd)
