"""Isolation "fork": a fork server that runs each run in a child forked from the warm app.

The worker creates the app once, then forks this server *before* it starts
any thread: forking a process that has threads copies locks that another
thread may hold (a logging lock, a stdout buffer, a DB driver's), and the
child would hang on them. The server stays single-threaded; every child it
forks already has the app, the task modules and their imports (gunicorn's
prefork and multiprocessing's forkserver do the same).

A run costs a message, not a fork: while it is idle the server keeps one
**spare** child forked and set up (its own process group, signals, parent-
death signal, none of the server's descriptors, and a rehearsal of a run's
steps that copies the pages they touch), blocked on a socket of its own. A
run's descriptors go to the spare and the server answers "started"; the
next spare is forked once the server has been idle for SPARE_IDLE, so that
it does not compete with the run for the CPU. A run that finds no spare
(runs close together) gets a child forked for it, set up the same way.
The on_fork hooks run in the child when its run arrives, with the task
(see _Server.spare_main for why not before). The child reports its outcome
before it exits: it writes the result file, then a byte to the run's
"done" pipe, which the worker reads directly; the child's exit and its
reaping ("exited") come after, off the run's path.

                 worker (threads: claim, heartbeat, one supervisor per run)
                   │  unix socket: run / lease / kill requests, started / exited answers
                   ▼
                 fork server (single thread, app created once)
                   │ forks a spare while idle; hands it a run's descriptors
                   ▼
                 child: own process group; stdout/stderr → a pipe the worker reads;
                        on_fork hooks, app.app_context(), the task; outcome → a file,
                        then a byte → the done pipe; os._exit

The worker kills a child's whole process group with SIGKILL on cancel,
timeout, fencing or shutdown. The fork server is also each run's supervisor,
a process of its own that keeps working when the worker cannot:

- leases: with each run, and after each renewal, the worker sends the
  instant (on the host's monotonic clock, which both share) at which the
  run must be dead unless renewed again, 7/8 of the lease after the last
  renewal; the server kills the child's group then. A worker frozen alone
  (SIGSTOP, a debugger, Ctrl-Z: the server ignores SIGTSTP) cannot keep a
  run past its lease;
- the worker's death: SIGKILL gives the worker no chance to clean up, so
  the server asks Linux for SIGUSR1 when its parent dies
  (PR_SET_PDEATHSIG), kills every child's process group (the task's
  subprocesses too, and the spare) and exits; elsewhere it does the same
  when the worker's end of the socket closes. The children, spare
  included, have SIGKILL as their parent-death signal: they die with the
  server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback

from .context import RunContext, _reset_current, _set_current
from .execution import Outcome, error_line, run_task
from .output import PLAIN_FORMAT
from .registry import call_task

log = logging.getLogger("sundial.worker")

# PARENT_DEATH is the fork server's parent-death signal: catchable, so that
# it can kill its children's process groups before it exits.
PARENT_DEATH = signal.SIGUSR1


def set_parent_death_signal(sig=signal.SIGKILL):
    """set_parent_death_signal asks Linux to send sig to this process when its parent dies.

    The parent may have died before the call: check os.getppid() after it.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG


def _scratch_file():
    """_scratch_file returns an unnamed read-write binary file: in memory where Linux has memfd_create.

    A run's payload and its result travel in such files. Writing to a file
    of the temporary directory costs a disk-backed file system some 0.1 ms
    (blocks, journal); a memfd costs microseconds.
    """
    if hasattr(os, "memfd_create"):
        with contextlib.suppress(OSError):
            return open(os.memfd_create("sundial-run", os.MFD_CLOEXEC), "w+b")
    return tempfile.TemporaryFile()


# --- on_fork hooks -----------------------------------------------------------

_fork_hooks = []


def on_fork(fn):
    """on_fork registers fn(app) to run in every forked child before its task.

    Use it for what a child must not share with its parent: connection
    pools, sockets, random seeds. It runs inside app.app_context() when the
    app has one. SQLAlchemy engines of Flask-SQLAlchemy are handled already
    (dispose_sqlalchemy). Usable as a decorator.
    """
    _fork_hooks.append(fn)
    return fn


def dispose_sqlalchemy(app):
    """dispose_sqlalchemy makes a child forget the connections its parent's engines hold.

    engine.dispose(close=False) (SQLAlchemy 1.4.33+) drops the pool without
    closing the parent's connections, which the parent still owns; the
    child then opens its own. Flask-SQLAlchemy 3.0 keeps engines per app in
    _app_engines, 3.1 in engines, 2.x has get_engine().
    """
    ext = (getattr(app, "extensions", None) or {}).get("sqlalchemy")
    if ext is None:
        return
    engines = []
    per_app = getattr(ext, "_app_engines", None)
    if per_app is not None and app in per_app:
        engines = list(per_app[app].values())
    else:
        for getter in (lambda: ext.engines.values(), lambda: [ext.get_engine()], lambda: [ext.engine]):
            try:
                engines = list(getter())
                break
            except Exception:  # noqa: BLE001 - try the next version's API
                continue
    for engine in engines:
        try:
            engine.dispose(close=False)
        except TypeError:  # SQLAlchemy < 1.4.33 has no close=False
            engine.dispose()


# --- the worker's side -------------------------------------------------------


class ForkServer:
    """ForkServer is the worker's handle on the fork server process.

    spare: keep a spare child ready while idle (see the module's doc);
    False forks a child per run when the run arrives.
    """

    def __init__(self, registry, app=None, hooks=(), worker_name="", spare=True):
        self._registry = registry
        self._app = app
        self._hooks = [dispose_sqlalchemy, *_fork_hooks, *hooks]
        self._worker_name = worker_name
        self._spare = spare
        self._sock = None
        self._send_lock = threading.Lock()
        self._runs = {}
        self._runs_lock = threading.Lock()
        self._next = 0
        self.pid = None
        self.dead = False

    def start(self):
        """start forks the server; call it before this process starts any thread."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the fork server
            code = 0
            try:
                ours.close()
                _Server(theirs, self._registry, self._app, self._hooks, self._worker_name, parent,
                        self._spare).serve()
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        self._sock, self.pid = ours, pid
        threading.Thread(target=self._read, name="sundial-forkserver", daemon=True).start()
        return self

    def spawn(self, run, kill_at=None):
        """spawn starts a child for the run and returns its ChildRun.

        kill_at (time.monotonic() seconds) is when the server kills the
        child unless renew() moves it: 7/8 of the lease after its last
        renewal. The server does not start a run whose kill_at has passed.
        """
        with self._runs_lock:
            self._next += 1
            key = self._next
            child = ChildRun(self, key)
            self._runs[key] = child
        payload = _scratch_file()
        payload.write(json.dumps(run).encode())
        payload.flush()
        payload.seek(0)
        try:
            self._send({"op": "run", "key": key, "kill_at": kill_at},
                       [payload.fileno(), child.result.fileno(), child.out_w, child.done_w])
        except OSError as e:
            child._fail(f"the fork server is gone: {e}")
        finally:
            payload.close()
            # The child holds the write ends now: the pipes end when it does.
            for fd in (child.out_w, child.done_w):
                os.close(fd)
            child.out_w = child.done_w = -1
        return child

    def kill(self, key):
        with contextlib.suppress(OSError):
            self._send({"op": "kill", "key": key})

    def renew(self, key, kill_at):
        """renew moves the instant at which the server kills the run's child (see spawn)."""
        with contextlib.suppress(OSError):
            self._send({"op": "lease", "key": key, "kill_at": kill_at})

    def _send(self, msg, fds=()):
        with self._send_lock:
            socket.send_fds(self._sock, [json.dumps(msg).encode()], list(fds))

    def _read(self):
        while True:
            try:
                data = self._sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            msg = json.loads(data)
            with self._runs_lock:
                child = self._runs.get(msg.get("key"))
                if msg.get("op") == "exited":
                    self._runs.pop(msg.get("key"), None)
            if child is not None:
                child._on_message(msg)
        self.dead = True
        with self._runs_lock:
            orphans, self._runs = list(self._runs.values()), {}
        for child in orphans:
            child._fail("the fork server died; the run's process is gone")
        log.debug("fork server closed")

    def close(self):
        """close stops the server (it kills the children it still has, and the spare) and reaps it."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
        if self.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = None


class ChildRun:
    """ChildRun is one run executing in a forked child, as the worker sees it.

    The run is done when the child said its outcome is written (a byte on
    the done pipe) or when the server said the child exited; the worker
    reports at the first, the child's exit and reaping happen meanwhile.
    """

    def __init__(self, server, key):
        self._server = server
        self.key = key
        self.pid = None
        self.exit_code = None
        self.result = _scratch_file()
        self.out_r, self.out_w = os.pipe()
        self.done_r, self.done_w = os.pipe()
        self._out_open = True
        self._done_open = True
        self._outcome = None  # read once the child said it is written
        self._exited = threading.Event()
        self._failure = None
        # fenced: the server killed the child (or did not start it) because
        # its lease was not renewed in time.
        self.fenced = False

    def start(self):
        return self

    def _on_message(self, msg):
        if msg.get("op") == "started":
            self.pid = msg.get("pid")
        elif msg.get("op") == "exited":
            self.exit_code = msg.get("code")
            self.fenced = bool(msg.get("fenced"))
            self._exited.set()
        elif msg.get("op") == "error":
            self.fenced = bool(msg.get("fenced"))
            self._fail(msg.get("error", "the fork server could not start the run"))

    def _fail(self, why):
        self._failure = why
        self._exited.set()

    @property
    def done(self):
        """done: the child's outcome is known, or the child is gone (exited, killed, never started)."""
        return self._outcome is not None or self._exited.is_set()

    @property
    def exited(self):
        """exited: the server reaped the child (or it never started, or the server died)."""
        return self._exited.is_set()

    def poll(self, timeout):
        """poll returns output the child wrote, waiting up to timeout for some or for its outcome."""
        fds = [fd for fd, is_open in ((self.out_r, self._out_open), (self.done_r, self._done_open)) if is_open]
        if not fds:
            self._exited.wait(timeout)
            return b""
        ready, _, _ = select.select(fds, [], [], timeout)
        if self.done_r in ready:
            self._read_done()
        if self.out_r not in ready:
            return b""
        data = os.read(self.out_r, 65536)
        if not data:
            self._out_open = False
        return data

    def _read_done(self):
        # A byte: the child wrote its outcome and flushed its output before
        # it. The end of the pipe without one: it died first; its exit tells.
        # A descendant of the task may hold the pipe open: only the byte
        # counts, never the end.
        note = os.read(self.done_r, 64)
        self._done_open = False
        if note:
            self._outcome = self._read_outcome()

    def drain(self):
        """drain returns output left in the pipe, without waiting for writers still holding it."""
        chunks = []
        while self._out_open:
            ready, _, _ = select.select([self.out_r], [], [], 0)
            if not ready:
                break
            data = os.read(self.out_r, 65536)
            if not data:
                self._out_open = False
            chunks.append(data)
        return b"".join(chunks)

    def kill(self):
        self._server.kill(self.key)

    def renew(self, kill_at):
        """renew tells the supervisor the run's lease was renewed: kill at kill_at, not before."""
        if not self.done:
            self._server.renew(self.key, kill_at)

    @property
    def completed(self):
        """completed: the child wrote its outcome (it was not killed first)."""
        return self._outcome is not None or self._read_outcome() is not None

    def _read_outcome(self):
        self.result.seek(0)
        text = self.result.read()
        if not text:
            return None
        try:
            return Outcome.from_json(text)
        except (ValueError, KeyError):
            return None

    def outcome(self):
        """outcome is the child's Outcome, or a failure saying how the child died."""
        got = self._outcome or self._read_outcome()
        if got is not None:
            return got
        if self._failure:
            return Outcome("failed", error=self._failure)
        code = self.exit_code
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return Outcome("failed", error=f"the task's process was killed by {name}", exit_code=code)
        return Outcome("failed", error=f"the task's process exited with code {code} before reporting",
                       exit_code=code)

    def close(self):
        for fd in (self.out_r, self.done_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.result.close()


# --- the fork server's side --------------------------------------------------

# RUN_FDS: the descriptors of a run message: its payload (the run's JSON),
# the result file, the output pipe's and the done pipe's write ends.
RUN_FDS = 4
# SPARE_IDLE: how long the server waits, after it handed out a run or
# reaped a child, before it forks the next spare. A spare costs a millisecond
# or two of CPU (the fork, its set-up and rehearsal); forked at once, it
# competes with the run just started and with the worker reporting it (on a
# busy two-core host a no-op run took 7.5 ms p50 so, 5.7 ms with the spare
# forked 20 ms later). Runs closer together than this get a child forked
# for them, as without spares.
SPARE_IDLE = 0.02
SPARE_RETRY = 1.0  # seconds before another spare after a fork failed or a spare died idle
# _REHEARSAL: a run as the worker sends it, for _Server.rehearse.
_REHEARSAL = json.dumps({"id": "rehearsal", "job_id": "rehearsal", "task": "", "attempt": 1,
                         "scheduled_at": "2026-01-01T00:00:00Z", "started_at": "2026-01-01T00:00:00.001Z",
                         "timeout_ms": 0, "manual": False, "args": None}).encode()


class _Server:
    def __init__(self, sock, registry, app, hooks, worker_name, parent, spare=True):
        self.sock = sock
        self.registry = registry
        self.app = app
        self.hooks = hooks
        self.worker_name = worker_name
        self.parent = parent  # the worker's pid
        self.server_pid = os.getpid()
        self.want_spare = spare
        self.spare = None  # (pid, socket) of the child waiting for a run
        self.spare_after = 0.0  # time.monotonic() before which no spare is forked
        self.last_event = 0.0  # time.monotonic() of the last run handed out or child reaped
        self.wake_r = self.wake_w = -1
        self.children = {}  # pid → key; None for the spare
        self.pids = {}  # key → pid
        self.deadlines = {}  # key → time.monotonic() at which the child is killed
        self.fenced = set()  # keys whose child was killed at its deadline

    def serve(self):
        # The worker decides when runs stop; a Ctrl-C or a SIGTERM sent to
        # the whole group must not kill the server under it, and a Ctrl-Z
        # that stops the worker must not stop its runs' supervisor.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGTSTP, signal.SIG_IGN)
        signal.signal(PARENT_DEATH, self.orphaned)
        set_parent_death_signal(PARENT_DEATH)
        if os.getppid() != self.parent:
            self.orphaned()  # the worker died before prctl: no signal will come
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.wake_w)
        while True:
            wait = self.enforce_leases()
            spare_due = False
            if self.want_spare and self.spare is None:
                left = max(self.spare_after, self.last_event + SPARE_IDLE) - time.monotonic()
                spare_due = left <= 0
                if not spare_due:
                    wait = min(wait, left)
            ready, _, _ = select.select([self.sock, self.wake_r], [], [], 0 if spare_due else wait)
            if self.wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    while os.read(self.wake_r, 512):
                        pass
            if self.sock in ready:
                try:
                    data, fds, _, _ = socket.recv_fds(self.sock, 65536, RUN_FDS)
                except OSError:
                    data, fds = b"", []
                if not data:
                    break
                self.handle(json.loads(data), fds)
            self.reap()
            if spare_due and not ready:  # requests and exits first
                self.fork_spare()
        for pid in list(self.children):
            self.kill_group(pid)
        while self.children:
            self.reap(block=True)

    def orphaned(self, *_):
        """The worker died (SIGKILL, a crash): kill every run's process group and the spare, then exit."""
        if os.getppid() == self.parent:
            return  # a stray SIGUSR1: the worker lives
        for pid in list(self.children):
            self.kill_group(pid)
        os._exit(0)

    def enforce_leases(self):
        """enforce_leases kills the children whose deadline passed; returns seconds to the next one."""
        now = time.monotonic()
        wait = 1.0
        for key, at in list(self.deadlines.items()):
            if at > now:
                wait = min(wait, at - now)
                continue
            del self.deadlines[key]
            pid = self.pids.get(key)
            if pid is not None:
                self.fenced.add(key)
                self.kill_group(pid)
        return max(wait, 0.0)

    def handle(self, msg, fds):
        key = msg.get("key")
        if msg.get("op") == "run":
            try:
                kill_at = msg.get("kill_at")
                if len(fds) != RUN_FDS:
                    self.send({"op": "error", "key": key, "error": f"a run needs {RUN_FDS} descriptors"})
                    return
                if kill_at is not None and kill_at <= time.monotonic():
                    self.send({"op": "error", "key": key, "fenced": True,
                               "error": "not started: the run's lease was not renewed in time"})
                    return
                pid = self.hand_to_spare(fds) or self.fork_child(fds)
                self.children[pid] = key
                self.pids[key] = pid
                if kill_at is not None:
                    self.deadlines[key] = kill_at
                self.send({"op": "started", "key": key, "pid": pid})
                self.last_event = time.monotonic()
            except Exception as e:  # noqa: BLE001 - answered to the worker
                self.send({"op": "error", "key": key, "error": f"could not fork: {e}"})
            finally:
                for fd in fds:
                    with contextlib.suppress(OSError):
                        os.close(fd)
        elif msg.get("op") == "kill":
            pid = self.pids.get(key)
            if pid is not None:
                self.kill_group(pid)
        elif msg.get("op") == "lease":
            if key in self.pids and msg.get("kill_at") is not None:
                self.deadlines[key] = msg["kill_at"]

    def hand_to_spare(self, fds):
        """hand_to_spare gives the run's descriptors to the spare; returns its pid, or None without one."""
        if self.spare is None:
            return None
        pid, sock = self.spare
        self.spare = None
        try:
            socket.send_fds(sock, [b"run"], fds)
        except OSError:
            return None  # it died (reap() forgets it): fork one for the run
        finally:
            sock.close()
        return pid

    def fork_spare(self):
        """fork_spare forks a child that sets itself up and waits, on a socket of its own, for a run."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            pid = os.fork()
        except OSError as e:
            ours.close()
            theirs.close()
            self.spare_after = time.monotonic() + SPARE_RETRY
            with contextlib.suppress(Exception):
                print(f"sundial fork server: cannot fork a spare child: {e}", file=sys.stderr, flush=True)
            return
        if pid == 0:
            ours.close()
            self.spare_main(theirs)  # never returns
        theirs.close()
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # also in the child: whichever runs first
        self.children[pid] = None
        self.spare = (pid, ours)

    def fork_child(self, fds):
        """fork_child forks a child for a run that found no spare; returns its pid."""
        pid = os.fork()
        if pid == 0:
            try:
                self.become_child()
            except BaseException:  # noqa: BLE001
                os._exit(1)
            self.run_child(fds)  # never returns
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        return pid

    def kill_group(self, pid):
        if pid not in self.children:
            return  # reaped already: its pid may be someone else's now
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def reap(self, block=False):
        while True:
            try:
                pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid not in self.children:
                continue
            key = self.children.pop(pid)
            if key is None:
                # A spare that died idle: killed by someone, or it could not
                # set itself up. Wait a moment before the next, not to fork
                # in a loop.
                if self.spare is not None and self.spare[0] == pid:
                    self.spare[1].close()
                    self.spare = None
                self.spare_after = time.monotonic() + SPARE_RETRY
                continue
            self.pids.pop(key, None)
            self.deadlines.pop(key, None)
            self.last_event = time.monotonic()
            fenced = key in self.fenced
            self.fenced.discard(key)
            self.send({"op": "exited", "key": key, "pid": pid, "code": os.waitstatus_to_exitcode(status),
                       "fenced": fenced})
            if block:
                return

    def send(self, msg):
        with contextlib.suppress(OSError):
            self.sock.send(json.dumps(msg).encode())

    # --- in a child ----------------------------------------------------------

    def become_child(self):
        """become_child makes a freshly forked process a run's process, short of the run itself.

        Its own process group (the worker kills the group), default signal
        handling, SIGKILL when the server dies, none of the server's
        descriptors: the same for a spare and for a child forked for a run.
        The on_fork hooks are not run here but with the task (run_task).
        """
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGTSTP, PARENT_DEATH):
            signal.signal(sig, signal.SIG_DFL)
        set_parent_death_signal()
        if os.getppid() != self.server_pid:
            os._exit(1)  # the server died before prctl
        self.sock.close()
        for fd in (self.wake_r, self.wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.spare is not None:
            self.spare[1].close()

    def spare_main(self, sock):
        """spare_main is a spare's life: set up, wait for a run's descriptors, run it.

        The on_fork hooks run when the run arrives (in run_task, with the
        task), not here. A spare may wait for hours: a hook that opens a
        connection (a pool's pre-ping, a client's eager connect) would hold
        it idle all that time, where the database or a proxy may close it,
        and a spare forked while an old connection was still shared would
        carry that state into a run much later. Run with the task, a hook
        also sees the run (current_run()), its output is the run's output,
        and its exception fails the run, as with a child forked per run.
        Hooks are meant to be cheap (dispose(close=False) takes
        microseconds), so the spare saves the fork, not them.
        """
        try:
            self.become_child()
            with contextlib.suppress(Exception):
                self.rehearse()
            data, fds, _, _ = socket.recv_fds(sock, 64, RUN_FDS)
        except BaseException:  # noqa: BLE001
            os._exit(1)
        if not data:
            os._exit(0)  # the server closed our socket: no run will come
        sock.close()
        self.run_child(fds)  # never returns

    def rehearse(self):
        """rehearse goes through a run's steps that have no effect, while the spare is idle.

        A forked child shares its memory with the server until it writes to
        it, and every object a run touches is written to (its reference
        count): each page is copied at its first write, a fault of a few
        microseconds, some 200 of them on a no-op run's path (reading the
        run, its context, the output's streams, the outcome). Taken here,
        they are off the run's path. Nothing here runs the app's code: no
        hook, no app context, no task.
        """
        run = json.loads(_REHEARSAL)
        ctx = RunContext.from_run(run, self.worker_name)
        _reset_current(_set_current(ctx))
        with open(os.devnull, "w", buffering=1, encoding="utf-8", errors="backslashreplace") as f:
            f.write(f"{ctx.id}\n")
        for _ in _all_handlers():
            pass
        call_task(lambda: None, run.get("args"))
        json.dumps(None, allow_nan=False)
        Outcome("succeeded").to_json().encode()

    def run_child(self, fds):
        outcome = None
        result_fd = fds[1] if len(fds) > 1 else -1
        done_fd = fds[3] if len(fds) > 3 else -1
        try:
            outcome = self.child_run(fds)
        except BaseException as e:  # noqa: BLE001
            with contextlib.suppress(Exception):
                traceback.print_exc()
            outcome = Outcome("failed", error=error_line(e))
        finally:
            with contextlib.suppress(Exception):
                for stream in (sys.stdout, sys.stderr):
                    stream.flush()
                for h in _all_handlers():
                    h.flush()
            with contextlib.suppress(Exception):
                data = (outcome or Outcome("failed", error="no outcome")).to_json().encode()
                while data:
                    data = data[os.write(result_fd, data):]
                # The output is in its pipe and the outcome in its file: the
                # worker may report now, without waiting for this process
                # to exit and be reaped.
                os.write(done_fd, b"1")
            os._exit(0)

    def child_run(self, fds):
        in_fd, result_fd, out_fd, done_fd = fds
        for fd in (result_fd, done_fd):  # not for the task's subprocesses
            with contextlib.suppress(OSError):
                os.set_inheritable(fd, False)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(out_fd)
        with os.fdopen(in_fd, "rb") as f:
            run = json.loads(f.read())
        old = (sys.stdout, sys.stderr)
        sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)
        sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)
        _retarget_logging(old)
        ctx = RunContext.from_run(run, self.worker_name)
        return run_task(self.registry, ctx, self.app, self.hooks)


def _all_handlers():
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    for lg in loggers:
        yield from lg.handlers


def _retarget_logging(old_streams):
    """Handlers that wrote to the parent's stdout or stderr now write to the run's output.

    The worker's own JSON handler turns plain: the output is for people.
    """
    for h in _all_handlers():
        if isinstance(h, logging.StreamHandler) and h.stream in old_streams:
            h.setStream(sys.stdout if h.stream is old_streams[0] else sys.stderr)
        if getattr(h, "_sundial_handler", False):
            h.setFormatter(logging.Formatter(PLAIN_FORMAT))
