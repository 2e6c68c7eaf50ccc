"""The run a task executes, available to the task as sundial.current_run()."""

from __future__ import annotations

import contextvars
import datetime
import threading
from dataclasses import dataclass, field


class RunStopped(Exception):
    """RunStopped is raised by RunContext.check() once the worker asked the run to stop."""


def _time(text):
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class RunContext:
    """RunContext describes the run being executed.

    ``scheduled_at`` and ``started_at`` are aware datetimes (None if the
    server sent none); ``fire_key`` is the same for every attempt of one
    fire: use it to de-duplicate side effects. ``run`` is the run as the
    server sent it.
    """

    id: str
    job_id: str
    task: str
    attempt: int
    scheduled_at: datetime.datetime | None
    started_at: datetime.datetime | None
    timeout_ms: int
    manual: bool
    args: object
    run: dict
    worker: str = ""
    _stop: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    _sink: object = field(default=None, repr=False, compare=False)

    @classmethod
    def from_run(cls, run, worker="", stop=None, sink=None):
        """from_run builds the context of a run as the claim answered it."""
        return cls(
            id=run["id"], job_id=run.get("job_id", ""), task=run.get("task", ""),
            attempt=int(run.get("attempt") or 1), scheduled_at=_time(run.get("scheduled_at")),
            started_at=_time(run.get("started_at")), timeout_ms=int(run.get("timeout_ms") or 0),
            manual=bool(run.get("manual")), args=run.get("args"), run=run, worker=worker,
            _stop=stop or threading.Event(), _sink=sink)

    @property
    def fire_key(self):
        """fire_key is "job_id@scheduled_at", the same for every attempt of one fire."""
        return f"{self.job_id}@{self.run.get('scheduled_at', '')}"

    @property
    def stop_requested(self):
        """stop_requested is true once the run was canceled, timed out or fenced.

        With isolation "thread" stopping is cooperative: long tasks should
        look at it (or call check()) between steps. With "fork" the process
        is killed and a task never needs to.
        """
        return self._stop.is_set()

    def check(self):
        """check raises RunStopped if the worker asked the run to stop."""
        if self._stop.is_set():
            raise RunStopped(f"run {self.id} was asked to stop")


_current = contextvars.ContextVar("sundial_current_run", default=None)


def current_run():
    """current_run returns the RunContext of the run executing here, or None outside a run."""
    return _current.get()


def _set_current(ctx):
    return _current.set(ctx)


def _reset_current(token):
    _current.reset(token)
