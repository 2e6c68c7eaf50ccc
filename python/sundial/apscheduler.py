"""APScheduler's vocabulary translated to Sundial job documents.

    job_document("nightly", "app.jobs:report", "cron", {"hour": 3})
    → {"id": "nightly", "task": "app.jobs:report",
       "trigger": {"type": "cron", "dialect": "apscheduler", "fields": {"hour": 3}}}

Triggers: "cron" (year … second, start_date, end_date, timezone, jitter) →
{"type": "cron", "dialect": "apscheduler", "fields": {…}}; "interval"
(weeks … seconds, start_date, end_date, timezone, jitter) → {"type":
"interval", …}; "date" (run_date, timezone) → {"type": "date", "run_date":
…}. A dict with "type" is APScheduler's old dict form, or, when it has
"expr", "fields" or another Sundial type, a Sundial trigger as it is.

Job options: max_instances → max_instances, coalesce → coalesce,
misfire_grace_time (seconds, or None for no limit) → misfire_grace ("30s",
"none"). args → the job's args as a JSON array, kwargs → a JSON object;
both at once are refused, since a task receives one JSON value.
"""

from __future__ import annotations

import datetime
import json
import re

CRON_FIELDS = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")
INTERVAL_UNITS = ("weeks", "days", "hours", "minutes", "seconds")
TRIGGER_ARGS = {
    "cron": CRON_FIELDS + ("start_date", "end_date", "timezone", "jitter"),
    "interval": INTERVAL_UNITS + ("start_date", "end_date", "timezone", "jitter"),
    "date": ("run_date", "timezone"),
}
JOB_KEYS = ("id", "func", "trigger", "args", "kwargs", "name", "misfire_grace_time", "coalesce",
            "max_instances", "next_run_time", "replace_existing", "jobstore", "executor",
            # Sundial's own, beyond APScheduler's:
            "task", "options", "tags", "queue")
_UNIT_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


# --- durations ---------------------------------------------------------------

def go_duration(seconds):
    """go_duration writes seconds as Go's time.Duration.String does: 30s, 1m30s, 1h0m0s, 500ms."""
    ns = round(float(seconds) * 1e9)
    if ns == 0:
        return "0s"
    sign, ns = ("-" if ns < 0 else ""), abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _fraction(ns, size) + unit
    hours, ns = divmod(ns, 3600 * 1_000_000_000)
    minutes, ns = divmod(ns, 60 * 1_000_000_000)
    text = f"{hours}h" if hours else ""
    if hours or minutes:
        text += f"{minutes}m"
    return sign + text + _fraction(ns, 1_000_000_000) + "s"


def _fraction(n, size):
    whole, rest = divmod(n, size)
    if not rest:
        return str(whole)
    digits = len(str(size)) - 1
    return f"{whole}.{rest:0{digits}d}".rstrip("0")


_GO_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_duration(value):
    """parse_duration reads a Go duration string or a number of seconds → seconds (float).

    "none" (no misfire limit) is returned as it is.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if text == "none":
        return "none"
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body == "0":
        return 0.0
    parts = _GO_PART.findall(body)
    if not parts or "".join(n + u for n, u in parts) != body:
        raise ValueError(f"{value!r} is not a duration such as '30s' or '1h30m'")
    return sign * sum(float(n) * _GO_UNITS[u] for n, u in parts)


def _grace(value):
    if value is None or value == "none":
        return "none"
    return go_duration(parse_duration(value))


# --- values ------------------------------------------------------------------

def timezone_name(tz):
    """timezone_name is an IANA name for a str, zoneinfo, pytz or datetime.timezone.utc value."""
    if tz is None or isinstance(tz, str):
        return tz
    for attr in ("key", "zone"):  # zoneinfo.ZoneInfo, pytz
        name = getattr(tz, attr, None)
        if isinstance(name, str):
            return name
    if tz == datetime.timezone.utc:
        return "UTC"
    raise ValueError(f"timezone {tz!r} has no IANA name: give one such as 'Europe/Berlin'")


def date_text(value, what):
    """date_text writes a datetime, date or string as the server reads it.

    An aware datetime is RFC 3339; a naive one is "YYYY-MM-DD HH:MM:SS",
    which the server reads in the trigger's timezone.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            return value.isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise ValueError(f"{what} {value!r} is not a datetime, a date or a string")


# --- triggers ----------------------------------------------------------------

def _flatten_old_dict(trigger, trigger_args):
    """APScheduler's old form: trigger={"type": "cron", "hour": 3} → ("cron", {"hour": 3})."""
    args = dict(trigger)
    kind = args.pop("type", "date")
    for k, v in trigger_args.items():
        args.setdefault(k, v)
    return kind, args


def _is_sundial_spec(trigger):
    kind = trigger.get("type")
    if kind not in TRIGGER_ARGS:
        return True  # calendar, and, or, none …
    return any(k in trigger for k in ("expr", "fields", "dialect", "triggers", "calendar"))


def trigger_spec(trigger, trigger_args=None, timezone=None, job_id="?"):
    """trigger_spec translates an APScheduler trigger name and its keyword args to a Sundial trigger."""
    args = dict(trigger_args or {})
    where = f"job {job_id!r}"
    if isinstance(trigger, dict):
        if _is_sundial_spec(trigger):
            if args:
                raise ValueError(f"{where}: a Sundial trigger dict takes no other trigger args "
                                 f"(got {', '.join(sorted(args))})")
            spec = dict(trigger)
            if timezone and "timezone" not in spec:
                spec["timezone"] = timezone_name(timezone)
            return spec
        trigger, args = _flatten_old_dict(trigger, args)
    if trigger is None:
        raise ValueError(f"{where}: give a trigger ('cron', 'interval' or 'date' with run_date); "
                         "to run a job once now, use run_job()")
    if not isinstance(trigger, str) or trigger not in TRIGGER_ARGS:
        raise ValueError(f"{where}: trigger {trigger!r} is not supported: use 'cron', 'interval', 'date' "
                         "with their keyword args, or a Sundial trigger dict")
    allowed = TRIGGER_ARGS[trigger]
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise ValueError(f"{where}: {unknown[0]!r} is not an argument of a {trigger} trigger "
                         f"(it takes {', '.join(allowed)})")
    spec = {"type": trigger}
    if trigger == "cron":
        fields = {}
        for name in CRON_FIELDS:
            value = args.get(name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise ValueError(f"{where}: cron field {name}={value!r} must be a whole number or a string")
            fields[name] = value
        if not fields:
            raise ValueError(f"{where}: a cron trigger needs a field, such as hour=3")
        spec.update(dialect="apscheduler", fields=fields)
    elif trigger == "interval":
        units = {u: args[u] for u in INTERVAL_UNITS if args.get(u)}
        for u, v in units.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise ValueError(f"{where}: interval {u}={v!r} must be a positive number")
        if not units:
            raise ValueError(f"{where}: an interval trigger needs weeks, days, hours, minutes or seconds")
        if any(isinstance(v, float) and not v.is_integer() for u, v in units.items() if u != "seconds"):
            # Sundial counts whole weeks … minutes; a fraction goes to seconds.
            units = {"seconds": sum(v * _UNIT_SECONDS[u] for u, v in units.items())}
        spec.update({u: (int(v) if u != "seconds" and float(v).is_integer() else v) for u, v in units.items()})
    else:
        if args.get("run_date") is None:
            raise ValueError(f"{where}: a date trigger needs run_date")
        spec["run_date"] = date_text(args["run_date"], f"{where}: run_date")
    for key in ("start_date", "end_date"):
        if args.get(key) is not None:
            spec[key] = date_text(args[key], f"{where}: {key}")
    if args.get("jitter"):
        spec["jitter"] = go_duration(args["jitter"])
    tz = args.get("timezone") or timezone
    if tz:
        spec["timezone"] = timezone_name(tz)
    return spec


# --- jobs --------------------------------------------------------------------

def job_args(args, kwargs, job_id="?"):
    """job_args is the job's args: kwargs as a JSON object, args as a JSON array, or None."""
    args = list(args) if args else None
    kwargs = dict(kwargs) if kwargs else None
    if args and kwargs:
        raise ValueError(
            f"job {job_id!r}: args and kwargs together cannot reach a Sundial task, whose args are "
            "one JSON value: pass kwargs only (called fn(**kwargs)) or args only (fn(*args))")
    value = kwargs if kwargs is not None else args
    if value is not None:
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ValueError(f"job {job_id!r}: args must be JSON: {e}") from None
    return value


def job_options(job, defaults=None):
    """job_options translates max_instances, coalesce and misfire_grace_time (job first, then defaults)."""
    defaults = defaults or {}
    opts = {}
    for src in (defaults, job):
        if "max_instances" in src and src["max_instances"] is not None:
            opts["max_instances"] = int(src["max_instances"])
        if "coalesce" in src and src["coalesce"] is not None:
            opts["coalesce"] = bool(src["coalesce"])
        if "misfire_grace_time" in src:
            opts["misfire_grace"] = _grace(src["misfire_grace_time"])
    for key, value in (job.get("options") or {}).items():
        opts[key] = value
    return opts


def job_document(job_id, task, trigger, trigger_args=None, *, args=None, kwargs=None, name=None,
                 options=None, tags=None, queue=None, timezone=None, job_defaults=None, **apscheduler):
    """job_document builds a Sundial job document from APScheduler add_job() arguments.

    apscheduler holds max_instances, coalesce, misfire_grace_time and
    next_run_time. It returns (document, paused): paused is True for
    next_run_time=None (APScheduler's "add it paused"); a next_run_time
    datetime (usually "now") becomes the option run_on_start.
    """
    unknown = sorted(set(apscheduler) - {"max_instances", "coalesce", "misfire_grace_time", "next_run_time"})
    if unknown:
        raise ValueError(f"job {job_id!r}: unknown argument {unknown[0]!r}")
    if not job_id or not isinstance(job_id, str):
        raise ValueError(f"job id {job_id!r} must be a non-empty string")
    doc = {"id": job_id, "task": task, "trigger": trigger_spec(trigger, trigger_args, timezone, job_id)}
    if name:
        doc["name"] = name
    value = job_args(args, kwargs, job_id)
    if value is not None:
        doc["args"] = value
    opts = job_options({**apscheduler, "options": options}, job_defaults)
    paused = False
    if "next_run_time" in apscheduler:
        if apscheduler["next_run_time"] is None:
            paused = True
        else:
            opts["run_on_start"] = True
    if opts:
        doc["options"] = opts
    if tags:
        doc["tags"] = list(tags)
    if queue:
        doc["queue"] = queue
    return doc, paused


def split_config_job(entry):
    """split_config_job reads a JOBS entry into (job keys, trigger, trigger args).

    Keys that are neither job keys nor the trigger's args are refused,
    naming the key: "hours" on a cron trigger is a mistake, not a wish.
    """
    entry = dict(entry)
    trigger = entry.pop("trigger", None)
    job = {k: entry.pop(k) for k in JOB_KEYS if k in entry}
    if isinstance(trigger, dict) and not _is_sundial_spec(trigger):
        trigger, entry = _flatten_old_dict(trigger, entry)
    return job, trigger, entry
