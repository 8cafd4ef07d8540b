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


class DataProblems(DataError):
    """Several files of a dataset cannot be used. Reported as its first problem and a count;
    `--validate_only` lists every one, a line each."""

    def __init__(self, problems: "list[str] | tuple[str, ...]") -> None:
        self.problems = tuple(problems)
        more = len(self.problems) - 1
        suffix = f" (and {more} more; --validate_only lists them all)" if more else ""
        super().__init__(self.problems[0] + suffix)


class TrainingDiverged(UnetError):
    """The loss became NaN or infinite."""

    exit_status = 1


class TrainingInterrupted(UnetError):
    """SIGINT or SIGTERM arrived; a checkpoint of the current step was written first."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_status = 128 + signum
