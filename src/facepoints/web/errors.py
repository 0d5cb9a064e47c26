"""The one error type of the web API: a one-line reason with its HTTP status."""
from __future__ import annotations


class RequestError(ValueError):
    """A request the API refuses: ``str(error)`` is the one-line reason, ``status`` the HTTP code."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
