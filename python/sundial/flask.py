"""A Flask extension with Flask-APScheduler's surface, backed by a Sundial server.

Migrating is changing one import:

    from sundial.flask import APScheduler     # was: from flask_apscheduler import APScheduler

    scheduler = APScheduler()

    @scheduler.task("cron", id="nightly", hour=3)
    def nightly():
        ...

    scheduler.init_app(app)   # declares the app's jobs on the server
    scheduler.start()         # does nothing: the server schedules

The web processes only *declare* jobs and register their functions under
stable task names; they never execute a task. ``flask sundial worker``
executes them, in the app's context (see README.md).

Task names: the ``task=`` given; else a func string's own text
("app.jobs:expire"); else f"{fn.__module__}:{fn.__qualname__}".

Settings (app.config, else the environment for the SUNDIAL_ ones):
SUNDIAL_URL, SUNDIAL_TOKEN (declaring and management: an admin token),
SUNDIAL_WORKER_TOKEN (``flask sundial worker``; default SUNDIAL_TOKEN),
SUNDIAL_DECLARE_JOBS (default True), SUNDIAL_TIMEOUT (seconds, default 5),
JOBS / SCHEDULER_JOBS, SCHEDULER_TIMEZONE, SCHEDULER_JOB_DEFAULTS.
SCHEDULER_API_ENABLED and the other SCHEDULER_ settings are ignored: the
server has the API and the UI.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket

try:
    import click
    from flask import current_app
    from flask.cli import AppGroup
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(f"sundial.flask needs Flask ({e}): pip install Flask, or apt install python3-flask") from e

from .apscheduler import job_args, job_document, job_options, split_config_job, trigger_spec
from .client import Client
from .declare import declare, replacement
from .errors import (BadRequest, Conflict, NotFound, PreconditionFailed, SundialError)
from .registry import TaskRegistry, task_name
from .registry import tasks as default_tasks

log = logging.getLogger("sundial.flask")

IGNORED = ("SCHEDULER_API_ENABLED", "SCHEDULER_VIEWS_ENABLED", "SCHEDULER_JOBSTORES",
           "SCHEDULER_EXECUTORS", "SCHEDULER_ALLOWED_HOSTS", "SCHEDULER_AUTH")


def _setting(app, key, default=None):
    if key in app.config:
        return app.config[key]
    return os.environ.get(key, default)


def _flag(value):
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)


def _time(text):
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


class Job:
    """Job is a server job seen as an APScheduler Job: id, name, func, args, kwargs, next_run_time."""

    def __init__(self, data, scheduler):
        self.data = data
        self._scheduler = scheduler

    id = property(lambda self: self.data["id"])
    name = property(lambda self: self.data.get("name") or self.data["id"])
    func = property(lambda self: self.data.get("task"), doc="the task name")
    trigger = property(lambda self: self.data.get("trigger"))
    paused = property(lambda self: bool(self.data.get("paused")))
    version = property(lambda self: self.data.get("version"))
    args = property(lambda self: tuple(self.data["args"]) if isinstance(self.data.get("args"), list) else ())
    kwargs = property(lambda self: dict(self.data["args"]) if isinstance(self.data.get("args"), dict) else {})

    @property
    def next_run_time(self):
        """next_run_time is the next fire (aware datetime), None while paused."""
        return None if self.paused else _time(self.data.get("next_run_at"))

    def pause(self):
        return self._scheduler.pause_job(self.id)

    def resume(self):
        return self._scheduler.resume_job(self.id)

    def remove(self):
        self._scheduler.remove_job(self.id)

    def modify(self, **changes):
        return self._scheduler.modify_job(self.id, **changes)

    def reschedule(self, trigger, **trigger_args):
        return self._scheduler.reschedule_job(self.id, trigger, **trigger_args)

    def __repr__(self):
        return f"<Job (id={self.id} task={self.func} next_run_time={self.next_run_time})>"


class _Spec:
    """_Spec is a job as the app wrote it, translated when the app's settings are known."""

    def __init__(self, job_id, func, kwargs, task=None, replace=None):
        self.id = job_id
        self.func = func
        self.kwargs = kwargs
        self.replace = replace
        self.task = task or (func if isinstance(func, str) else task_name(func))


class Sundial:
    """Sundial is the extension: Flask-APScheduler's APScheduler, with jobs kept by a Sundial server.

    Sundial(app) or Sundial() then init_app(app). A Flask-APScheduler
    scheduler object given as the first argument (APScheduler(BackgroundScheduler(timezone=…)))
    only lends its timezone. client and registry default to one built from
    the settings and to sundial.tasks.
    """

    def __init__(self, app=None, scheduler=None, *, client=None, registry=None):
        if app is not None and not hasattr(app, "config") and hasattr(app, "add_job"):
            app, scheduler = scheduler, app  # APScheduler(BackgroundScheduler(...), app)
        self._scheduler_tz = getattr(scheduler, "timezone", None)
        self.app = None
        self.client = client
        self.registry = registry if registry is not None else default_tasks
        self.timezone = None
        self.job_defaults = {}
        self.declare_jobs = True
        self.api_enabled = False
        self.allowed_hosts = ["*"]
        self.host_name = socket.gethostname().lower()
        self._running = False
        self._pending = []
        self._specs = {}
        if app is not None:
            self.init_app(app)

    @property
    def running(self):
        """running is True after start() (which does nothing else: the server schedules)."""
        return self._running

    # --- set up --------------------------------------------------------------

    def init_app(self, app):
        """init_app reads the settings, registers ``flask sundial`` and declares the app's jobs.

        A server that cannot be reached (or refuses the token) is logged as a
        warning: the web process starts anyway and the jobs are declared at
        the next start. A job the server refuses as invalid raises.
        """
        self.app = app
        app.extensions["sundial"] = self
        app.apscheduler = self  # as Flask-APScheduler does
        self.timezone = app.config.get("SCHEDULER_TIMEZONE") or self._scheduler_tz
        self.job_defaults = dict(app.config.get("SCHEDULER_JOB_DEFAULTS") or {})
        self.declare_jobs = _flag(_setting(app, "SUNDIAL_DECLARE_JOBS", True))
        for key in IGNORED:
            if app.config.get(key):
                log.info("%s is ignored: the Sundial server serves the scheduler API and the UI", key)
        if self.client is None:
            url = _setting(app, "SUNDIAL_URL") or os.environ.get("SUNDIAL_SERVER")
            if url:
                self.client = Client(url, _setting(app, "SUNDIAL_TOKEN"),
                                     timeout=float(_setting(app, "SUNDIAL_TIMEOUT", 5)))
        if "sundial" not in app.cli.commands:
            app.cli.add_command(_cli)
        specs, self._pending = self._pending, []
        for entry in app.config.get("SCHEDULER_JOBS") or app.config.get("JOBS") or []:
            specs.append(self._spec_from_config(entry))
        self._declare_all(specs)

    def _spec_from_config(self, entry):
        job, trigger, trigger_args = split_config_job(entry)
        if "id" not in job or "func" not in job:
            raise ValueError(f"sundial: a JOBS entry needs id and func: {entry!r}")
        job_id, func = job.pop("id"), job.pop("func")
        task = job.pop("task", None)
        replace = job.pop("replace_existing", None)
        return _Spec(job_id, func, {**job, "trigger": trigger, **trigger_args}, task, replace)

    # --- declaring -----------------------------------------------------------

    def _register(self, spec):
        self.registry.register(spec.task, spec.func)

    def _document(self, spec):
        kw = dict(spec.kwargs)
        for key in ("jobstore", "executor"):
            kw.pop(key, None)
        trigger = kw.pop("trigger", None)
        job_kw = {k: kw.pop(k) for k in ("args", "kwargs", "name", "options", "tags", "queue",
                                          "max_instances", "coalesce", "misfire_grace_time",
                                          "next_run_time") if k in kw}
        return job_document(spec.id, spec.task, trigger, kw, timezone=self.timezone,
                            job_defaults=self.job_defaults, **job_kw)

    def _declare_all(self, specs):
        docs = []
        for spec in specs:
            self._register(spec)
            self._specs[spec.id] = spec
            docs.append((spec, *self._document(spec)))  # a bad definition raises here, at start
        if not docs:
            return
        if not self.declare_jobs:
            log.info("SUNDIAL_DECLARE_JOBS is off: %d job(s) registered, not declared", len(docs))
            return
        if self.client is None:
            log.warning("SUNDIAL_URL is not set: %d job(s) not declared", len(docs))
            return
        for i, (spec, doc, paused) in enumerate(docs):
            if not self._declare(spec, doc, paused):
                left = [s.id for s, _, _ in docs[i:]]
                log.warning("jobs not declared: %s (they will be at the next start)", ", ".join(left))
                return

    def _declare(self, spec, doc, paused):
        """_declare sends one job; False when the server is away (logged), raises when it is refused."""
        try:
            job, action = declare(self.client, doc, paused=paused, replace=spec.replace is not False)
        except (BadRequest, Conflict):
            raise
        except SundialError as e:
            log.warning("could not declare job %s on %s: %s", spec.id, self.client.url, e,
                        extra={"job_id": spec.id, "task": spec.task})
            return False
        log.log(logging.DEBUG if action == "unchanged" else logging.INFO, "job %s %s", spec.id, action,
                extra={"job_id": spec.id, "task": spec.task})
        return job

    def declare_now(self):
        """declare_now declares every job the app has registered, raising any error (``flask sundial declare``)."""
        if self.client is None:
            raise RuntimeError("sundial: SUNDIAL_URL is not set")
        out = []
        for spec in self._specs.values():
            doc, paused = self._document(spec)
            out.append(declare(self.client, doc, paused=paused, replace=spec.replace is not False))
        return out

    # --- Flask-APScheduler's API ---------------------------------------------

    def task(self, trigger, id=None, **trigger_args):
        """task is a decorator adding a job for the function: @scheduler.task("cron", id="x", hour=3).

        A bare @scheduler.task registers the function as a task without a job.
        """
        if callable(trigger) and id is None and not trigger_args:
            fn = trigger
            self.registry.register(task_name(fn), fn)
            return fn

        def decorate(fn):
            self.add_job(id or fn.__name__, fn, trigger=trigger, **trigger_args)
            return fn

        return decorate

    def add_job(self, id, func, **kwargs):
        """add_job declares a job: func is a callable or "module:function"; see module doc.

        Before init_app it is kept and declared by init_app. replace_existing
        (default: replace) False refuses a job that exists with another
        definition. Returns the Job, or None when it was not declared now.
        """
        task = kwargs.pop("task", None)
        replace = kwargs.pop("replace_existing", None)
        spec = _Spec(id, func, kwargs, task, replace)
        self._register(spec)
        if self.app is None:
            self._document(spec)  # a bad definition raises here, where it is written
            self._pending.append(spec)
            return None
        self._specs[spec.id] = spec
        doc, paused = self._document(spec)
        if not self.declare_jobs or self.client is None:
            return None
        job = self._declare(spec, doc, paused)
        return Job(job, self) if job else None

    def register(self, name, func):
        """register maps a task name to a function without a job (jobs made elsewhere run it)."""
        self.registry.register(name, func)
        return func

    def _api(self):
        if self.client is None:
            raise RuntimeError("sundial: SUNDIAL_URL is not set")
        return self.client

    def get_jobs(self, jobstore=None):
        """get_jobs returns every job on the server the token may see."""
        return [Job(j, self) for j in self._api().jobs.list()]

    def get_job(self, id, jobstore=None):
        """get_job returns the Job, or None."""
        try:
            return Job(self._api().jobs.get(id), self)
        except NotFound:
            return None

    def pause_job(self, id, jobstore=None):
        """pause_job stops the job's fires until resumed."""
        return Job(self._api().jobs.pause(id), self)

    def resume_job(self, id, jobstore=None):
        """resume_job lets the job fire again."""
        return Job(self._api().jobs.resume(id), self)

    def remove_job(self, id, jobstore=None):
        """remove_job deletes the job (its run history stays); NotFound if there is none."""
        self._api().jobs.delete(id)
        self._specs.pop(id, None)

    delete_job = remove_job  # Flask-APScheduler's name

    def run_job(self, id, jobstore=None, wait=False, timeout=None):
        """run_job asks the server to run the job now and returns the run.

        Unlike Flask-APScheduler it does not call the function in this
        process: a worker runs it. wait=True returns once the run has ended.
        """
        run = self._api().jobs.run_now(id)
        return self._api().runs.wait(run["id"], timeout=timeout) if wait else run

    def modify_job(self, id, jobstore=None, **changes):
        """modify_job changes func, args, kwargs, name, trigger (with its args) or options of a job."""
        client = self._api()
        for _ in range(8):
            stored = client.jobs.get(id)
            doc = self._modified(stored, dict(changes))
            pause = "next_run_time" in changes and changes["next_run_time"] is None
            try:
                job = client.jobs.replace(id, replacement(doc, stored), if_match=stored.get("version"),
                                          declare_task=doc["task"] != stored.get("task"))
            except PreconditionFailed:
                continue
            if pause and not job.get("paused"):
                job = client.jobs.pause(id)
            return Job(job, self)
        raise Conflict(409, "Conflict", f"job {id!r} kept changing while it was modified", {"status": 409})

    def reschedule_job(self, id, jobstore=None, trigger=None, **trigger_args):
        """reschedule_job gives the job a new trigger."""
        return self.modify_job(id, trigger=trigger, **trigger_args)

    def _modified(self, stored, changes):
        """_modified is the stored job's document with APScheduler-style changes applied."""
        doc = {k: stored[k] for k in ("id", "task", "name", "args") if k in stored}
        task = changes.pop("task", None)
        if "func" in changes:
            spec = _Spec(stored["id"], changes.pop("func"), {}, task)
            self._register(spec)
            task = spec.task
        if task:
            doc["task"] = task
        if "args" in changes or "kwargs" in changes:
            value = job_args(changes.pop("args", None), changes.pop("kwargs", None), stored["id"])
            doc.pop("args", None)
            if value is not None:
                doc["args"] = value
        if "name" in changes:
            doc["name"] = changes.pop("name")
        opts = {k: changes.pop(k) for k in ("max_instances", "coalesce", "misfire_grace_time", "options")
                if k in changes}
        doc["options"] = {**(stored.get("options") or {}), **job_options(opts)}
        changes.pop("next_run_time", None)
        trigger = changes.pop("trigger", None)
        if trigger is None:
            if changes:
                raise ValueError(f"sundial: {', '.join(sorted(changes))}: give trigger= with trigger args")
            doc["trigger"] = stored["trigger"]
        else:
            doc["trigger"] = trigger_spec(trigger, changes, self.timezone, stored["id"])
        return doc

    def start(self, paused=False):
        """start does nothing but note it: the Sundial server schedules the jobs."""
        self._running = True
        log.info("start(): the Sundial server schedules the jobs; run their tasks with `flask sundial worker`")

    def shutdown(self, wait=True):
        """shutdown does nothing but note it: the server keeps scheduling."""
        self._running = False

    def authenticate(self, func):
        """authenticate is accepted and ignored: the server authenticates its API."""
        return func


APScheduler = Sundial


# --- flask sundial … ---------------------------------------------------------

_cli = AppGroup("sundial", help="Sundial: run the worker, declare the app's jobs.")


def _ext():
    ext = current_app.extensions.get("sundial")
    if ext is None:
        raise click.ClickException("the app has no Sundial extension (Sundial(app) / init_app)")
    return ext


@_cli.command("worker")
@click.option("--name", help="worker name, unique among live workers (default host-pid)")
@click.option("--capacity", type=int, default=8, show_default=True, help="runs at once")
@click.option("--isolation", type=click.Choice(["fork", "thread"]), default=None,
              help="fork a child per run from this app (default) or run in threads")
@click.option("--grace", type=float, default=30.0, show_default=True,
              help="seconds a graceful stop waits for running runs")
@click.option("--tasks", multiple=True, help="more modules registering tasks (repeatable)")
@click.option("--replace", is_flag=True, help="take over the name of a previous process known to be dead")
@click.option("--log-level", default="INFO", show_default=True)
@click.option("--log-format", type=click.Choice(["json", "text"]), default="json", show_default=True)
def _worker_command(name, capacity, isolation, grace, tasks, replace, log_level, log_format):
    """Execute the app's tasks: the app is this one, created once."""
    from .logs import setup_logging
    from .worker import FatalError, Worker

    app = current_app._get_current_object()
    ext = _ext()
    setup_logging(log_level.upper(), log_format)
    url = _setting(app, "SUNDIAL_URL") or os.environ.get("SUNDIAL_SERVER")
    token = _setting(app, "SUNDIAL_WORKER_TOKEN") or _setting(app, "SUNDIAL_TOKEN")
    if not url or not token:
        raise click.ClickException("set SUNDIAL_URL and SUNDIAL_WORKER_TOKEN (or SUNDIAL_TOKEN)")
    try:
        worker = Worker(Client(url, token), app=app, tasks=ext.registry, name=name, capacity=capacity,
                        isolation=isolation, grace=grace, task_modules=tasks, replace=replace)
        worker.run()
    except (FatalError, ImportError, ValueError) as e:
        raise click.ClickException(str(e)) from None


@_cli.command("declare")
def _declare_command():
    """Declare the app's jobs now, failing on any error (for deploy steps)."""
    for job, action in _ext().declare_now():
        click.echo(f"{job['id']}: {action}")


__all__ = ["APScheduler", "Job", "Sundial", "TaskRegistry"]
