"""Domain errors. Each carries a one-line message naming the key, file or row at fault."""


class UnetError(Exception):
    """Base of every error the project reports to a user as one line."""


class ConfigError(UnetError):
    """A configuration key is unknown, of the wrong type or out of range."""


class DataError(UnetError):
    """A dataset file or row cannot be used (missing, unreadable, malformed)."""


class CheckpointError(UnetError):
    """A checkpoint is missing or does not match the configured model."""


class NotYetSupported(UnetError):
    """A reference feature that a later release of this project implements."""
