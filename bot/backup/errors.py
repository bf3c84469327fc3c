"""What goes wrong with a backup, phrased for the person running the server (Vietnamese, like
the other `congdoan` messages)."""


class BackupError(Exception):
    """A backup (or a copy) could not be made; the message says why and what to do."""


class RestoreRefused(Exception):
    """A restore was refused before anything changed; the message says why."""
