"""Errors raised by ``storage``.

StorageError
├── SchemaTooNew     the file was written by a newer progress-hub
├── DatabaseInUse    another hub process holds the file
├── StorageClosed    a write arrived after shutdown began
└── LogIncomplete    events were purged and no usable snapshot holds their figures
"""


class StorageError(Exception):
    """Base of every storage error."""


class SchemaTooNew(StorageError):
    """The database's schema version is newer than this code knows."""


class DatabaseInUse(StorageError):
    """Another process already serves this database file."""


class StorageClosed(StorageError):
    """The store is closed; nothing more can be written."""


class LogIncomplete(StorageError):
    """Events were purged under retention, and no snapshot that covers them can be read.

    Replaying what is left would give wrong figures without saying so, so the hub refuses.
    """
