"""sundial-worker: run a worker from the command line.

    SUNDIAL_TOKEN=sdl_… sundial-worker --server http://sundial:8080 \\
        --app "myapp:create_app" --tasks myapp.tasks --capacity 8

Exit status: 0 after a graceful stop, 1 when the server refused the worker
(token, name), 2 for bad usage or tasks that cannot be loaded.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .client import Client
from .logs import setup_logging
from .registry import import_ref

log = logging.getLogger("sundial.worker")


def load_app(spec):
    """load_app reads --app: "module:attr" (an app, or a factory called with no args) or "module".

    A bare module is searched for create_app, then app. It returns
    (app, factory), one of them None.
    """
    if ":" in spec:
        obj = import_ref(spec)
    else:
        import importlib

        module = importlib.import_module(spec)
        obj = getattr(module, "create_app", None) or getattr(module, "app", None)
        if obj is None:
            raise ImportError(f"sundial: module {spec!r} has neither create_app nor app: "
                              "name one as 'module:attribute'")
    if hasattr(obj, "app_context") or not callable(obj):
        return obj, None
    return None, obj


def read_token(env_name, file_name):
    """read_token returns the token from the file, else from the environment variable."""
    if file_name:
        with open(file_name, encoding="utf-8") as f:
            return f.read().strip()
    return os.environ.get(env_name, "").strip()


def parser():
    p = argparse.ArgumentParser(
        prog="sundial-worker",
        description="Serve tasks to a Sundial server and execute their runs (docs/workers.md).")
    p.add_argument("--server", default=os.environ.get("SUNDIAL_URL") or os.environ.get("SUNDIAL_SERVER")
                   or "http://127.0.0.1:8080", help="server URL (default $SUNDIAL_URL, $SUNDIAL_SERVER, "
                   "http://127.0.0.1:8080)")
    p.add_argument("--token-env", default="SUNDIAL_TOKEN", metavar="VAR",
                   help="environment variable holding the worker token (default SUNDIAL_TOKEN)")
    p.add_argument("--token-file", metavar="FILE", help="file holding the worker token")
    p.add_argument("--app", metavar="MODULE:ATTR",
                   help="the app: a factory called once with no args, or an app object; runs execute "
                   "inside its app_context()")
    p.add_argument("--tasks", action="append", default=[], metavar="MODULE",
                   help="module registering tasks, imported after the app is created (repeatable)")
    p.add_argument("--name", help="worker name, unique among live workers (default host-pid)")
    p.add_argument("--capacity", type=int, default=8, help="runs at once (default 8)")
    p.add_argument("--isolation", choices=("fork", "thread"), default=None,
                   help="fork a child per run from the warm app (default) or run in threads")
    p.add_argument("--grace", type=float, default=30.0,
                   help="seconds a graceful stop waits for running runs (default 30)")
    p.add_argument("--replace", action="store_true",
                   help="take over the name of a previous process known to be dead")
    p.add_argument("--log-level", default="INFO")
    p.add_argument("--log-format", choices=("json", "text"), default="json")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    setup_logging(args.log_level.upper(), args.log_format)
    token = read_token(args.token_env, args.token_file)
    if not token:
        log.error("no token: set $%s or pass --token-file", args.token_env)
        return 2
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # find the app's modules as `flask` and `gunicorn` do
    from .worker import FatalError, Worker

    try:
        app, factory = load_app(args.app) if args.app else (None, None)
        worker = Worker(Client(args.server, token), name=args.name, capacity=args.capacity,
                        isolation=args.isolation, app=app, app_factory=factory, task_modules=args.tasks,
                        grace=args.grace, replace=args.replace)
        worker.prepare()
    except (ImportError, ValueError, TypeError, FatalError) as e:
        log.error("%s", e)
        return 2
    try:
        return worker.run()
    except FatalError as e:
        log.error("%s", e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
