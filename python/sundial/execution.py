"""Executing one run's task: in this process (a thread) or in a forked child.

run_task is the part both isolations share: it looks the task up, enters
the app's context, calls the function by the args convention and turns
what happened into an Outcome. The runners start it and let the worker
poll, read output from, and stop a run.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import traceback
from dataclasses import dataclass

from .context import RunStopped, _reset_current, _set_current
from .registry import call_task

MAX_ERROR = 4000


@dataclass
class Outcome:
    """Outcome is how a task ended: status "succeeded" or "failed", result, error."""

    status: str
    result: object = None
    error: str | None = None
    exit_code: int | None = None

    def to_json(self):
        return json.dumps({"status": self.status, "result": self.result, "error": self.error,
                           "exit_code": self.exit_code})

    @classmethod
    def from_json(cls, text):
        d = json.loads(text)
        return cls(d["status"], d.get("result"), d.get("error"), d.get("exit_code"))


def error_line(exc):
    """error_line is the last line of an exception's traceback: "ZeroDivisionError: division by zero"."""
    line = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return line[:MAX_ERROR]


def app_context(app):
    """app_context returns app.app_context() when the app has one (Flask), else a no-op."""
    if app is not None and hasattr(app, "app_context"):
        return app.app_context()
    return contextlib.nullcontext()


def run_task(registry, ctx, app=None, hooks=()):
    """run_task executes the run's task here and returns its Outcome; it never raises.

    The traceback of an exception goes to sys.stderr, so that it lands in
    the run's output; the outcome's error is its last line. hooks are
    called with the app inside its context before the task (on_fork hooks).
    """
    if ctx.task not in registry:
        return Outcome("failed", error=f"task {ctx.task!r} is not served by this worker")
    token = _set_current(ctx)
    try:
        fn = registry.get(ctx.task)
        with app_context(app):
            for hook in hooks:
                hook(app)
            result = call_task(fn, ctx.args)
        try:
            json.dumps(result, allow_nan=False)
        except (TypeError, ValueError) as e:
            return Outcome("failed", error=f"the task's result is not JSON-serialisable: {e}"[:MAX_ERROR])
        return Outcome("succeeded", result)
    except SystemExit as e:
        if e.code in (None, 0):
            return Outcome("succeeded")
        return _failed(e)
    except RunStopped as e:
        return Outcome("failed", error=str(e))
    except BaseException as e:  # noqa: BLE001 - a task's failure is its outcome
        return _failed(e)
    finally:
        _reset_current(token)
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()


def _failed(e):
    with contextlib.suppress(Exception):
        traceback.print_exception(type(e), e, e.__traceback__, file=sys.stderr)
    return Outcome("failed", error=error_line(e))


class ThreadRun:
    """ThreadRun executes a run in a thread of this process (isolation "thread").

    Stopping is cooperative: kill() sets the run's stop flag, which the task
    sees as current_run().stop_requested or through check().
    """

    def __init__(self, registry, ctx, app):
        self._outcome = None
        self._done = threading.Event()
        self._ctx = ctx
        self._thread = threading.Thread(target=self._main, args=(registry, ctx, app),
                                        name=f"sundial-run-{ctx.id}", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _main(self, registry, ctx, app):
        try:
            self._outcome = run_task(registry, ctx, app)
        finally:
            self._done.set()

    @property
    def done(self):
        return self._done.is_set()

    def poll(self, timeout):
        """poll waits up to timeout for the run to end; output is captured directly."""
        self._done.wait(timeout)
        return b""

    def kill(self):
        self._ctx._stop.set()

    def outcome(self):
        """outcome is the run's Outcome once done."""
        return self._outcome

    @property
    def completed(self):
        """completed: the task ran to its end (for a thread, always once done)."""
        return self._outcome is not None

    def close(self):
        pass
