"""Atomic output files: written beside the destination, renamed onto it on success.

A failed or interrupted write (an exception, Ctrl-C, SIGTERM: see :func:`signals_raise`)
leaves the destination as it was and no temporary file behind. A destination that is
not a regular file (``/dev/null``, a FIFO) is written directly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from typing import IO, Any, Iterator, Optional

from .errors import SpecError

__all__ = ["atomic_output", "atomic_path", "check_destination", "signals_raise", "Interrupted"]


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread by SIGTERM (and SIGHUP) while :func:`signals_raise` is active."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM / SIGHUP raise :class:`Interrupted` (a KeyboardInterrupt) for the block."""
    old = {}
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            try:
                old[sig] = signal.signal(sig, _raise)
            except ValueError:  # not the main thread
                pass
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def check_destination(path: Any, flag: str = "-o") -> str:
    """``path`` as a string after checking that a file can be written there (SpecError naming ``flag``)."""
    p = os.fspath(path)
    if not isinstance(p, str) or not p:
        raise SpecError(flag, "must be a file name", p)
    if os.path.isdir(p):
        raise SpecError(flag, "is a directory; give a file name", p)
    parent = os.path.dirname(os.path.abspath(p))
    if not os.path.isdir(parent):
        raise SpecError(flag, f"its directory {parent} does not exist", p)
    if not os.access(parent, os.W_OK) and not (os.path.exists(p) and not os.path.isfile(p)):
        raise SpecError(flag, f"cannot write in {parent} (permission denied)", p)
    return p


@contextlib.contextmanager
def atomic_path(path: Any, flag: str = "-o") -> Iterator[str]:
    """A temporary path beside ``path`` (same suffix) that becomes ``path`` when the block succeeds."""
    dest = check_destination(path, flag)
    if os.path.exists(dest) and not os.path.isfile(dest):  # /dev/null, a FIFO: write in place
        yield dest
        return
    parent = os.path.dirname(os.path.abspath(dest))
    base = os.path.basename(dest)
    suffix = os.path.splitext(base)[1]
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".part{suffix}", dir=parent)
    except OSError as e:
        raise SpecError(flag, f"cannot write there ({e.strerror})", dest) from None
    os.close(fd)
    try:
        yield tmp
        mode = 0o666 & ~_umask()
        if os.path.exists(dest):
            mode = os.stat(dest).st_mode & 0o7777
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_output(path: Any, binary: bool = False, flag: str = "-o") -> Iterator[IO[Any]]:
    """An open file whose content replaces ``path`` only when the block succeeds."""
    with atomic_path(path, flag) as tmp:
        fh: Optional[IO[Any]] = None
        try:
            fh = open(tmp, "wb" if binary else "w", encoding=None if binary else "utf-8")
        except OSError as e:
            raise SpecError(flag, f"cannot write ({e.strerror})", os.fspath(path)) from None
        with fh:
            yield fh


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
