"""Reading a file the user named (a rooms file, a Kaleyra state file, a saved plan, a
comment body, a schema to check): one reader for all of them. And writing every file the
tool writes (saved plans and other `--out` files, exports, converted rooms files, the
schema, init's files, the Kaleyra state file): one atomic writer for all of them.

A file is read only when it is a regular file, and only up to a cap: a named pipe would
block forever, `/dev/zero` would fill memory, and a pull request can point a setting at
either. The path is looked at before it is opened (nothing but a regular file is ever
opened: opening some devices does something), opened without blocking, and looked at
again through the open descriptor, so a swap in between changes nothing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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
    except ValueError:
        raise _nul(name) from None
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
    except ValueError:
        raise _nul(name) from None


def _nul(name: str) -> FileRefused:
    """os.stat's ValueError: a NUL in the path, which no file's name can hold."""
    return FileRefused(name, "no such file (the path holds a NUL character)", missing=True)


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


# ---------------------------------------------------------------- the one writer

class FileNotWritten(ReconcileError):
    """A file that was not written; the target keeps what it held. `exists` is set when
    it was not to be overwritten and is there."""

    def __init__(self, path: str, problem: str, *, exists: bool = False) -> None:
        super().__init__(f"{path}: cannot write: {problem}")
        self.path = path
        self.problem = problem
        self.exists = exists


TEMP_SUFFIX = ".tmp"
_TEMP_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def temp_prefix(path: Path) -> str:
    """How the names of `path`'s temporary files begin (they end with TEMP_SUFFIX)."""
    return f".{path.name}."


def write_atomically(path: str | os.PathLike[str], data: str | bytes, *,
                     mode: int | None = None, overwrite: bool = True,
                     parents: bool = False) -> os.stat_result:
    """Write `data` (text as UTF-8) to `path` whole or not at all, durably: a reader, or a
    process killed at any instant, sees the old file or the new one, never half of one.

    The data goes to a temporary file in the same folder, is flushed and fsynced, and is
    renamed over `path`; then the folder is fsynced, so the rename survives a power cut.
    On any failure the temporary file is removed, the target is untouched and
    FileNotWritten names the path. A link is followed (it stays a link to the new file).
    A file that exists keeps its permissions; a new one gets `mode` (None: what open()
    would give), less the umask, from its first byte. `overwrite=False` writes only a
    new file. `parents` creates missing folders. What exists and is not a regular file
    (a FIFO, /dev/stdout) cannot be swapped for a new one: it is written as it is.
    Returns the status of the file written."""
    name = os.fspath(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if "\0" in name:  # os's ValueError, not an OSError: no file's name can hold one
        raise FileNotWritten(name, "the path holds a NUL character")
    if name.endswith(("/", os.sep)):  # realpath drops the slash: "out/" became a file "out"
        raise FileNotWritten(name, "the path ends with a slash, so it names a folder, not a"
                                   " file")
    target = Path(os.path.realpath(name))
    if parents:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file where a folder goes is no "it exists"
            raise FileNotWritten(name, f"cannot create its folder {target.parent} "
                                       f"({exc.strerror or exc})") from None
    try:
        existing = _existing(target)
        if existing is not None and not overwrite:
            raise FileExistsError(errno.EEXIST, "it exists")
        if existing is not None and not stat.S_ISREG(existing.st_mode):
            with open(target, "wb") as stream:
                stream.write(payload)
                return os.fstat(stream.fileno())
        fd, temp = _new_temp(target, 0o666 if mode is None else mode)
    except OSError as exc:
        raise _not_written(name, exc) from None
    try:
        try:
            info = _fill(fd, payload, None if existing is None else
                         stat.S_IMODE(existing.st_mode))
            _put_in_place(temp, target, overwrite)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temp)  # gone after a rename; after anything else, removed here
    except OSError as exc:
        raise _not_written(name, exc) from None
    _fsync_folder(target.parent)
    return info


def remove_temp_files(path: str | os.PathLike[str]) -> None:
    """Remove what writers killed mid-write left beside `path`. Only for a caller that
    knows no writer of `path` is running (one that holds its lock)."""
    target = Path(os.path.realpath(path))
    prefix = temp_prefix(target)
    with contextlib.suppress(OSError):
        for leftover in target.parent.iterdir():
            if leftover.name.startswith(prefix) and leftover.name.endswith(TEMP_SUFFIX):
                with contextlib.suppress(OSError):
                    leftover.unlink()


def _existing(target: Path) -> os.stat_result | None:
    try:
        return os.stat(target)
    except FileNotFoundError:
        return None


def _new_temp(target: Path, mode: int) -> tuple[int, str]:
    """A new file beside `target`, open for writing, with a name no other writer has."""
    while True:
        temp = str(target.parent / f"{temp_prefix(target)}{secrets.token_hex(6)}{TEMP_SUFFIX}")
        try:
            return os.open(temp, _TEMP_FLAGS, mode), temp
        except FileExistsError:
            continue


def _fill(fd: int, payload: bytes, mode: int | None) -> os.stat_result:
    with os.fdopen(fd, "wb") as stream:
        stream.write(payload)
        stream.flush()
        if mode is not None and hasattr(os, "fchmod"):
            os.fchmod(stream.fileno(), mode)
        os.fsync(stream.fileno())
        return os.fstat(stream.fileno())  # a rename keeps the inode and the mtime


def _put_in_place(temp: str, target: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(temp, target)
    else:
        os.link(temp, target)  # fails, atomically, when the target appeared meanwhile


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable. Windows cannot open a folder; its rename is durable
    # enough once the file is flushed.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _not_written(name: str, exc: OSError) -> FileNotWritten:
    exists = isinstance(exc, FileExistsError)
    return FileNotWritten(name, "it exists" if exists else str(exc.strerror or exc),
                          exists=exists)
