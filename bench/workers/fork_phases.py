"""Where a no-op run's time goes in the Python worker's fork isolation.

    cd bench/workers && /usr/bin/python3 fork_phases.py [MODULE ...]

Drives sundial's ForkServer directly (no server, no HTTP) as the worker's
supervisor does — spawn, poll the output pipe until the child has exited —
and times each phase of a run of the task "noop" on the monotonic clock,
which is shared by the processes: the fork server's os.fork(), the child's
work up to its outcome, the child's exit up to the end of its output pipe,
and the "exited" message. MODULEs are imported first, to make the forked
process as big as an app's (e.g. flask flask_sqlalchemy sqlalchemy).
Medians of 200 runs after 30 warm-up runs. Part of docs/benchmarks.md,
"Workers".
"""

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "..", "python"), os.path.join(HERE, "pytasks")]

for name in sys.argv[1:]:
    __import__(name)

import bench_tasks  # noqa: E402,F401 - registers "noop"
from sundial import forkserver  # noqa: E402
from sundial.registry import tasks  # noqa: E402

WARM, RUNS = 30, 200
marks = tempfile.NamedTemporaryFile("w+", delete=False)  # the fork server's and children's marks

_spawn, _child, _handle = forkserver._Server.spawn, forkserver._Server.child, forkserver._Server.handle
_current = [0]


def handle(self, msg, fds):
    _current[0] = msg.get("key")
    _handle(self, msg, fds)


def spawn(self, key, fds):
    before = time.perf_counter()
    _spawn(self, key, fds)
    with open(marks.name, "a") as f:
        f.write(f"{key} fork {before}\n")


def child(self, fds):
    start = time.perf_counter()
    child_run = self.child_run

    def timed(fds):
        try:
            return child_run(fds)
        finally:
            with open(marks.name, "a") as f:
                f.write(f"{_current[0]} child {start} {time.perf_counter()}\n")

    self.child_run = timed
    _child(self, fds)


forkserver._Server.handle, forkserver._Server.spawn, forkserver._Server.child = handle, spawn, child

tasks.resolve()
server = forkserver.ForkServer(tasks, None, (), "fork-phases").start()
run = {"id": "r", "job_id": "j", "task": "noop", "attempt": 1, "scheduled_at": "2026-01-01T00:00:00Z"}
seen = {}
for _ in range(WARM + RUNS):
    sent = time.perf_counter()
    h = server.spawn(run)
    eof = None
    while not h.done:  # as Worker._watch does
        h.poll(0.1)
        if not h._out_open and eof is None:
            eof = time.perf_counter()
    exited = time.perf_counter()
    h.outcome()
    h.close()
    seen[h.key] = (sent, eof or exited, exited)
server.close()

at = {}
with open(marks.name) as f:
    for line in f:
        key, what, *times = line.split()
        at.setdefault(int(key), {})[what] = [float(t) for t in times]
os.unlink(marks.name)

phases = {p: [] for p in ("worker → fork server", "os.fork() until the child runs", "child: setup and task",
                          "child: exit until pipe EOF", "EOF until 'exited' message", "total")}
for key, (sent, eof, exited) in seen.items():
    if key <= WARM or "child" not in at.get(key, {}):
        continue
    fork, (cstart, cend) = at[key]["fork"][0], at[key]["child"]
    for phase, d in zip(phases, (fork - sent, cstart - fork, cend - cstart, eof - cend, exited - eof, exited - sent)):
        phases[phase].append(d * 1000)

try:
    import resource
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
except ImportError:
    rss = float("nan")
print(f"fork isolation, no-op task, {len(phases['total'])} runs; process max RSS {rss:.0f} MB; modules: "
      f"{' '.join(sys.argv[1:]) or '(none)'}")
for phase, xs in phases.items():
    xs.sort()
    print(f"  {phase:32s} p50 {xs[len(xs) // 2]:5.2f} ms   p90 {xs[int(len(xs) * 0.9)]:5.2f} ms")
