"""Errors raised by the Sundial client.

Every error the server answers is an RFC 9457 problem document; the client
raises it as a SundialError subclass chosen by its status, carrying the
status, title and detail (and the whole problem as ``problem``). Failures to
reach the server at all are TransportError, whose status is None.
"""

from __future__ import annotations


class SundialError(Exception):
    """SundialError is any failure of a call to a Sundial server."""

    def __init__(self, status, title, detail="", problem=None):
        self.status = status
        self.title = title
        self.detail = detail
        self.problem = dict(problem or {})
        super().__init__(self._message())

    @property
    def field(self):
        """The path of the value at fault, as the server names it (or None)."""
        return self.problem.get("field")

    @property
    def type(self):
        """The problem's type URI (or None)."""
        return self.problem.get("type")

    def _message(self):
        head = f"{self.status} {self.title}" if self.status else self.title
        return f"{head}: {self.detail}" if self.detail else head


class TransportError(SundialError):
    """TransportError: the server could not be reached or did not answer in time."""

    def __init__(self, detail):
        super().__init__(None, "Server unreachable", detail)


class BadRequest(SundialError):
    """BadRequest (400): bad input; ``field`` names the value at fault."""


class Unauthorized(SundialError):
    """Unauthorized (401): no valid token."""


class Forbidden(SundialError):
    """Forbidden (403): the token's role may not do this."""


class NotFound(SundialError):
    """NotFound (404): no such job, run, script or route."""


class Conflict(SundialError):
    """Conflict (409): the job exists, the run has ended, the name is in use…"""


class Gone(SundialError):
    """Gone (410): a worker session that a newer one replaced."""


class PreconditionFailed(SundialError):
    """PreconditionFailed (412): If-Match named an old version."""


class TooManyRequests(SundialError):
    """TooManyRequests (429): too many failed authentications; see retry_after."""

    retry_after = None


class ServerError(SundialError):
    """ServerError (5xx): the server, or a proxy in front of it, failed."""


_BY_STATUS = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    412: PreconditionFailed,
    429: TooManyRequests,
}


def error_for(status, problem):
    """error_for returns the SundialError for an HTTP status and its problem document."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else SundialError
    title = problem.get("title") or "HTTP error"
    return cls(status, title, problem.get("detail") or "", problem)
