"""Print the jobs of an APScheduler 3 SQLAlchemy job store as JSON.

Sundial's `sundial import apscheduler` runs this with the interpreter that
runs the user's scheduler, since only it can unpickle the jobs' state. It
writes one JSON list: each job as Flask-APScheduler's job dict, or
{"id": ..., "error": ...} for a job it cannot describe.
"""
import json
import pickle
import sys


def zone_name(tz):
    if tz is None:
        return None
    for attr in ("key", "zone"):
        name = getattr(tz, attr, None)
        if isinstance(name, str):
            return name
    return str(tz)


def iso(value):
    return value.isoformat() if value is not None else None


def describe_trigger(trigger):
    kind = type(trigger).__name__
    out = {}
    if kind == "CronTrigger":
        out["trigger"] = "cron"
        for field in trigger.fields:
            if not field.is_default:
                out[field.name] = str(field)
    elif kind == "IntervalTrigger":
        out["trigger"] = "interval"
        out["seconds"] = trigger.interval.total_seconds()
    elif kind == "DateTrigger":
        out["trigger"] = "date"
        out["run_date"] = iso(trigger.run_date)
        out["timezone"] = zone_name(trigger.run_date.tzinfo)
        return out
    else:
        raise ValueError("a %s cannot be described as cron, interval or date" % kind)
    for key in ("start_date", "end_date"):
        value = getattr(trigger, key, None)
        if value is not None:
            out[key] = iso(value)
    out["timezone"] = zone_name(trigger.timezone)
    if getattr(trigger, "jitter", None):
        out["jitter"] = trigger.jitter
    return out


def describe(state):
    func = state["func"]
    if not isinstance(func, str):
        raise ValueError("its function is not a module:name reference")
    job = {
        "id": state["id"],
        "name": state.get("name"),
        "func": func,
        "args": list(state.get("args") or ()),
        "kwargs": dict(state.get("kwargs") or {}),
        "misfire_grace_time": state.get("misfire_grace_time"),
        "coalesce": state.get("coalesce"),
        "max_instances": state.get("max_instances"),
    }
    job.update(describe_trigger(state["trigger"]))
    if state.get("next_run_time") is None:
        job["next_run_time"] = None  # paused
    json.dumps(job)  # args that JSON cannot hold fail here, per job
    return job


def main():
    url, table = sys.argv[1], sys.argv[2]
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    rows = []
    with engine.connect() as conn:
        result = conn.execute(sqlalchemy.text("SELECT id, job_state FROM %s ORDER BY id" % table))
        for job_id, blob in result:
            try:
                rows.append(describe(pickle.loads(blob)))
            except Exception as exc:  # one bad job must not hide the others
                rows.append({"id": job_id, "error": "%s: %s" % (type(exc).__name__, exc)})
    json.dump(rows, sys.stdout)


if __name__ == "__main__":
    main()
