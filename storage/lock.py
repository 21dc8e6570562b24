"""One hub per database file: an exclusive ``flock`` on ``<db>.lock``, held while the hub runs.

The kernel drops the lock when the process dies, even by SIGKILL, so a crash never leaves a
stale lock behind; the file keeps the last holder's pid to name it in the refusal.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from storage.errors import DatabaseInUse, StorageError


class DatabaseLock:
    """The exclusive right to write one database file."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.path = db_path.with_name(db_path.name + ".lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or refuse at once.

        Raises:
            DatabaseInUse: another process holds it.
            StorageError: the lock file cannot be opened.
        """
        try:
            lock_file = open(self.path, "a+")  # noqa: SIM115 - held open while the lock is held
        except OSError as error:
            raise StorageError(f"cannot open {self.path}: {error.strerror}") from None
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            holder = lock_file.read().strip() or "unknown"
            lock_file.close()
            raise DatabaseInUse(
                f"database {self.db_path} is in use by another progress-hub process (pid {holder})"
            ) from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(str(os.getpid()))
        lock_file.flush()
        self._file = lock_file

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
