"""Isolation "fork": a fork server that forks one child per run from the warm app.

The worker creates the app once, then forks this server *before* it starts
any thread: forking a process that has threads copies locks that another
thread may hold (a logging lock, a stdout buffer, a DB driver's), and the
child would hang on them. The server stays single-threaded; for each run it
forks a child that already has the app, the task modules and their imports,
so a run starts in a millisecond (gunicorn's prefork and multiprocessing's
forkserver do the same).

                 worker (threads: claim, heartbeat, one supervisor per run)
                   │  unix socket: run / kill requests, started / exited answers
                   ▼
                 fork server (single thread, app created once)
                   │ fork per run
                   ▼
                 child: own process group; stdout/stderr → a pipe the worker reads;
                        on_fork hooks, app.app_context(), the task; outcome → a file; os._exit

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
  subprocesses too) and exits; elsewhere it does the same when the
  worker's end of the socket closes. The children have SIGKILL as their
  parent-death signal: they die with the server.
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

from .context import RunContext
from .execution import Outcome, error_line, run_task
from .output import PLAIN_FORMAT

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
    """ForkServer is the worker's handle on the fork server process."""

    def __init__(self, registry, app=None, hooks=(), worker_name=""):
        self._registry = registry
        self._app = app
        self._hooks = [dispose_sqlalchemy, *_fork_hooks, *hooks]
        self._worker_name = worker_name
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
                _Server(theirs, self._registry, self._app, self._hooks, self._worker_name, parent).serve()
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
        payload = tempfile.TemporaryFile()
        payload.write(json.dumps(run).encode())
        payload.flush()
        payload.seek(0)
        try:
            self._send({"op": "run", "key": key, "kill_at": kill_at},
                       [payload.fileno(), child.result.fileno(), child.out_w])
        except OSError as e:
            child._fail(f"the fork server is gone: {e}")
        finally:
            payload.close()
            os.close(child.out_w)
            child.out_w = -1
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
        """close stops the server (it kills the children it still has) and reaps it."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
        if self.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = None


class ChildRun:
    """ChildRun is one run executing in a forked child, as the worker sees it."""

    def __init__(self, server, key):
        self._server = server
        self.key = key
        self.pid = None
        self.exit_code = None
        self.result = tempfile.TemporaryFile()
        self.out_r, self.out_w = os.pipe()
        self._out_open = True
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
        return self._exited.is_set()

    def poll(self, timeout):
        """poll returns output the child wrote, waiting up to timeout for some."""
        if not self._out_open:
            self._exited.wait(timeout)
            return b""
        ready, _, _ = select.select([self.out_r], [], [], timeout)
        if not ready:
            return b""
        data = os.read(self.out_r, 65536)
        if not data:
            self._out_open = False
        return data

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
        return self._read_outcome() is not None

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
        got = self._read_outcome()
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
        with contextlib.suppress(OSError):
            os.close(self.out_r)
        self.result.close()


# --- the fork server's side --------------------------------------------------


class _Server:
    def __init__(self, sock, registry, app, hooks, worker_name, parent):
        self.sock = sock
        self.registry = registry
        self.app = app
        self.hooks = hooks
        self.worker_name = worker_name
        self.parent = parent  # the worker's pid
        self.children = {}  # pid → key
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
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(wake_w)
        while True:
            ready, _, _ = select.select([self.sock, wake_r], [], [], self.enforce_leases())
            if wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    while os.read(wake_r, 512):
                        pass
            if self.sock in ready:
                try:
                    data, fds, _, _ = socket.recv_fds(self.sock, 65536, 3)
                except OSError:
                    data, fds = b"", []
                if not data:
                    break
                self.handle(json.loads(data), fds)
            self.reap()
        for pid in list(self.children):
            self.kill_group(pid)
        while self.children:
            self.reap(block=True)

    def orphaned(self, *_):
        """The worker died (SIGKILL, a crash): kill every run's process group, then exit."""
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
                if kill_at is not None and kill_at <= time.monotonic():
                    self.send({"op": "error", "key": key, "fenced": True,
                               "error": "not started: the run's lease was not renewed in time"})
                    return
                self.spawn(key, fds)
                if kill_at is not None:
                    self.deadlines[key] = kill_at
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

    def spawn(self, key, fds):
        self.server_pid = os.getpid()
        pid = os.fork()
        if pid == 0:
            self.child(fds)  # never returns
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # also in the child: whichever runs first
        self.children[pid] = key
        self.pids[key] = pid
        self.send({"op": "started", "key": key, "pid": pid})

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
            key = self.children.pop(pid, None)
            if key is None:
                continue
            self.pids.pop(key, None)
            self.deadlines.pop(key, None)
            fenced = key in self.fenced
            self.fenced.discard(key)
            self.send({"op": "exited", "key": key, "pid": pid, "code": os.waitstatus_to_exitcode(status),
                       "fenced": fenced})
            if block:
                return

    def send(self, msg):
        with contextlib.suppress(OSError):
            self.sock.send(json.dumps(msg).encode())

    def child(self, fds):
        outcome = None
        result_fd = fds[1] if len(fds) > 1 else -1
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
            os._exit(0)

    def child_run(self, fds):
        in_fd, _, out_fd = fds
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGTSTP, PARENT_DEATH):
            signal.signal(sig, signal.SIG_DFL)
        set_parent_death_signal()
        if os.getppid() != self.server_pid:
            os._exit(1)  # the server died before prctl
        self.sock.close()
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
