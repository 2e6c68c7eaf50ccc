"""Sundial's Python package: an API client, a worker, and a Flask extension.

    import sundial

    @sundial.task("send_report")          # a stable task name
    def send_report(to, days=7):
        print("sending to", to)           # captured as the run's output
        return {"sent": 1}                # the run's result (JSON)

Run the worker with ``sundial-worker --tasks myapp.tasks`` (or ``flask
sundial worker``); manage jobs with ``sundial.Client``; migrate a
Flask-APScheduler app with ``from sundial.flask import APScheduler``.
"""

__version__ = "0.1.0"

from .client import Client  # noqa: E402
from .context import RunContext, RunStopped, current_run  # noqa: E402
from .errors import (BadRequest, Conflict, Forbidden, Gone, NotFound, PreconditionFailed,  # noqa: E402
                     ServerError, SundialError, TooManyRequests, TransportError, Unauthorized)
from .forkserver import on_fork  # noqa: E402
from .registry import TaskRegistry, call_task, task, task_name, tasks  # noqa: E402


def __getattr__(name):
    # The worker pulls in threading and the fork server: load it on first use.
    if name == "Worker":
        from .worker import Worker

        return Worker
    raise AttributeError(f"module 'sundial' has no attribute {name!r}")


__all__ = [
    "BadRequest", "Client", "Conflict", "Forbidden", "Gone", "NotFound", "PreconditionFailed",
    "RunContext", "RunStopped", "ServerError", "SundialError", "TaskRegistry", "TooManyRequests",
    "TransportError", "Unauthorized", "Worker", "call_task", "current_run", "on_fork", "task",
    "task_name", "tasks", "__version__",
]
