"""Tasks the worker tests run (also imported by a worker subprocess with --tasks worktasks)."""

import logging
import os
import subprocess
import sys
import time

import sundial

registry = sundial.TaskRegistry()


@registry.task("add")
def add(a, b):
    return a + b


@registry.task("echo")
def echo(*args, **kwargs):
    return {"args": list(args), "kwargs": kwargs}


@registry.task("one")
def one(x):
    return {"got": x}


@registry.task("boom")
def boom():
    return 1 / 0


@registry.task("not_json")
def not_json():
    return object()


@registry.task("sleepy")
def sleepy(seconds):
    print(f"started pid={os.getpid()}", flush=True)
    time.sleep(seconds)
    return "done"


@registry.task("spawner")
def spawner(pidfile, seconds):
    """Starts a subprocess in the run's process group and writes "child grandchild" pids to pidfile."""
    sub = subprocess.Popen(["sleep", str(seconds)])
    with open(pidfile + ".tmp", "w") as f:
        f.write(f"{os.getpid()} {sub.pid}")
    os.rename(pidfile + ".tmp", pidfile)
    sub.wait()
    return "slept"


@registry.task("whoami")
def whoami():
    """The pid of the process that runs the task, and of its process group."""
    return {"pid": os.getpid(), "pgid": os.getpgid(0)}


@registry.task("gated")
def gated(path):
    """Waits until path exists (the test opens the gate), then returns."""
    print(f"waiting pid={os.getpid()}", flush=True)
    while not os.path.exists(path):
        time.sleep(0.005)
    return "through"


@registry.task("huge_result")
def huge_result(n):
    return "x" * n


@registry.task("chatty")
def chatty(n, pause):
    for i in range(n):
        print(f"line {i}", flush=True)
        time.sleep(pause)
    return n


@registry.task("big")
def big(n):
    sys.stdout.write("x" * n + "END\n")
    return n


@registry.task("context")
def context():
    run = sundial.current_run()
    return {"id": run.id, "job_id": run.job_id, "task": run.task, "attempt": run.attempt,
            "scheduled_at": run.scheduled_at.isoformat(), "fire_key": run.fire_key}


@registry.task("logs")
def logs():
    print("from print")
    logging.getLogger("app").warning("from logging")
    print("to stderr", file=sys.stderr)


@registry.task("cooperative")
def cooperative(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sundial.current_run().check()
        time.sleep(0.02)
    return "finished"


@registry.task("flask_config")
def flask_config():
    import flask

    return flask.current_app.config["GREETING"]


@registry.task("db_write")
def db_write(text):
    from flaskapp import Note, db

    db.session.add(Note(text=text))
    db.session.commit()
    return Note.query.count()


@registry.task("async_add")
async def async_add(a, b):
    return a + b


sundial.tasks.update(registry)
