"""Sundial's runner for Python tasks: imports the job's function (or loads
an uploaded script and takes its run function), calls it with the job's
args and kwargs, inside the Flask app's app context when an app factory is
configured, and writes its return value as JSON to $SUNDIAL_RESULT
(a non-JSON value as its repr). A raised exception fails the run: its
last line ("ZeroDivisionError: division by zero") goes to $SUNDIAL_ERROR,
the run's error, and its traceback to stderr, the run's output, without
the runner's own frames. An uploaded script's frames name it as uploaded
(broken_report.py), not as the copy the run loads. The exit status is 1.

Usage: python3 pyrunner.py SPEC.json
"""
import contextlib
import importlib
import importlib.util
import json
import linecache
import os
import sys

# asyncio, inspect and traceback are imported only when needed: together
# they are most of the runner's start-up time.


def resolve(ref, what):
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError("%s %r must be written package.module:name" % (what, ref))
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def load_script(path, name):
    """Loads the script at path, compiled as the file name it was uploaded
    under, so that its tracebacks and syntax errors name that file: the
    copy at path is the run's own, in a directory that means nothing to
    its author. Its lines go to linecache under that name (with no mtime,
    so that no check drops them), for tracebacks to show them."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    name = name or path
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    spec = importlib.util.spec_from_file_location("sundial_script", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["sundial_script"] = module
    exec(compile(source, name, "exec"), module.__dict__)
    fn = getattr(module, "run", None)
    if not callable(fn):
        raise AttributeError("the script defines no run(**kwargs) function")
    return fn


async def wait_for(awaitable):
    return await awaitable


def call(fn, args, kwargs):
    result = fn(*args, **kwargs)
    if hasattr(result, "__await__"):
        import asyncio
        result = asyncio.run(wait_for(result))
    return result


def encode(result):
    try:
        return json.dumps(result)
    except (TypeError, ValueError):
        return json.dumps(repr(result))


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    for p in reversed(spec.get("path") or []):
        sys.path.insert(0, p)
    if spec.get("file"):
        fn = load_script(spec["file"], spec.get("filename"))
    else:
        fn = resolve(spec["func"], "func")
    context = contextlib.nullcontext()
    if spec.get("app_factory"):
        app = resolve(spec["app_factory"], "python.app_factory")()
        context = app.app_context()
    with context:
        result = call(fn, spec.get("args") or [], spec.get("kwargs") or {})
    with open(os.environ["SUNDIAL_RESULT"], "w") as f:
        f.write(encode(result))


def runner_frame(filename):
    """Reports whether a traceback frame is the runner's own (this file,
    the import machinery it calls, asyncio.run) rather than the user's."""
    if filename == __file__ or filename.startswith("<frozen importlib"):
        return True
    packages = [importlib]
    if "asyncio" in sys.modules:
        packages.append(sys.modules["asyncio"])
    return any(filename.startswith(os.path.dirname(p.__file__) + os.sep) for p in packages)


def summary(exc):
    """The traceback's last line, which says what went wrong: the
    exception's type and message ("ZeroDivisionError: division by
    zero"); a syntax error's with its file and line."""
    import traceback
    if isinstance(exc, SyntaxError):
        return "%s: %s" % (type(exc).__name__, exc)
    return traceback.format_exception_only(type(exc), exc)[0].strip()


def report(exc):
    """Writes the traceback to stderr, from the first of the user's frames
    on, and its last line to $SUNDIAL_ERROR."""
    import traceback
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    ours = 0
    while ours < len(te.stack) and runner_frame(te.stack[ours].filename):
        ours += 1
    del te.stack[:ours]
    sys.stderr.write("".join(te.format()))
    with open(os.environ.get("SUNDIAL_ERROR", os.devnull), "w") as f:
        f.write(summary(exc))


if __name__ == "__main__":
    try:
        main()
    except BaseException as exc:
        report(exc)
        sys.exit(1)
