"""Reading a file the user named (a rooms file, a Kaleyra state file, a saved plan, a
comment body, a schema to check): one reader for all of them.

A file is read only when it is a regular file, and only up to a cap: a named pipe would
block forever, `/dev/zero` would fill memory, and a pull request can point a setting at
either. The path is looked at before it is opened (nothing but a regular file is ever
opened: opening some devices does something), opened without blocking, and looked at
again through the open descriptor, so a swap in between changes nothing.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from reconcile.errors import ReconcileError

_KINDS = ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "named pipe"),
          (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
          (stat.S_ISSOCK, "socket"))
_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
          | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
_CHUNK = 1024 * 1024


class FileRefused(ReconcileError):
    """A file that was not read: missing, no regular file, over its cap, or unreadable.
    `problem` says which without the path (callers that locate it put the path first)."""

    def __init__(self, path: str, problem: str, *, missing: bool = False) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
        self.missing = missing


@dataclass(frozen=True, slots=True)
class Read:
    data: bytes
    info: os.stat_result  # of the open file, as read


def size_text(count: int) -> str:
    return f"{count / 2**20:g} MiB" if count >= 2**20 else f"{count:,} bytes"


def read_regular(path: str | os.PathLike[str], limit: int, what: str = "file") -> Read:
    """The whole file at `path`, if it is a regular file of at most `limit` bytes; else
    FileRefused. `what` names the file in messages ("is a named pipe, not a rooms file")."""
    name = os.fspath(path)
    _check(name, _stat(name), limit, what)
    try:
        fd = os.open(name, _FLAGS)
    except OSError as exc:
        raise _refused(name, exc) from None
    try:
        info = os.fstat(fd)
        _check(name, info, limit, what)  # the file opened is the file looked at
        # Read to the end, which may come later than st_size said if the file grew.
        return Read(_capped(lambda size: os.read(fd, size), name, limit, what), info)
    except OSError as exc:
        raise _refused(name, exc) from None
    finally:
        os.close(fd)


def check_regular(path: str | os.PathLike[str], what: str = "file") -> None:
    """FileRefused unless `path` is a regular file or nothing (a file another library
    opens, such as the sandbox's SQLite database, which would hang on a pipe)."""
    name = os.fspath(path)
    try:
        info = os.stat(name)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _refused(name, exc) from None
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused(name, f"is a {_kind(info)}, not a {what}")


def read_stream(stream: BinaryIO, name: str, limit: int, what: str = "file") -> bytes:
    """All of a stream the user chose (standard input), up to `limit` bytes; else
    FileRefused."""
    return _capped(stream.read, name, limit, what)


def _capped(read: Callable[[int], bytes], name: str, limit: int, what: str) -> bytes:
    chunks, size = [], 0
    while chunk := read(min(_CHUNK, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:  # no more than the cap is ever held
            raise FileRefused(name, _too_large(limit, what))
    return b"".join(chunks)


def _stat(name: str) -> os.stat_result:
    try:
        return os.stat(name)
    except OSError as exc:
        raise _refused(name, exc) from None


def _check(name: str, info: os.stat_result, limit: int, what: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused(name, f"is a {_kind(info)}, not a {what}")
    if info.st_size > limit:
        raise FileRefused(name, _too_large(limit, what))


def _kind(info: os.stat_result) -> str:
    return next((kind for test, kind in _KINDS if test(info.st_mode)), "special file")


def _too_large(limit: int, what: str) -> str:
    return f"is larger than {size_text(limit)}, the most a {what} may hold"


def _refused(name: str, exc: OSError) -> FileRefused:
    if isinstance(exc, FileNotFoundError):
        return FileRefused(name, "no such file", missing=True)
    return FileRefused(name, f"cannot be read ({exc.strerror or exc})")
