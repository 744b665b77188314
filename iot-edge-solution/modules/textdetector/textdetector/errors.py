"""User-facing errors: one readable message and an exit code, never a traceback."""


class KitError(Exception):
    """An error the user can fix; the CLI prints its message and exits with `exit_code`."""

    exit_code = 1


class ConfigError(KitError):
    """An environment variable or command-line flag has an invalid value."""

    exit_code = 2


class ModelError(KitError):
    """The model file is missing, truncated, corrupt or cannot be loaded."""

    exit_code = 3


class SourceError(KitError):
    """The video source cannot be opened or stopped delivering frames."""

    exit_code = 4


class EngineUnavailableError(KitError):
    """The requested inference engine is not installed on this machine."""

    exit_code = 5
