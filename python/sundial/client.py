"""A client of the Sundial server's HTTP API (API v1), on urllib only.

    client = Client("http://sundial:8080", token=os.environ["SUNDIAL_TOKEN"])
    client.jobs.create({"id": "nightly", "task": "send_report",
                        "trigger": {"type": "cron", "expr": "0 3 * * *"}})
    run = client.jobs.run_now("nightly")
    client.runs.wait(run["id"], timeout=600)

Errors are raised as sundial.errors.SundialError subclasses (NotFound,
Conflict, PreconditionFailed …) carrying the problem's status, title and
detail; an unreachable server is TransportError.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from . import __version__
from .errors import SundialError, TooManyRequests, TransportError, error_for

ENDED = frozenset(
    {"succeeded", "failed", "timed_out", "missed", "skipped", "interrupted", "lost", "canceled"}
)
"""ENDED holds the statuses of a run that has ended."""

_NOBODY = object()


def _segment(value):
    # IDs are their own path segment by the server's rules; escape anything
    # else rather than let it change the path.
    return urllib.parse.quote(str(value), safe=":@~")


def _etag(version):
    if version is None:
        return None
    text = str(version)
    return text if text.startswith(('"', "W/")) else f'"{text}"'


class Response:
    """Response is an answer of the server: status, headers and decoded body."""

    def __init__(self, status, headers, data):
        self.status = status
        self.headers = headers
        self.data = data

    @property
    def etag(self):
        """The ETag header (a job's version), or None."""
        return self.headers.get("ETag")


class Client:
    """Client talks to one Sundial server with one API token.

    url is the server's base address (http://host:8080); token is sent as
    ``Authorization: Bearer``; timeout bounds each request in seconds. The
    token is never part of the client's repr or of any log line.
    """

    def __init__(self, url, token=None, timeout=30.0):
        if not url or "://" not in url:
            raise ValueError(f"sundial: server URL {url!r} must look like http://host:8080")
        self.url = url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.jobs = Jobs(self)
        self.runs = Runs(self)
        self.scripts = Scripts(self)
        self.sessions = WorkerSessions(self)

    def __repr__(self):
        return f"Client({self.url!r}, token={'<set>' if self._token else None})"

    def request(self, method, path, body=_NOBODY, query=None, headers=None, timeout=None, poll=None):
        """request sends one API call and returns its Response, or raises SundialError.

        poll, a Poll, lets another thread end the call early (a long poll).
        """
        url = self.url + path
        if query:
            pairs = {k: _query_value(v) for k, v in query.items() if v is not None}
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        data = None if body is _NOBODY else encode(body)
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/json")
        req.add_header("User-Agent", f"sundial-python/{__version__}")
        if method != "GET":
            # The server refuses a change without it, even one without a body.
            req.add_header("Content-Type", "application/json")
        if self._token:
            req.add_header("Authorization", f"Bearer {self._token}")
        for k, v in (headers or {}).items():
            if v is not None:
                req.add_header(k, v)
        opener = urllib.request.urlopen if poll is None else poll._opener().open
        try:
            with opener(req, timeout=timeout or self.timeout) as resp:
                return Response(resp.status, resp.headers, _decode(resp.headers, resp.read()))
        except urllib.error.HTTPError as e:
            raise _problem(e) from None
        except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise TransportError(f"{method} {self.url}{path}: {reason}") from None


def encode(value):
    """encode is the JSON a request sends: compact, so that what the server
    measures (a result, a whole body) is what json_size says."""
    return json.dumps(value, separators=(",", ":")).encode()


def json_size(value):
    """json_size is how many bytes value takes in a request's JSON."""
    return len(encode(value))


class Poll:
    """Poll lets another thread end a long poll (a worker's claim) early.

    abort() half-closes the connection: the server sees the worker go away
    and gives back what it claims from then on, while an answer already on
    its way can still be read (and its runs given back by the caller).
    abort(hard=True) closes it both ways, for a server that keeps quiet.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._sock = None
        self.aborted = False

    def abort(self, hard=False):
        """abort ends the call: at once if it has not connected yet."""
        with self._lock:
            self.aborted = True
            sock = self._sock
        if sock is not None:
            try:
                # socket.socket's own shutdown: an SSLSocket's would drop its
                # TLS state, and the answer could no longer be read.
                socket.socket.shutdown(sock, socket.SHUT_RDWR if hard else socket.SHUT_WR)
            except OSError:
                pass

    def _connected(self, conn):
        with self._lock:
            if self.aborted:
                conn.close()
                raise ConnectionAbortedError("the poll was aborted")
            self._sock = conn.sock

    def _opener(self):
        poll = self

        def track(handler_cls):
            class Tracking(handler_cls):
                def do_open(self, http_class, req, **kw):
                    def make(host, **args):
                        conn = http_class(host, **args)
                        connect = conn.connect

                        def connect_and_track():
                            connect()
                            poll._connected(conn)

                        conn.connect = connect_and_track
                        return conn

                    return super().do_open(make, req, **kw)

            return Tracking

        return urllib.request.build_opener(track(urllib.request.HTTPHandler),
                                           track(urllib.request.HTTPSHandler))


def _query_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _decode(headers, raw):
    if not raw:
        return None
    ctype = headers.get("Content-Type", "")
    if "json" in ctype:
        return json.loads(raw)
    return raw.decode("utf-8", "replace")


def _problem(e):
    raw = b""
    try:
        raw = e.read()
    except OSError:
        pass
    problem = None
    if "json" in (e.headers.get("Content-Type", "") if e.headers else ""):
        try:
            problem = json.loads(raw)
        except ValueError:
            problem = None
    if not isinstance(problem, dict):
        # A proxy's HTML page or a plain-text answer: keep its start as the detail.
        text = raw.decode("utf-8", "replace").strip()
        problem = {"title": e.reason or "HTTP error", "detail": text[:500]}
    err = error_for(e.code, problem)
    if isinstance(err, TooManyRequests) and e.headers:
        err.retry_after = e.headers.get("Retry-After")
    return err


class Jobs:
    """Jobs are the /api/v1/jobs routes: client.jobs.*"""

    def __init__(self, client):
        self._c = client

    def list(self, *, tag=None, paused=None, task=None, queue=None, source=None, page_size=None):
        """list returns every job the filters select (all pages), ordered by ID."""
        return list(self.iter(tag=tag, paused=paused, task=task, queue=queue, source=source,
                              page_size=page_size))

    def iter(self, *, tag=None, paused=None, task=None, queue=None, source=None, page_size=None):
        """iter yields the jobs the filters select, fetching page after page."""
        query = {"tag": tag, "paused": paused, "task": task, "queue": queue, "source": source,
                 "limit": page_size}
        yield from _pages(self._c, "/api/v1/jobs", "jobs", query)

    def get(self, job_id):
        """get returns one job; its "version" is what If-Match takes."""
        return self._c.request("GET", f"/api/v1/jobs/{_segment(job_id)}").data

    def create(self, job, *, declare_task=False):
        """create adds a job (201); declare_task=True accepts a task no worker has served yet."""
        query = {"declare_task": True} if declare_task else None
        return self._c.request("POST", "/api/v1/jobs", job, query=query).data

    def replace(self, job_id, job, *, if_match=None, declare_task=False):
        """replace puts the job's whole definition; if_match (a version) fails with 412 if it changed."""
        query = {"declare_task": True} if declare_task else None
        return self._c.request("PUT", f"/api/v1/jobs/{_segment(job_id)}", job, query=query,
                               headers={"If-Match": _etag(if_match)}).data

    def patch(self, job_id, patch, *, if_match=None):
        """patch applies a JSON merge patch (RFC 7396) of the job's document."""
        return self._c.request("PATCH", f"/api/v1/jobs/{_segment(job_id)}", patch,
                               headers={"If-Match": _etag(if_match)}).data

    def delete(self, job_id, *, cancel_running=False, if_match=None):
        """delete removes the job (its runs stay) → {"id", "running_runs"}."""
        return self._c.request("DELETE", f"/api/v1/jobs/{_segment(job_id)}",
                               query={"cancel_running": cancel_running or None},
                               headers={"If-Match": _etag(if_match)}).data

    def pause(self, job_id, *, cancel_running=False):
        """pause stops the job's fires → the job with its "running_runs"."""
        return self._c.request("POST", f"/api/v1/jobs/{_segment(job_id)}/pause",
                               query={"cancel_running": cancel_running or None}).data

    def resume(self, job_id):
        """resume lets the job fire again."""
        return self._c.request("POST", f"/api/v1/jobs/{_segment(job_id)}/resume").data

    def run_now(self, job_id, *, args=_NOBODY):
        """run_now starts a manual run (202) and returns it; args replaces the job's args (admin)."""
        body = _NOBODY if args is _NOBODY else {"args": args}
        return self._c.request("POST", f"/api/v1/jobs/{_segment(job_id)}/run", body).data


class Runs:
    """Runs are the /api/v1/runs routes: client.runs.*"""

    def __init__(self, client):
        self._c = client

    def list(self, *, job_id=None, status=None, since=None, until=None, backfill=None, limit=100):
        """list returns one page of runs, newest fire first (without output)."""
        query = {"job_id": job_id, "status": status, "since": _when(since), "until": _when(until),
                 "backfill": backfill, "limit": limit}
        return self._c.request("GET", "/api/v1/runs", query=query).data.get("runs") or []

    def iter(self, *, job_id=None, status=None, since=None, until=None, backfill=None, page_size=None):
        """iter yields every run the filters select, fetching page after page."""
        query = {"job_id": job_id, "status": status, "since": _when(since), "until": _when(until),
                 "backfill": backfill, "limit": page_size}
        yield from _pages(self._c, "/api/v1/runs", "runs", query)

    def get(self, run_id):
        """get returns one run with its result, error and output."""
        return self._c.request("GET", f"/api/v1/runs/{_segment(run_id)}").data

    def output(self, run_id):
        """output returns the run's output as text."""
        return self._c.request("GET", f"/api/v1/runs/{_segment(run_id)}/output").data or ""

    def cancel(self, run_id):
        """cancel cancels a run: at once if it had not started, else its worker stops it."""
        return self._c.request("POST", f"/api/v1/runs/{_segment(run_id)}/cancel").data

    def wait(self, run_id, timeout=None, poll=1.0):
        """wait polls the run until it has ended and returns it; TimeoutError after timeout seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = self.get(run_id)
            if run.get("status") in ENDED:
                return run
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"run {run_id} has not ended after {timeout}s "
                                   f"(status {run.get('status')})")
            pause = poll if deadline is None else max(0.0, min(poll, deadline - time.monotonic()))
            time.sleep(pause)


def _when(t):
    return t.isoformat() if hasattr(t, "isoformat") else t


class Scripts:
    """Scripts are the /api/v1/scripts routes: client.scripts.*"""

    LANGS = {".py": "python", ".sh": "sh", ".bash": "bash", ".js": "node", ".mjs": "node"}

    def __init__(self, client):
        self._c = client

    def list(self):
        """list returns the latest version of every script, without source."""
        return self._c.request("GET", "/api/v1/scripts").data.get("scripts") or []

    def get(self, name, version=None):
        """get returns a script's latest version, or the given one, with its source."""
        path = f"/api/v1/scripts/{_segment(name)}"
        if version is not None:
            path += f"/versions/{int(version)}"
        return self._c.request("GET", path).data

    def versions(self, name):
        """versions returns every version of a script."""
        return self._c.request("GET", f"/api/v1/scripts/{_segment(name)}/versions").data

    def push(self, name, source, lang="python"):
        """push stores source as the script's next version and returns it."""
        return self._c.request("POST", "/api/v1/scripts",
                               {"name": name, "lang": lang, "source": source}).data

    def push_file(self, path, name=None, lang=None):
        """push_file pushes a file; name defaults to its stem, lang to its suffix's language."""
        import pathlib

        p = pathlib.Path(path)
        lang = lang or self.LANGS.get(p.suffix)
        if lang is None:
            raise ValueError(f"sundial: cannot tell the language of {path!r}: pass lang=")
        return self.push(name or p.stem, p.read_text(encoding="utf-8"), lang)

    def rollback(self, name, version):
        """rollback stores a new version with the given version's source."""
        return self._c.request("POST", f"/api/v1/scripts/{_segment(name)}/rollback",
                               {"version": int(version)}).data


class WorkerSessions:
    """WorkerSessions are the worker protocol's routes (docs/workers.md): client.sessions.*

    Calls take a worker-role token. sundial.worker.Worker drives them; they
    are public for workers written by hand.
    """

    def __init__(self, client):
        self._c = client

    def open(self, name, tasks, capacity, *, host=None, pid=None, version=None, replace=False):
        """open starts a session and returns the server's answer (session, lease_ttl_ms …)."""
        body = {"name": name, "tasks": list(tasks), "capacity": capacity, "host": host, "pid": pid,
                "version": version or f"sundial-python {__version__}"}
        if replace:
            body["replace"] = True
        return self._c.request("POST", "/api/v1/worker/sessions", body).data

    def claim(self, session, limit, wait_ms=20000, poll=None):
        """claim long-polls for up to limit runs; returns the list of runs (maybe empty).

        Every run returned is recorded running and leased to the session: run
        it, or give it back with release(). poll (a Poll) lets another thread
        end the wait early.
        """
        data = self._c.request("POST", f"/api/v1/worker/sessions/{_segment(session)}/claim",
                               {"limit": limit, "wait_ms": wait_ms},
                               timeout=wait_ms / 1000 + 10, poll=poll).data
        return (data or {}).get("runs") or []

    def heartbeat(self, session, runs, timeout=None):
        """heartbeat renews the leases of runs → {"held", "cancel", "lease_until", "lease_ttl_ms"}."""
        return self._c.request("POST", f"/api/v1/worker/sessions/{_segment(session)}/heartbeat",
                               {"runs": list(runs)}, timeout=timeout).data or {}

    def output(self, session, run_id, output, timeout=None):
        """output replaces the run's live output with everything printed so far."""
        self._c.request("PUT", f"/api/v1/worker/sessions/{_segment(session)}/runs/{_segment(run_id)}/output",
                        {"output": output}, timeout=timeout)

    def finish(self, session, run_id, *, attempt, status, result=None, error=None, exit_code=None,
               output=None, timeout=None):
        """finish reports a run's outcome → the run as recorded; Conflict if it is no longer held."""
        body = {"attempt": attempt, "status": status, "error": error, "result": result,
                "exit_code": exit_code, "output": output}
        data = self._c.request("POST", f"/api/v1/worker/sessions/{_segment(session)}/runs/{_segment(run_id)}/finish",
                               body, timeout=timeout).data
        return (data or {}).get("run")

    def release(self, session, run_id, timeout=None):
        """release gives back a run the session received and will not start: it is scheduled
        again at once. Conflict once the session no longer holds it; Gone once the session ended."""
        self._c.request("POST", f"/api/v1/worker/sessions/{_segment(session)}/runs/{_segment(run_id)}/release",
                        timeout=timeout)

    def close(self, session):
        """close ends the session (its calls then answer Gone); give back first, with release(),
        the runs it received and will not start. A run it still holds is recovered by its lease."""
        self._c.request("DELETE", f"/api/v1/worker/sessions/{_segment(session)}")


def _pages(client, path, key, query):
    query = dict(query)
    while True:
        data = client.request("GET", path, query=query).data or {}
        yield from data.get(key) or []
        cursor = data.get("next_cursor")
        if not cursor:
            return
        query["cursor"] = cursor


__all__ = ["Client", "Poll", "Response", "ENDED", "SundialError"]
