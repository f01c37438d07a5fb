"""One small exception hierarchy whose messages name the thing that is wrong."""

from __future__ import annotations


class ZtError(Exception):
    """Base class of every error zt-toolkit raises on purpose."""


class SnapshotError(ZtError):
    """A snapshot that cannot be read: missing, damaged, or of an unknown schema version."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ManifestImportError(ZtError):
    """An import that cannot produce a snapshot (nothing to import, AWS folder missing)."""


class ConfigError(ZtError):
    """An engagement config that does not validate."""


class DiffError(ZtError):
    """Findings that cannot be compared: missing, malformed, or lacking identity columns."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class CheckDefinitionError(ZtError):
    """A check whose metadata breaks the registry's rules (raised at import)."""


class NotAssessed(ZtError):
    """Raised by a check when the data it needs is absent; the runner records `not_assessed`."""


class ReportError(ZtError):
    """A report run that failed; the message names the notebook and the cell."""


class BrowserNotFoundError(ReportError):
    """No usable Chrome, Edge or Chromium for the PDF (none found, or too old)."""
