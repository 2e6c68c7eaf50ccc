"""Task registries: stable task names mapped to the functions a worker runs.

A worker announces the names of the tasks it serves, so names must be
stable across deploys (the TASK_FUNCTIONS pattern), not whatever a function
happens to be called today:

    import sundial

    @sundial.task("send_report")
    def send_report(to, days=7): ...

    sundial.tasks.register("cleanup", cleanup)          # the same, without a decorator
    sundial.tasks.register("digest", "app.jobs:digest")  # imported in the worker, lazily

``sundial.tasks`` is the process-wide default registry; pass your own
TaskRegistry to a Worker when one process serves several sets of tasks.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import threading

MAX_NAME = 200


def task_name(fn):
    """task_name is the default name of a function: "module:qualname"."""
    qualname = getattr(fn, "__qualname__", None)
    module = getattr(fn, "__module__", None)
    if not qualname or not module:
        raise ValueError(f"sundial: {fn!r} has no module and name: register it under a name")
    if "<locals>" in qualname or "<lambda>" in qualname:
        raise ValueError(
            f"sundial: {module}:{qualname} is a lambda or a nested function, which a worker "
            "cannot find by name: define it at module level or register it under a name")
    return f"{module}:{qualname}"


def import_ref(ref):
    """import_ref imports "module:attr" (attr may be dotted) and returns the object."""
    module, sep, attr = ref.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"sundial: {ref!r} is not a reference like 'package.module:function'")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ImportError(f"sundial: module {module!r} has no attribute {attr!r}") from None
    return obj


def _check_name(name):
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        raise ValueError(f"sundial: task name {name!r} must be a string of 1 to {MAX_NAME} characters")


class TaskRegistry:
    """TaskRegistry maps task names to callables (or "module:attr" references)."""

    def __init__(self, tasks=None):
        self._lock = threading.Lock()
        self._tasks = {}
        for name, fn in (tasks or {}).items():
            self.register(name, fn)

    def task(self, name=None):
        """task is a decorator registering the function under name (default "module:qualname").

        Both ``@registry.task("name")`` and a bare ``@registry.task`` work.
        """
        if callable(name):  # bare @registry.task
            fn = name
            self.register(task_name(fn), fn)
            return fn

        def decorate(fn):
            self.register(name or task_name(fn), fn)
            return fn

        return decorate

    def register(self, name, fn):
        """register maps name to fn, a callable or a "module:attr" reference.

        Registering another function under a name taken is refused: two
        functions under one name would run whichever registered last.
        Registering the same function again (a module imported twice, a
        reloader) is allowed.
        """
        _check_name(name)
        if isinstance(fn, str):
            if ":" not in fn:
                raise ValueError(f"sundial: task {name!r}: {fn!r} is not a reference like 'module:function'")
        elif not callable(fn):
            raise TypeError(f"sundial: task {name!r}: {fn!r} is not callable")
        with self._lock:
            have = self._tasks.get(name)
            if have is not None and not _same(have, fn):
                raise ValueError(f"sundial: task name {name!r} is already registered for {_describe(have)}")
            if have is None or isinstance(have, str):
                self._tasks[name] = fn
        return fn

    def get(self, name):
        """get returns the callable of a task, importing a reference on first use; KeyError if unknown."""
        with self._lock:
            fn = self._tasks[name]
        if isinstance(fn, str):
            obj = import_ref(fn)
            if not callable(obj):
                raise TypeError(f"sundial: task {name!r}: {fn} is not callable")
            with self._lock:
                self._tasks[name] = obj
            return obj
        return fn

    def resolve(self):
        """resolve imports every reference now, so that a typo stops a worker at start."""
        problems = []
        for name in self.names():
            try:
                self.get(name)
            except Exception as e:  # noqa: BLE001 - gathered and raised together
                problems.append(f"{name}: {e}")
        if problems:
            raise ImportError("sundial: cannot load tasks: " + "; ".join(problems))

    def update(self, other):
        """update registers every task of another registry (or dict)."""
        items = other._items() if isinstance(other, TaskRegistry) else dict(other).items()
        for name, fn in items:
            self.register(name, fn)

    def names(self):
        """names returns the registered task names, sorted."""
        with self._lock:
            return sorted(self._tasks)

    def _items(self):
        with self._lock:
            return list(self._tasks.items())

    def __contains__(self, name):
        with self._lock:
            return name in self._tasks

    def __len__(self):
        with self._lock:
            return len(self._tasks)

    def __repr__(self):
        return f"TaskRegistry({self.names()!r})"


def _same(a, b):
    if a is b:
        return True
    ref = lambda f: f if isinstance(f, str) else task_name_or_none(f)  # noqa: E731
    return ref(a) is not None and ref(a) == ref(b)


def task_name_or_none(fn):
    """task_name_or_none is task_name, or None for functions a worker cannot find by name."""
    try:
        return task_name(fn)
    except ValueError:
        return None


def _describe(fn):
    return fn if isinstance(fn, str) else (task_name_or_none(fn) or repr(fn))


def call_task(fn, args):
    """call_task calls a task function with a run's args, by the calling convention.

    - args a JSON object: fn(**args)
    - args a JSON array: fn(*args)
    - args absent (None): fn()
    - anything else (a string, a number, true/false): fn(args)

    A coroutine function (or a function returning an awaitable) is run to
    completion with asyncio.run.
    """
    if isinstance(args, dict):
        result = fn(**args)
    elif isinstance(args, list):
        result = fn(*args)
    elif args is None:
        result = fn()
    else:
        result = fn(args)
    if inspect.isawaitable(result):
        result = asyncio.run(_await(result))
    return result


async def _await(awaitable):
    return await awaitable


tasks = TaskRegistry()
"""tasks is the process-wide default registry."""

task = tasks.task
"""task registers a function in the default registry: ``@sundial.task("name")``."""
