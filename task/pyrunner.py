"""Sundial's runner for Python tasks: imports the job's function (or loads
an uploaded script and takes its run function), calls it with the job's
args and kwargs, inside the Flask app's app context when an app factory is
configured, and writes its return value as JSON to $SUNDIAL_RESULT
(a non-JSON value as its repr). A raised exception's traceback goes to
$SUNDIAL_ERROR and stderr, and the exit status is 1.

Usage: python3 pyrunner.py SPEC.json
"""
import contextlib
import importlib
import importlib.util
import json
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


def load_script(path):
    spec = importlib.util.spec_from_file_location("sundial_script", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["sundial_script"] = module
    spec.loader.exec_module(module)
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
        fn = load_script(spec["file"])
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


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        import traceback
        text = traceback.format_exc()
        sys.stderr.write(text)
        with open(os.environ.get("SUNDIAL_ERROR", os.devnull), "w") as f:
            f.write(text)
        sys.exit(1)
