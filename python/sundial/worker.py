"""The worker: serves task names to a Sundial server and executes their runs.

It speaks the protocol of docs/workers.md: open a session, long-poll for
runs (as many as it has free slots), renew their leases on a heartbeat,
stream their output, report their outcome, and close the session on a
graceful stop.

    worker = Worker(Client(url, token), tasks=registry, app_factory=create_app)
    worker.run()          # until SIGTERM/SIGINT (or worker.stop()); returns 0

Each run executes in a child forked from the warm app (isolation "fork",
the default where os.fork exists), supervised by the fork server, or in a
thread of this process (isolation "thread": stopping is then cooperative).
See README.md.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import signal
import socket
import threading
import time

from . import __version__
from .client import Client, Poll, json_size
from .context import RunContext
from .errors import (Conflict, Forbidden, Gone, NotFound, SundialError, TooManyRequests,
                     TransportError, Unauthorized)
from .execution import ThreadRun
from .forkserver import ForkServer
from .logs import RunLogger
from .output import OutputBuffer, install_thread_capture
from .registry import TaskRegistry
from .registry import tasks as default_tasks

_NAME = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
FENCE = 0.75  # of the lease: stop a run whose lease was not renewed for this long
KILL = 0.875  # of the lease: the fork server kills a child not renewed for this long

# What the server keeps of a report (docs/workers.md): a result whole or
# refused (400), an error cut; a request body of at most MAX_BODY (413).
MAX_RESULT = 256 << 10
MAX_ERROR = 16 << 10
MAX_BODY = 1 << 20
_BODY_SLACK = 4 << 10  # the other fields of a report

log = logging.getLogger("sundial.worker")


class FatalError(Exception):
    """FatalError stops a worker: it cannot go on (bad token, bad name, no tasks)."""


class Worker:
    """Worker executes the runs of its tasks that a Sundial server hands out.

    client: a Client, or the server URL (then token is its worker token).
    name: unique among live workers; default "host-pid".
    tasks: a TaskRegistry or a dict name → callable; default sundial.tasks,
      plus the tasks of the app's Flask extension, if any.
    capacity: runs at once (1-1000).
    isolation: "fork" (default on POSIX) or "thread".
    app / app_factory: the app object, or a callable returning it, created
      once, before the task modules are imported; runs execute inside its
      app_context() when it has one (Flask).
    task_modules: modules imported after the app is created, to register tasks.
    on_fork: callables hook(app) run in each forked child before its task.
    grace: seconds a graceful stop waits for running runs before it
      interrupts them.
    replace: take over the name of a previous process known to be dead.
    wait_ms, output_interval, session_retry: the claim's long-poll, how
      often output is streamed, and how often a refused session is retried
      before the lease is known (afterwards: a third of the lease).
    """

    def __init__(self, client, token=None, *, name=None, tasks=None, capacity=8, isolation=None,
                 app=None, app_factory=None, task_modules=(), on_fork=(), grace=30.0, replace=False,
                 wait_ms=20000, output_interval=2.0, session_retry=5.0, logger=None):
        self.client = Client(client, token) if isinstance(client, str) else client
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        if not _NAME.match(self.name):
            raise ValueError(f"sundial: worker name {self.name!r} must be 1-100 letters, digits or ._:-")
        if not 1 <= int(capacity) <= 1000:
            raise ValueError(f"sundial: capacity {capacity} must be 1 to 1000")
        self.capacity = int(capacity)
        if isolation is None:
            isolation = "fork" if hasattr(os, "fork") else "thread"
        if isolation not in ("fork", "thread"):
            raise ValueError(f"sundial: isolation {isolation!r} must be 'fork' or 'thread'")
        if isolation == "fork" and not hasattr(os, "fork"):
            raise ValueError("sundial: isolation 'fork' needs os.fork; use 'thread' here")
        self.isolation = isolation
        if isinstance(tasks, TaskRegistry) or tasks is None:
            self.registry = tasks if tasks is not None else default_tasks
        else:
            self.registry = TaskRegistry(tasks)
        self.app = app
        self._app_factory = app_factory
        self._task_modules = list(task_modules)
        self._hooks = list(on_fork)
        self.grace = float(grace)
        self.replace = replace
        self.wait_ms = int(wait_ms)
        self.output_interval = float(output_interval)
        self.session_retry = float(session_retry)
        self.log = RunLogger(logger or log, {"worker": self.name})

        # Known from the session's answer.
        self.lease_ttl = 15.0
        self.heartbeat_every = 5.0
        self.output_limit = 65536

        self._cond = threading.Condition()
        self._active = {}  # run id → Execution
        self._session = None
        self._stopping = threading.Event()
        self._force = threading.Event()
        self._closed = threading.Event()
        self._fatal = None
        self._forks = None
        self._prepared = False
        self._claimer = None
        self._poll = None  # the claim's long poll in progress

    # --- life cycle ----------------------------------------------------------

    def prepare(self):
        """prepare creates the app, imports task modules and starts the fork server.

        run() calls it; call it yourself to fail early. It must run before
        this process starts threads of its own when isolation is "fork".
        """
        if self._prepared:
            return
        if self._app_factory is not None and self.app is None:
            self.app = self._app_factory()
        for module in self._task_modules:
            importlib.import_module(module)
        ext = (getattr(self.app, "extensions", None) or {}).get("sundial")
        ext_registry = getattr(ext, "registry", None)
        if ext_registry is not None and ext_registry is not self.registry:
            merged = TaskRegistry()
            merged.update(self.registry)
            merged.update(ext_registry)
            self.registry = merged
        if not len(self.registry):
            raise FatalError("sundial: no tasks registered: register functions with @sundial.task(...) "
                             "in modules given with --tasks (or imported by the app)")
        self.registry.resolve()
        if self.isolation == "fork" and self._forks is None:
            self._forks = ForkServer(self.registry, self.app, self._hooks, self.name).start()
        elif self.isolation == "thread":
            install_thread_capture()
        self._prepared = True

    def run(self):
        """run serves until stop() (or SIGTERM/SIGINT in the main thread) and returns 0.

        A fatal error (the token refused, a bad name) stops the worker and is
        raised, after the runs in progress were stopped and reported.
        """
        self.prepare()
        restore = self._install_signals()
        try:
            self.log.info("worker starting", extra={"status": "starting"})
            self.log.info("serving %d task(s): %s; capacity %d, isolation %s", len(self.registry),
                          ", ".join(self.registry.names()), self.capacity, self.isolation)
            for target, name in ((self._claim_loop, "claim"), (self._heartbeat_loop, "heartbeat")):
                t = threading.Thread(target=target, name=f"sundial-{name}", daemon=True)
                t.start()
                if name == "claim":
                    self._claimer = t
            while not self._stopping.wait(0.5):
                pass
            self._shutdown()
        finally:
            restore()
            if self._forks is not None:
                self._forks.close()
                self._forks = None
        if self._fatal is not None:
            raise self._fatal
        return 0

    def stop(self, force=False):
        """stop asks the worker to stop gracefully (force: interrupt running runs at once)."""
        if force:
            self._force.set()
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()

    def _install_signals(self):
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def handle(signum, _frame):
            if self._stopping.is_set():
                self.log.warning("second %s: interrupting running runs now", signal.Signals(signum).name)
                self.stop(force=True)
            else:
                self.log.info("%s: stopping gracefully (grace %ss)", signal.Signals(signum).name, self.grace)
                self.stop()

        old = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
        return lambda: [signal.signal(s, h) for s, h in old.items()]

    def _stop_claiming(self):
        """_stop_claiming ends the open long poll and waits for the claim loop to give back what it got.

        The half-closed connection tells the server the worker went away (it
        gives back what it claims from then on); an answer already on its
        way is read, and its runs released, before the session closes.
        """
        with self._cond:
            poll = self._poll
        if poll is not None:
            poll.abort()
        claimer = self._claimer
        if claimer is None:
            return
        claimer.join(3.0)
        if claimer.is_alive() and poll is not None:
            poll.abort(hard=True)  # a server, or a proxy, that does not answer a half-closed poll
            claimer.join(5.0)
        if claimer.is_alive():
            self.log.warning("the claim loop did not end; runs it receives now are recovered by their lease")

    def _shutdown(self):
        self._stop_claiming()
        deadline = time.monotonic() + (0 if self._force.is_set() else self.grace)
        with self._cond:
            if self._active:
                self.log.info("waiting up to %ss for %d run(s)", self.grace, len(self._active))
            while self._active and time.monotonic() < deadline and not self._force.is_set():
                self._cond.wait(0.2)
            left = list(self._active.values())
        for ex in left:
            ex.stop("interrupted", "the worker shut down before the task ended")
        # Killing and reporting take a moment; a thread that ignores its stop
        # flag is left behind.
        end = time.monotonic() + max(5.0, self.lease_ttl)
        with self._cond:
            while self._active and time.monotonic() < end:
                self._cond.wait(0.2)
        with self._cond:
            # A heartbeat answered 410 from here on is the close, not a replacement.
            session, self._session = self._session, None
        if session is not None:
            try:
                self.client.sessions.close(session)
                self.log.info("session closed", extra={"session": session})
            except SundialError as e:
                self.log.warning("could not close the session: %s", e, extra={"session": session})
        self._closed.set()
        self.log.info("worker stopped", extra={"status": "stopped"})

    def _fail(self, err):
        self._fatal = err
        self.log.error("cannot go on: %s", err)
        self.stop()

    # --- session -------------------------------------------------------------

    def _open_session(self):
        """_open_session opens a session, retrying while the name is in use or the server is away."""
        backoff = _Backoff()
        while not self._stopping.is_set():
            try:
                ans = self.client.sessions.open(
                    self.name, self.registry.names(), self.capacity, host=socket.gethostname(),
                    pid=os.getpid(), version=f"sundial-python {__version__}", replace=self.replace)
            except Conflict as e:
                wait = self.session_retry
                if (e.type or "").endswith("/worker-session-limit"):
                    # Other workers of the token must stop first: retry slowly.
                    wait = max(wait, 60.0)
                    self.log.error("the token's workers hold the most live sessions the server allows (%s); "
                                   "retrying in %.0fs", e.detail or e.title, wait)
                    self._stopping.wait(wait)
                    continue
                self.log.warning("name in use by a live worker (%s); retrying in %.1fs", e.detail or e.title, wait)
                self._stopping.wait(wait)
                continue
            except (TransportError, TooManyRequests) as e:
                self._retry_later("open a session", e, backoff)
                continue
            except SundialError as e:
                if e.status is not None and e.status >= 500:
                    self._retry_later("open a session", e, backoff)
                    continue
                raise FatalError(f"sundial: the server refused the session: {e}") from None
            self._apply(ans)
            with self._cond:
                self._session = ans["session"]
            self.log.info("session open: lease %sms, heartbeat %sms, tasks %s", ans.get("lease_ttl_ms"),
                          ans.get("heartbeat_ms"), ", ".join(ans.get("tasks") or []),
                          extra={"session": ans["session"]})
            return ans["session"]
        return None

    def _apply(self, ans):
        if ans.get("lease_ttl_ms"):
            self.lease_ttl = ans["lease_ttl_ms"] / 1000
            self.session_retry = self.lease_ttl / 3
        if ans.get("heartbeat_ms"):
            self.heartbeat_every = ans["heartbeat_ms"] / 1000
        if ans.get("output_limit"):
            self.output_limit = int(ans["output_limit"])

    def _session_gone(self, session):
        """A newer session took this one's name: stop every run, unreported, and open a new one."""
        with self._cond:
            if self._session != session:
                return
            self._session = None
            runs = [ex for ex in self._active.values() if ex.session == session]
        self.log.warning("session replaced by a newer one (410): stopping %d run(s)", len(runs),
                         extra={"session": session})
        for ex in runs:
            ex.stop("lost", "the session was replaced")

    def _retry_later(self, what, err, backoff):
        delay = backoff.next()
        self.log.warning("could not %s: %s; retrying in %.1fs", what, err, delay)
        self._stopping.wait(delay)

    # --- claiming ------------------------------------------------------------

    def _claim_loop(self):
        backoff = _Backoff()
        while not self._stopping.is_set():
            session = self._session
            if session is None:
                try:
                    session = self._open_session()
                except FatalError as e:
                    self._fail(e)
                    return
                if session is None:
                    return
            free = self._free_slots()
            if not free:
                continue
            poll = Poll()
            with self._cond:
                self._poll = poll
            if self._stopping.is_set():
                return  # _stop_claiming may have looked before self._poll was set
            started = time.monotonic()
            try:
                runs = self.client.sessions.claim(session, free, self.wait_ms, poll=poll)
                answered = time.monotonic()
            except (Gone, NotFound):
                self._session_gone(session)
                continue
            except (Unauthorized, Forbidden) as e:
                self._fail(FatalError(f"sundial: the server refused the token: {e}"))
                return
            except SundialError as e:
                if poll.aborted:
                    self.log.debug("claim ended by the stop: %s", e)
                    return
                self._retry_later("claim runs", e, backoff)
                continue
            finally:
                with self._cond:
                    self._poll = None
            backoff.reset()
            for run in runs:
                if self._stopping.is_set() or self._session != session:
                    self._release(run, session, "received while stopping")
                    continue
                base = self._lease_start(run, started, answered)
                age = time.monotonic() - base
                if age >= FENCE * self.lease_ttl:
                    # This process was frozen (or the answer slow) past the
                    # point where a run may start. Given back, the run is due
                    # again at once; left alone, it would end lost, and run
                    # again only if its job allows a retry.
                    self.log.warning("a claimed run arrived with its lease %.0f ms old (3/4 of the lease "
                                     "used): not started, given back", age * 1000, extra=_fields(run))
                    self._release(run, session, "received too late")
                    continue
                self._start(run, session, base)

    def _release(self, run, session, why):
        """_release gives back a run received and not started (why: the worker is stopping, or read it too late).

        The server recorded it running when it answered: left alone, it
        would be lost a lease later and retried only then, if at all.
        """
        if self._session != session:
            return  # replaced (410): the server took the session's runs back already
        try:
            self.client.sessions.release(session, run["id"], timeout=5)
            self.log.info("%s: given back", why, extra=_fields(run))
        except (Conflict, Gone, NotFound) as e:
            self.log.info("%s; not held any more (%s)", why, e.status, extra=_fields(run))
        except SundialError as e:
            self.log.warning("could not give back a run %s (its lease recovers it): %s",
                             why, e, extra=_fields(run))

    def _lease_start(self, run, asked, answered):
        """When the run's lease began, at the earliest, on this process's monotonic clock.

        The poll may have waited long before the server claimed the run: the
        lease dates from the ask plus the server's wait before claiming
        (claimed_after_ms), no later than the claim on this clock. Dating it
        from the answer's arrival would trust a read that a freeze may have
        delayed past the lease."""
        after = run.get("claimed_after_ms")
        if after is None:
            return asked
        return asked + min(after / 1000, answered - asked)

    def _free_slots(self):
        with self._cond:
            while len(self._active) >= self.capacity and not self._stopping.is_set():
                self._cond.wait(1.0)
            if self._stopping.is_set():
                return 0
            return self.capacity - len(self._active)

    def _start(self, run, session, renewed_at):
        ex = Execution(self, run, session, renewed_at)
        with self._cond:
            self._active[ex.id] = ex
        handle = None
        if self.isolation == "fork":
            # Handed to the fork server here, before the supervisor thread
            # starts and this loop polls again: the child runs meanwhile
            # (a no-op run's report came about 0.8 ms sooner so).
            try:
                handle = self._forks.spawn(run, kill_at=ex.kill_at(self.lease_ttl))
            except Exception:  # noqa: BLE001 - the supervisor tries again, and logs
                handle = None
        # Logged here rather than by the supervisor, which would wait for the
        # GIL while this loop sends its next poll (0.7 ms later on a no-op run).
        ex.log.info("run started")
        t = threading.Thread(target=self._supervise, args=(ex, handle), name=f"sundial-supervise-{ex.id}",
                             daemon=True)
        t.start()

    # --- heartbeats ----------------------------------------------------------

    def _heartbeat_loop(self):
        failing = False
        next_at = time.monotonic()
        while not self._closed.wait(max(0.0, next_at - time.monotonic())):
            session = self._session
            if session is None:
                next_at = time.monotonic() + 0.05  # beat as soon as a session opens
                continue
            next_at = time.monotonic() + self.heartbeat_every
            with self._cond:
                runs = [ex for ex in self._active.values() if ex.session == session]
            started = time.monotonic()
            try:
                ans = self.client.sessions.heartbeat(session, [ex.id for ex in runs],
                                                     timeout=max(1.0, self.heartbeat_every))
            except Gone:
                self._session_gone(session)
                continue
            except SundialError as e:
                if not failing:
                    self.log.warning("heartbeat failed: %s", e, extra={"session": session})
                failing = True
                continue
            if failing:
                self.log.info("heartbeat works again", extra={"session": session})
            failing = False
            if ans.get("lease_ttl_ms"):
                self.lease_ttl = ans["lease_ttl_ms"] / 1000
            held, cancel = set(ans.get("held") or []), set(ans.get("cancel") or [])
            for ex in runs:
                if ex.id in held:
                    ex.renewed_at = started
                    ex.renew(self.lease_ttl)
                if ex.id in cancel:
                    ex.stop("canceled", "canceled on request")
                elif ex.id not in held:
                    ex.stop("lost", "the server no longer holds the run for this worker")

    # --- one run -------------------------------------------------------------

    def _supervise(self, ex, handle=None):
        try:
            if handle is None and self.isolation == "fork":  # _start could not hand it over
                handle = self._forks.spawn(ex.run, kill_at=ex.kill_at(self.lease_ttl))
            elif handle is None:
                handle = ThreadRun(self.registry, ex.ctx, self.app).start()
            ex.attach(handle, self.lease_ttl)
            self._watch(ex, handle)
            self._conclude(ex, handle)
        except Exception:  # noqa: BLE001 - a bug here must not take the worker down
            ex.log.exception("supervising the run failed")
        finally:
            if handle is not None:
                handle.close()
            with self._cond:
                self._active.pop(ex.id, None)
                self._cond.notify_all()

    def _watch(self, ex, handle):
        started = time.monotonic()
        deadline = started + ex.timeout if ex.timeout else None
        killed = False
        pushed, last_push = 0, started
        while not handle.done:
            ex.output.write(handle.poll(0.1))
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                ex.stop("timed_out", f"timed out after {_seconds(ex.timeout)}")
            lapse = now - ex.renewed_at
            if lapse > FENCE * self.lease_ttl:
                ex.stop("interrupted", f"lease not renewed for {lapse * 1000:.0f} ms (3/4 of the "
                        f"{self.lease_ttl * 1000:.0f} ms lease): stopped so that it cannot run twice")
            if ex.reason is not None and not killed:
                ex.log.info("stopping the run: %s", ex.detail, extra={"status": ex.reason})
                handle.kill()
                killed = True
            if (ex.output.total != pushed and now - last_push >= self.output_interval
                    and ex.reason != "lost"):
                pushed, last_push = ex.output.total, now
                self._push_output(ex)
        if hasattr(handle, "drain"):
            ex.output.write(handle.drain())

    def _push_output(self, ex):
        try:
            self.client.sessions.output(ex.session, ex.id, fit_output(ex.output.text(), MAX_BODY - _BODY_SLACK),
                                        timeout=5)
        except SundialError as e:
            ex.log.debug("could not stream output: %s", e)

    def _conclude(self, ex, handle):
        if ex.reason == "lost":
            ex.log.warning("run stopped and not reported: %s", ex.detail, extra={"status": "lost"})
            return
        if getattr(handle, "fenced", False) and not handle.completed:
            # The fork server killed it: this process did not renew in time
            # (it was frozen, or too busy to watch).
            ex.stop("interrupted", f"killed by its supervisor: the lease was not renewed for 7/8 of the "
                    f"{self.lease_ttl * 1000:.0f} ms lease, so that it cannot run twice")
        outcome = handle.outcome()
        stopped = ex.reason is not None and (self.isolation == "thread" or not handle.completed)
        if stopped:
            status, result, error, code = ex.reason, None, ex.detail, None
        else:
            status, result, error, code = outcome.status, outcome.result, outcome.error, outcome.exit_code
        if status == "succeeded" and result is not None:
            size = json_size(result)
            if size > MAX_RESULT:
                status, result = "failed", None
                error = f"the result is {size} bytes of JSON, more than the {MAX_RESULT} a run keeps"
        self._report(ex, status, result, error, code)

    def _report(self, ex, status, result, error, exit_code):
        backoff = _Backoff(first=0.2, most=2.0)
        error = cap_error(error)
        output = fit_output(ex.output.text(), MAX_BODY - _BODY_SLACK - json_size(result) - json_size(error))
        retried = False
        while True:
            try:
                self.client.sessions.finish(ex.session, ex.id, attempt=ex.attempt, status=status,
                                            result=result, error=error, exit_code=exit_code,
                                            output=output, timeout=10)
                level = logging.INFO if status == "succeeded" else logging.WARNING
                ex.log.log(level, "run %s%s", status, f": {error}" if error else "", extra={"status": status})
                return
            except Conflict as e:
                ex.log.warning("outcome %s refused (409: %s): the run was taken elsewhere", status,
                               e.detail or e.title, extra={"status": status})
                return
            except (NotFound, Gone) as e:
                ex.log.error("outcome %s refused: %s", status, e, extra={"status": status})
                return
            except SundialError as e:
                if e.status in (400, 413) and not retried:
                    # A result or a body the server will not keep: a run left
                    # unreported would be lost and run again. Report it failed,
                    # with what was refused as its short error.
                    ex.log.warning("outcome %s refused (%s); reporting it failed", status, e,
                                   extra={"status": status})
                    retried = True
                    error = cap_error(f"the server refused the report of the run's outcome ({status}): {e}", 1000)
                    status, result = "failed", None
                    output = fit_output(output, 16 << 10)
                    continue
                if e.status is not None and e.status < 500 and not isinstance(e, TooManyRequests):
                    ex.log.error("outcome %s refused: %s", status, e, extra={"status": status})
                    return
                if time.monotonic() - ex.renewed_at > self.lease_ttl:
                    ex.log.error("could not report %s before the lease ended: %s", status, e,
                                 extra={"status": status})
                    return
                time.sleep(backoff.next())


class Execution:
    """Execution is the worker's record of one run it executes."""

    def __init__(self, worker, run, session, renewed_at):
        self.run = run
        self.id = run["id"]
        self.attempt = run.get("attempt", 1)
        self.session = session
        self.renewed_at = renewed_at
        self.timeout = (run.get("timeout_ms") or 0) / 1000
        self.output = OutputBuffer(worker.output_limit)
        # Isolation "thread" captures print() and logging into output via _sink.
        self.ctx = RunContext.from_run(run, worker.name, sink=self.output)
        self.log = RunLogger(worker.log.logger, {"worker": worker.name, "session": session, **_fields(run)})
        self.reason = None
        self.detail = None
        self.handle = None
        self._lock = threading.Lock()

    def kill_at(self, lease_ttl):
        """kill_at is when the run's supervisor kills it unless renewed: 7/8 of the lease after its renewal."""
        return self.renewed_at + KILL * lease_ttl

    def attach(self, handle, lease_ttl):
        """attach records the run's handle; a renewal meanwhile is passed on."""
        with self._lock:
            self.handle = handle
        self.renew(lease_ttl)

    def renew(self, lease_ttl):
        """renew passes the lease's renewal (renewed_at) on to the run's supervisor."""
        with self._lock:
            handle = self.handle
        if handle is not None and hasattr(handle, "renew"):
            handle.renew(self.kill_at(lease_ttl))

    def stop(self, reason, detail):
        """stop records why the run must stop; the first reason wins."""
        with self._lock:
            if self.reason is None:
                self.reason, self.detail = reason, detail
                self.ctx._stop.set()


def cap_error(error, most=MAX_ERROR):
    """cap_error cuts an error to at most `most` bytes of UTF-8 (the server cuts at 16 KiB)."""
    if error is None:
        return None
    raw = error.encode("utf-8", "backslashreplace")
    if len(raw) <= most:
        return error
    return raw[:most - 6].decode("utf-8", "ignore") + " […]"


def fit_output(text, budget):
    """fit_output is the tail of text whose JSON takes at most budget bytes of a request."""
    budget = max(0, budget)
    size = json_size(text)
    n = len(text)
    while size > budget and n > 0:
        n = int(n * budget / size * 0.95)
        size = json_size(text[len(text) - n:]) if n > 0 else 2
    return text[len(text) - n:] if n > 0 else ""


def _fields(run):
    return {"job_id": run.get("job_id"), "run_id": run.get("id"), "task": run.get("task"),
            "attempt": run.get("attempt")}


def _seconds(s):
    return f"{s:g}s"


class _Backoff:
    def __init__(self, first=1.0, most=30.0):
        self.first, self.most, self.current = first, most, 0.0

    def next(self):
        self.current = self.first if not self.current else min(self.most, self.current * 2)
        return self.current

    def reset(self):
        self.current = 0.0


if __name__ == "__main__":
    import sys

    from .cli import main

    sys.exit(main())
