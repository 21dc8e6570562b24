"""One hub per database file: an exclusive ``flock`` on the database file, held while it runs.

The lock is taken on the file (its inode), not on a name beside it, so a second hub that
reaches the same file through a symlink or a hard link is refused too. ``flock`` locks are
independent of the POSIX record locks SQLite takes on the same file, so the two never
interfere. The kernel drops the lock when the process dies, even by SIGKILL, so a crash never
leaves a stale lock behind; the holder's pid is read back from ``/proc/locks`` to name it in
the refusal.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from storage.errors import DatabaseInUse, StorageError

_PROC_LOCKS = Path("/proc/locks")


def _holder_pid(fd: int) -> str:
    """The pid holding a ``flock`` on ``fd``'s file, or ``unknown`` where ``/proc`` says nothing."""
    status = os.fstat(fd)
    inode = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    try:
        lines = _PROC_LOCKS.read_text().splitlines()
    except OSError:
        return "unknown"
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; blocked waiters carry "->".
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5].lower() == inode:
            return fields[4]
    return "unknown"


class DatabaseLock:
    """The exclusive right to write one database file."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or refuse at once; creates the (empty) database file if missing.

        Raises:
            DatabaseInUse: another process holds it.
            StorageError: the database file cannot be opened.
        """
        try:
            fd = os.open(self.db_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as error:
            raise StorageError(f"cannot open {self.db_path}: {error.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_pid(fd)
            os.close(fd)
            raise DatabaseInUse(
                f"database {self.db_path} is in use by another progress-hub process (pid {holder})"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
