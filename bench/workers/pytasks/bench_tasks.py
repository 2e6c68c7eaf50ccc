"""The Python worker's tasks in the workers benchmark (bench/workers).

    PYTHONPATH=python:bench/workers/pytasks python3 -m sundial.worker --tasks bench_tasks
"""

import sundial


@sundial.task("noop")
def noop():
    """noop returns at once, with no result: what is measured is the worker."""
    return None
