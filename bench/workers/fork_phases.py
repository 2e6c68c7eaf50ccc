"""Where a no-op run's time goes in the Python worker's fork isolation.

    cd bench/workers && /usr/bin/python3 fork_phases.py [--no-spare] [MODULE ...]

Drives sundial's ForkServer directly (no server, no HTTP) as the worker's
supervisor does — spawn, poll the output and done pipes until the outcome
is known — and times each phase of a run of the task "noop" on the
monotonic clock, which is shared by the processes: the request reaching the
fork server, the server giving the run to its spare child (or, with
--no-spare, forking a child for it) until the child runs, the child's
set-up and task up to its outcome, the outcome reaching the worker; and,
off the run's path, the child's exit and reaping until the "exited"
message. Between runs it waits 50 ms, as an idle worker does between fires
(the fork server forks the next spare meanwhile). MODULEs are imported
first, to make the forked process as big as an app's (e.g. flask
flask_sqlalchemy sqlalchemy). Medians of 200 runs after 30 warm-up runs.
Part of docs/benchmarks.md, "Workers".
"""

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "..", "python"), os.path.join(HERE, "pytasks")]

args = sys.argv[1:]
spare = "--no-spare" not in args
for name in (a for a in args if not a.startswith("--")):
    __import__(name)

import bench_tasks  # noqa: E402,F401 - registers "noop"
from sundial import forkserver  # noqa: E402
from sundial.registry import tasks  # noqa: E402

WARM, RUNS, IDLE = 30, 200, 0.05
marks = tempfile.NamedTemporaryFile("w+", delete=False)  # the fork server's and children's marks
_handle, _run_child, _run_task = forkserver._Server.handle, forkserver._Server.run_child, forkserver.run_task
_child_start = [0.0]


def mark(*fields):
    with open(marks.name, "a") as f:
        f.write(" ".join(str(x) for x in fields) + "\n")


def handle(self, msg, fds):
    if msg.get("op") == "run":
        mark(msg["key"], "server", time.perf_counter())
    _handle(self, msg, fds)


def run_child(self, fds):
    _child_start[0] = time.perf_counter()
    _run_child(self, fds)


def run_task(registry, ctx, app=None, hooks=()):
    try:
        return _run_task(registry, ctx, app, hooks)
    finally:
        mark(ctx.id, "child", _child_start[0], time.perf_counter())


forkserver._Server.handle, forkserver._Server.run_child, forkserver.run_task = handle, run_child, run_task

tasks.resolve()
server = forkserver.ForkServer(tasks, None, (), "fork-phases", spare=spare).start()
seen = {}
for i in range(WARM + RUNS):
    time.sleep(IDLE)
    run = {"id": str(i + 1), "job_id": "j", "task": "noop", "attempt": 1, "scheduled_at": "2026-01-01T00:00:00Z"}
    sent = time.perf_counter()
    h = server.spawn(run)
    while not h.done:  # as Worker._watch does
        h.poll(0.1)
    done = time.perf_counter()
    h.outcome()
    h._exited.wait(5)
    exited = time.perf_counter()
    h.close()
    seen[h.key] = (sent, done, exited)
server.close()

at = {}
with open(marks.name) as f:
    for line in f:
        key, what, *times = line.split()
        at.setdefault(int(key), {})[what] = [float(t) for t in times]
os.unlink(marks.name)

phases = {p: [] for p in ("worker → fork server", "server → child runs", "child: set-up and task",
                          "outcome → worker", "total (what the worker waits)", "off path: exit, reaping")}
for key, (sent, done, exited) in seen.items():
    if key <= WARM or "child" not in at.get(key, {}):
        continue
    got, (cstart, cend) = at[key]["server"][0], at[key]["child"]
    for phase, d in zip(phases, (got - sent, cstart - got, cend - cstart, done - cend, done - sent, exited - done)):
        phases[phase].append(d * 1000)

try:
    import resource
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
except ImportError:
    rss = float("nan")
print(f"fork isolation ({'spare child' if spare else 'a fork per run'}), no-op task, {len(phases['total (what the worker waits)'])} "
      f"runs; process max RSS {rss:.0f} MB; modules: {' '.join(a for a in args if not a.startswith('--')) or '(none)'}")
for phase, xs in phases.items():
    xs.sort()
    print(f"  {phase:32s} p50 {xs[len(xs) // 2]:5.2f} ms   p90 {xs[int(len(xs) * 0.9)]:5.2f} ms")
