"""Declaring jobs from code, idempotently.

An app declares its jobs every time a process starts: four gunicorn
workers, a reloader, a worker process. declare() makes that safe:

1. GET the job. Missing: POST it (?declare_task=true); a 409 means another
   process won the race: start again.
2. Present and the same as declared (compared as the server stores it:
   cron fields as strings, durations as Go strings, an interval trigger
   pinned to its start date): nothing is written, no version changes.
3. Different: PUT the declared definition with If-Match of the version
   read; a 412 means another process changed it meanwhile: start again.

The app owns the fields it declares — task, trigger, args, options, and
name, tags and queue when it gives them. A job's paused state is the
operator's: it is set only when the job is created, never changed later.
"""

from __future__ import annotations

import json

from .apscheduler import parse_duration
from .errors import Conflict, NotFound, PreconditionFailed

DEFINITION = ("id", "name", "task", "args", "trigger", "tags", "queue", "options", "paused")
OWNED = ("task", "trigger", "args", "options")
OPTIONAL = ("name", "tags", "queue")
DURATIONS = {"misfire_grace", "timeout", "retry_backoff", "max_retry_backoff", "jitter"}
ATTEMPTS = 8


def _empty(v):
    return v is None or v == {} or v == [] or v == ""


def _scalar(v):
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float)):
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    return v


def _same(a, b, key=None):
    if _empty(a) and _empty(b):
        return True
    if key in DURATIONS:
        try:
            return parse_duration(a) == parse_duration(b)
        except (ValueError, TypeError):
            return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        keys = {k for k in a.keys() | b.keys() if not (_empty(a.get(k)) and _empty(b.get(k)))}
        return all(_same(a.get(k), b.get(k), k) for k in keys)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return _scalar(a) == _scalar(b)


def _pinned(declared, stored):
    """An interval declared without start_date matches the start the server pinned."""
    if (isinstance(declared, dict) and isinstance(stored, dict) and declared.get("type") == "interval"
            and stored.get("type") == "interval" and not declared.get("start_date")
            and stored.get("start_date")):
        return {**declared, "start_date": stored["start_date"]}
    return declared


def same_definition(declared, stored):
    """same_definition reports whether the stored job already has the declared definition."""
    for key in OWNED + tuple(k for k in OPTIONAL if k in declared):
        want = declared.get(key)
        if key == "trigger":
            want = _pinned(want, stored.get("trigger"))
        if not _same(want, stored.get(key), key):
            return False
    return True


def replacement(declared, stored):
    """replacement is the document a PUT sends: the stored definition with the declared fields."""
    doc = {k: stored[k] for k in DEFINITION if k in stored}
    for key in OWNED:
        if key in declared:
            doc[key] = declared[key]
        else:
            doc.pop(key, None)
    for key in OPTIONAL:
        if key in declared:
            doc[key] = declared[key]
    return doc


def declare(client, doc, *, paused=False, replace=True):
    """declare makes the server's job match doc and returns (job, action).

    action is "created", "updated" or "unchanged". With replace=False a job
    that exists with another definition is a Conflict. Errors other than
    the races above are raised as they come.
    """
    job_id = doc["id"]
    for _ in range(ATTEMPTS):
        try:
            stored = client.jobs.get(job_id)
        except NotFound:
            body = dict(doc, paused=True) if paused else doc
            try:
                return client.jobs.create(body, declare_task=True), "created"
            except Conflict:
                continue  # created meanwhile by another process
        if same_definition(doc, stored):
            return stored, "unchanged"
        if not replace:
            raise Conflict(409, "Conflict", f"job {job_id!r} exists with another definition: "
                           f"{json.dumps({k: stored.get(k) for k in OWNED})}; pass replace_existing=True "
                           "to replace it", {"status": 409})
        try:
            job = client.jobs.replace(job_id, replacement(doc, stored), if_match=stored.get("version"),
                                      declare_task=doc.get("task") != stored.get("task"))
            return job, "updated"
        except (PreconditionFailed, NotFound):
            continue  # changed or removed meanwhile: look again
    raise Conflict(409, "Conflict", f"job {job_id!r} kept changing under {ATTEMPTS} attempts to declare it",
                   {"status": 409})
