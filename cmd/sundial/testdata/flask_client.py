"""Manage jobs through Sundial's Flask-APScheduler-compatible routes, the way
a Flask-APScheduler user's script does: the standard library's urllib, JSON
bodies, HTTP basic auth. Exits non-zero with a message on the first
difference from Flask-APScheduler's behaviour.

Usage: flask_client.py BASE_URL TOKEN
"""
import base64
import json
import sys
import urllib.error
import urllib.request

BASE, TOKEN = sys.argv[1].rstrip("/"), sys.argv[2]
AUTH = "Basic " + base64.b64encode(("admin:" + TOKEN).encode()).decode()


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + "/scheduler" + path, data=data, method=method,
                                 headers={"Authorization": AUTH, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            raw = res.read()
            return res.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else None)


def expect(what, got, want):
    if got != want:
        sys.exit("%s: got %r, want %r" % (what, got, want))


status, info = call("GET", "")
expect("GET /scheduler status", status, 200)
expect("running", info["running"], True)
expect("allowed_hosts", info["allowed_hosts"], ["*"])

status, job = call("POST", "/jobs", {"id": "py-job", "func": "echo", "trigger": "cron", "day_of_week": "mon-fri",
                                      "hour": 9, "minute": 30, "args": [1, 2], "kwargs": {"who": "ops"},
                                      "timezone": "Europe/Paris", "misfire_grace_time": 120})
expect("add status", status, 200)
expect("add func", job["func"], "echo")
expect("add trigger", (job["trigger"], job["hour"], job["minute"], job["day_of_week"]), ("cron", "9", "30", "mon-fri"))
expect("add args", (job["args"], job["kwargs"]), ([1, 2], {"who": "ops"}))
expect("misfire_grace_time", job["misfire_grace_time"], 120)
if not job["next_run_time"].endswith(("T09:30:00+01:00", "T09:30:00+02:00")):
    sys.exit("next_run_time %r is not 09:30 Paris time" % job["next_run_time"])

status, err = call("POST", "/jobs", {"id": "py-job", "func": "echo", "trigger": "interval", "seconds": 5})
expect("duplicate", (status, err), (409, {"error_message": "Job py-job already exists."}))

status, err = call("POST", "/jobs", {"id": "bad", "func": "echo", "trigger": "cron", "hour": 24})
expect("bad hour status", status, 400)
if "hour" not in err["error_message"]:
    sys.exit("bad hour message %r does not name the field" % err["error_message"])

status, jobs = call("GET", "/jobs")
expect("list", (status, "py-job" in [j["id"] for j in jobs]), (200, True))

status, job = call("PATCH", "/jobs/py-job", {"trigger": "interval", "minutes": 30})
expect("modify", (status, job["trigger"], job["minutes"]), (200, "interval", 30))

status, job = call("POST", "/jobs/py-job/pause")
expect("pause", (status, job["next_run_time"]), (200, None))
status, job = call("POST", "/jobs/py-job/resume")
if status != 200 or job["next_run_time"] is None:
    sys.exit("resume: %r %r" % (status, job))

status, job = call("POST", "/jobs/py-job/run")
expect("run", (status, job["id"]), (200, "py-job"))

status, err = call("GET", "/jobs/nope")
expect("missing", (status, err), (404, {"error_message": "Job nope not found"}))

status, _ = call("DELETE", "/jobs/py-job")
expect("delete", status, 204)
status, _ = call("DELETE", "/jobs/py-job")
expect("delete again", status, 404)

for step, want in (("pause", 204), ("resume", 204), ("shutdown", 204), ("start", 204)):
    status, _ = call("POST", "/" + step)
    expect(step, status, want)
print("flask-apscheduler client: ok")
