"""An in-process fake of the Sundial server: the worker protocol and enough of API v1.

It keeps everything in memory, logs every request, and has switches for the
failures the tests need (heartbeats answering 503, a name in use, a finish
refused). It follows docs/workers.md and docs/api.md, including the
server's normalisation of stored jobs (cron fields as strings, durations
as Go strings, interval triggers pinned to a start date).
"""

from __future__ import annotations

import copy
import json
import re
import select
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_RESULT = 256 << 10
ENDED = {"succeeded", "failed", "timed_out", "missed", "skipped", "interrupted", "lost", "canceled"}


def go_seconds(n):
    n = int(n)
    if n < 60:
        return f"{n}s"
    if n < 3600:
        return f"{n // 60}m{n % 60}s"
    return f"{n // 3600}h{n % 3600 // 60}m{n % 60}s"


def parse_seconds(v):
    if isinstance(v, (int, float)):
        return v
    total = 0
    for num, unit in re.findall(r"([\d.]+)(h|ms|m|s)", v):
        total += float(num) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total


def normalise(doc):
    """The job as the server would store it."""
    job = copy.deepcopy(doc)
    trig = job.get("trigger")
    if isinstance(trig, dict):
        if isinstance(trig.get("fields"), dict):
            trig["fields"] = {k: str(v) for k, v in trig["fields"].items()}
        if trig.get("type") == "interval" and not trig.get("start_date"):
            trig["start_date"] = "2030-01-01T00:00:00Z"
        if "jitter" in trig:
            trig["jitter"] = go_seconds(parse_seconds(trig["jitter"]))
    opts = job.setdefault("options", {})
    for key in ("misfire_grace", "timeout", "retry_backoff", "max_retry_backoff"):
        if key in opts and opts[key] != "none":
            opts[key] = go_seconds(parse_seconds(opts[key]))
    job.setdefault("paused", False)
    return job


class Fake:
    # The lease is 3 s unless a test asks for another: a test about leases
    # passes 600 ms; under the load of a CI run a worker's heartbeat can
    # come half a second late, which fenced the runs of tests that are not
    # about leases at all.
    def __init__(self, token="sdl_testtoken", lease_ttl_ms=3000, heartbeat_ms=150, output_limit=65536):
        self.token = token
        self.lease_ttl_ms = lease_ttl_ms
        self.heartbeat_ms = heartbeat_ms
        self.output_limit = output_limit
        self.cond = threading.Condition()
        self.requests = []  # (method, path, query, body)
        self.jobs = {}
        self.runs = {}
        self.pending = []  # run ids waiting for a worker
        self.sessions = {}
        self.outputs = {}  # run id → list of outputs streamed
        self.finishes = []  # finish bodies, with run_id
        self.scripts = {}
        self.closed_sessions = []
        self.busy_names = {}  # name → how many more opens to refuse
        self.heartbeat_status = None  # e.g. 503 to make heartbeats fail
        self.refuse_finish = set()
        self.finish_status = {}  # run id → a status (400, 413) to answer its next finish with
        self.max_body = 1 << 20  # a bigger request is answered 413, as the server's limit does
        self.claim_hold = 0.0  # seconds an answer with runs is held, deaf to the worker going away
        self.gone_claims = 0  # claims that ended because the worker went away (half-closed)
        self.releases = []  # (run id, status answered)
        self.beat_times = []  # time.monotonic() of each heartbeat received
        self._seq = 0
        self.server = None

    # --- running -------------------------------------------------------------

    def start(self):
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def next_id(self, prefix):
        self._seq += 1
        return f"{prefix}{self._seq:04d}"

    def wait_for(self, pred, timeout=10.0, what="condition"):
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                got = pred()
                if got:
                    return got
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}")
                self.cond.wait(min(left, 0.05))

    # --- test helpers --------------------------------------------------------

    def enqueue(self, task, args=None, job_id="job", timeout_ms=0, attempt=1):
        with self.cond:
            rid = self.next_id("run")
            run = {"id": rid, "job_id": job_id, "task": task, "attempt": attempt,
                   "scheduled_at": "2026-12-01T03:00:00Z", "status": "pending", "timeout_ms": timeout_ms,
                   "manual": False, "upstream": None}
            if args is not None:
                run["args"] = args
            self.runs[rid] = run
            self.pending.append(rid)
            self.cond.notify_all()
            return rid

    def finish_of(self, rid):
        for f in self.finishes:
            if f["run_id"] == rid:
                return f
        return None

    def wait_finish(self, rid, timeout=10.0):
        return self.wait_for(lambda: self.finish_of(rid), timeout, f"finish of {rid}")

    def drop(self, rid):
        """Mark a run lost: the server no longer holds it for its worker."""
        with self.cond:
            self.runs[rid]["status"] = "lost"
            self.runs[rid]["session"] = None

    def writes(self):
        return [(m, p) for m, p, _, _ in self.requests if m != "GET"]


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A worker killed or stopped mid-call: not the test's failure.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def _problem(status, title, detail, **extra):
    return status, {"type": "https://sundial.dev/problems/x", "title": title, "status": status,
                    "detail": detail, **extra}


class _Handler(BaseHTTPRequestHandler):
    fake: Fake

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_PATCH(self):
        self._serve("PATCH")

    def do_DELETE(self):
        self._serve("DELETE")

    def _serve(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fake = self.fake
        with fake.cond:
            fake.requests.append((method, url.path, query, raw))
            fake.cond.notify_all()
        headers = {}
        if length > fake.max_body:
            status, body = _problem(413, "Request Entity Too Large", f"more than {fake.max_body} bytes")
        elif self.headers.get("Authorization") != f"Bearer {fake.token}":
            status, body = _problem(401, "Unauthorized", "no valid token")
        elif method != "GET" and self.headers.get("Content-Type") != "application/json":
            status, body = _problem(415, "Unsupported Media Type", "send application/json")
        else:
            try:
                data = json.loads(raw) if raw else None
            except ValueError:
                data = "malformed"
            try:
                status, body, headers = _route(fake, method, url.path, query, data, self.headers,
                                               self._client_gone)
            except Exception as e:  # noqa: BLE001
                status, body = _problem(500, "Internal Server Error", repr(e))
        out = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        ctype = "application/problem+json" if status >= 400 else "application/json"
        if out:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(out)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(out)

    def _client_gone(self):
        """The client closed its side (a worker that stopped), as Go's server notices."""
        try:
            ready, _, _ = select.select([self.connection], [], [], 0)
            return bool(ready) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True


def _route(fake, method, path, query, data, headers, gone=lambda: False):
    m = re.fullmatch(r"/api/v1/worker/sessions"
                     r"(?:/([^/]+)(?:/(claim|heartbeat)|/runs/([^/]+)/(output|finish|release))?)?", path)
    if m:
        return _worker(fake, method, m.group(1), m.group(2) or m.group(4), m.group(3), data, gone)
    m = re.fullmatch(r"/api/v1/jobs(?:/([^/]+)(?:/(pause|resume|run))?)?", path)
    if m:
        return _jobs(fake, method, m.group(1), m.group(2), query, data, headers)
    m = re.fullmatch(r"/api/v1/runs(?:/([^/]+)(?:/(cancel|output))?)?", path)
    if m:
        return _runs(fake, method, m.group(1), m.group(2), query)
    m = re.fullmatch(r"/api/v1/scripts(?:/([^/]+))?", path)
    if m:
        return _scripts(fake, method, m.group(1), data)
    return (*_problem(404, "Not Found", f"no route {path}"), {})


def _worker(fake, method, sid, action, rid, data, gone):
    with fake.cond:
        if sid is None and method == "POST":
            name = data["name"]
            if fake.busy_names.get(name, 0) > 0:
                fake.busy_names[name] -= 1
                return (*_problem(409, "Conflict", f"worker name {name!r} is in use"), {})
            sid = f"{name}~{fake.next_id('s')}"
            fake.sessions[sid] = {"name": name, "tasks": sorted(data["tasks"]), "capacity": data["capacity"],
                                  "open": data}
            return 201, {"session": sid, "name": name, "tasks": sorted(data["tasks"]), "queues": [],
                         "capacity": data["capacity"], "lease_ttl_ms": fake.lease_ttl_ms,
                         "heartbeat_ms": fake.heartbeat_ms, "output_limit": fake.output_limit}, {}
        session = fake.sessions.get(sid)
        if session is None:
            return (*_problem(410, "Gone", "session replaced"), {})
        if method == "DELETE" and action is None:
            del fake.sessions[sid]
            fake.closed_sessions.append(sid)
            for run in fake.runs.values():
                if run.get("session") == sid and run["status"] == "running":
                    run["session"] = None
            fake.cond.notify_all()
            return 204, None, {}
        if action == "claim":
            arrived = time.monotonic()
            end = arrived + min(data["wait_ms"], 25000) / 1000
            while not fake.pending and time.monotonic() < end and sid in fake.sessions:
                if gone():
                    # The worker went away: nothing is claimed for it.
                    fake.gone_claims += 1
                    fake.cond.notify_all()
                    return 200, {"runs": []}, {}
                fake.cond.wait(min(0.05, max(0.0, end - time.monotonic())))
            taken = [fake.pending.pop(0) for _ in range(min(data["limit"], len(fake.pending)))]
            out = []
            for rid_ in taken:
                run = fake.runs[rid_]
                run.update(status="running", session=sid, started_at="2026-12-01T03:00:01Z")
                out.append({k: v for k, v in run.items() if k != "session"})
                out[-1]["claimed_after_ms"] = int((time.monotonic() - arrived) * 1000)
            fake.cond.notify_all()
            if out and fake.claim_hold:
                # An answer already on its way when the worker stops.
                until = time.monotonic() + fake.claim_hold
                while time.monotonic() < until:
                    fake.cond.wait(until - time.monotonic())
            return 200, {"runs": out}, {}
        if action == "heartbeat":
            fake.beat_times.append(time.monotonic())
            if fake.heartbeat_status:
                return (*_problem(fake.heartbeat_status, "Service Unavailable", "try later"), {})
            held = [r for r in data["runs"] if fake.runs.get(r, {}).get("session") == sid]
            cancel = [r for r in held if fake.runs[r].get("cancel_requested")]
            session.setdefault("beats", []).append(list(data["runs"]))
            return 200, {"held": held, "cancel": cancel, "lease_until": "2030-01-01T00:00:00Z",
                         "lease_ttl_ms": fake.lease_ttl_ms}, {}
        run = fake.runs.get(rid)
        if run is None:
            return (*_problem(404, "Not Found", f"no run {rid}"), {})
        if action == "output":
            fake.outputs.setdefault(rid, []).append(data["output"])
            fake.cond.notify_all()
            return 204, None, {}
        if action == "release" and method == "POST":
            if run.get("session") != sid or run["status"] != "running":
                fake.releases.append((rid, 409))
                return (*_problem(409, "Conflict", "the run is no longer held by this session"), {})
            run.update(status="pending", session=None)
            fake.pending.insert(0, rid)
            fake.releases.append((rid, 204))
            fake.cond.notify_all()
            return 204, None, {}
        if action == "finish":
            fake.finishes.append({"run_id": rid, "session": sid, **data})
            fake.cond.notify_all()
            forced = fake.finish_status.pop(rid, None)
            if forced:
                return (*_problem(forced, "Refused", f"answered {forced} by the test", field="result"), {})
            result = data.get("result")
            if result is not None and len(json.dumps(result, separators=(",", ":"))) > MAX_RESULT:
                return (*_problem(400, "Invalid input", "result: more than the 262144 bytes a run keeps",
                                  field="result"), {})
            if run.get("session") != sid or data.get("attempt") != run["attempt"] or rid in fake.refuse_finish:
                return (*_problem(409, "Conflict", "the run is no longer held by this session"), {})
            run.update(status=data["status"], result=data.get("result"), error=data.get("error"),
                       output=data.get("output"), session=None)
            return 200, {"run": run}, {}
    return (*_problem(405, "Method Not Allowed", method), {})


def _etag(job):
    return {"ETag": f'"{job["version"]}"'}


DEFINITION = ("id", "name", "task", "args", "trigger", "tags", "queue", "options", "paused")


def _jobs(fake, method, jid, action, query, data, headers):
    with fake.cond:
        if jid is None and method == "GET":
            jobs = sorted(fake.jobs.values(), key=lambda j: j["id"])
            if "task" in query:
                jobs = [j for j in jobs if j["task"] == query["task"]]
            if "cursor" in query:
                jobs = [j for j in jobs if j["id"] > query["cursor"]]
            limit = int(query.get("limit", 100))
            page = jobs[:limit]
            body = {"jobs": page}
            if len(jobs) > limit:
                body["next_cursor"] = page[-1]["id"]
            return 200, body, {}
        if jid is None and method == "POST":
            if not isinstance(data, dict) or not data.get("task") or not data.get("trigger"):
                return (*_problem(400, "Invalid input", "a job needs task and trigger", field="(document)"), {})
            unknown = set(data) - set(DEFINITION)
            if unknown:
                return (*_problem(400, "Invalid input", f"unknown field {sorted(unknown)[0]}"), {})
            if data["id"] in fake.jobs:
                return (*_problem(409, "Conflict", f"job {data['id']} exists"), {})
            time.sleep(0.01)  # widen the window in which concurrent declarers race
            job = normalise(data)
            job.update(version=1, declared_task=query.get("declare_task") == "true")
            fake.jobs[job["id"]] = job
            return 201, job, {**_etag(job), "Location": f"/api/v1/jobs/{job['id']}"}
        job = fake.jobs.get(jid)
        if job is None:
            return (*_problem(404, "Not Found", f"no job {jid}"), {})
        if action == "run" and method == "POST":
            rid = fake.next_id("run")
            run = {"id": rid, "job_id": jid, "task": job["task"], "attempt": 1, "status": "pending",
                   "manual": True, "scheduled_at": "2026-12-01T03:00:00Z",
                   "args": (data or {}).get("args", job.get("args"))}
            fake.runs[rid] = run
            return 202, run, {}
        if action in ("pause", "resume"):
            paused = action == "pause"
            if job["paused"] != paused:
                job["paused"] = paused
                job["version"] += 1
            return 200, {**job, "running_runs": []} if paused else job, _etag(job)
        if method == "GET":
            return 200, job, _etag(job)
        want = headers.get("If-Match")
        if want is not None and want != f'"{job["version"]}"':
            return (*_problem(412, "Precondition Failed", f"job {jid} is at version {job['version']}"), {})
        if method == "DELETE":
            del fake.jobs[jid]
            return 200, {"id": jid, "running_runs": []}, {}
        if method == "PUT":
            new = normalise(data)
            new["version"] = job["version"] + 1
            fake.jobs[jid] = new
            return 200, new, _etag(new)
        if method == "PATCH":
            merged = _merge({k: v for k, v in job.items() if k in DEFINITION}, data)
            new = normalise(merged)
            new["version"] = job["version"] + 1
            fake.jobs[jid] = new
            return 200, new, _etag(new)
    return (*_problem(405, "Method Not Allowed", method), {})


def _merge(target, patch):
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(out.get(k), v)
    return out


def _runs(fake, method, rid, action, query):
    with fake.cond:
        if rid is None:
            runs = [r for r in fake.runs.values()
                    if all(r.get(k) == query[k] for k in ("job_id", "status") if k in query)]
            limit = int(query.get("limit", 100))
            return 200, {"runs": [{k: v for k, v in r.items() if k not in ("output", "session")}
                                  for r in runs[:limit]]}, {}
        run = fake.runs.get(rid)
        if run is None:
            return (*_problem(404, "Not Found", f"no run {rid}"), {})
        if action == "cancel":
            if run["status"] in ENDED:
                return (*_problem(409, "Conflict", f"run {rid} has ended: {run['status']}",
                                  type="https://sundial.dev/problems/run-ended"), {})
            run["cancel_requested"] = True
            return 202, run, {}
        return 200, {k: v for k, v in run.items() if k != "session"}, {}


def _scripts(fake, method, name, data):
    with fake.cond:
        if method == "POST":
            versions = fake.scripts.setdefault(data["name"], [])
            script = {**data, "version": len(versions) + 1, "checksum": "x", "author": "t",
                      "created_at": "2026-01-01T00:00:00Z"}
            versions.append(script)
            return 201, script, {}
        if name is None:
            return 200, {"scripts": [{k: v for k, v in vs[-1].items() if k != "source"}
                                     for vs in fake.scripts.values()]}, {}
        if name not in fake.scripts:
            return (*_problem(404, "Not Found", f"no script {name}"), {})
        return 200, fake.scripts[name][-1], {}
