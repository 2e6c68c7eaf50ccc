"""Structured logs: one JSON object a line, with job_id, run_id, task and attempt."""

from __future__ import annotations

import datetime
import json
import logging
import re
import sys

from .output import PLAIN_FORMAT

FIELDS = ("worker", "session", "job_id", "run_id", "task", "attempt", "status", "error", "elapsed_ms")

# API tokens have a recognisable prefix: mask any that reaches a message.
_TOKEN = re.compile(r"sdl_[A-Za-z0-9_\-]+")


def mask(text):
    """mask hides API tokens in text."""
    return _TOKEN.sub("sdl_****", text)


class JsonFormatter(logging.Formatter):
    """JsonFormatter writes a record as a JSON line: time, level, logger, msg and run fields."""

    def format(self, record):
        out = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask(record.getMessage()),
        }
        for key in FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = mask(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exc"] = mask(self.formatException(record.exc_info))
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """TextFormatter is a plain line with the run fields appended as key=value."""

    def __init__(self):
        super().__init__(PLAIN_FORMAT)

    def format(self, record):
        line = super().format(record)
        extra = " ".join(f"{k}={getattr(record, k)}" for k in FIELDS if getattr(record, k, None) is not None)
        return mask(f"{line} {extra}" if extra else line)


def setup_logging(level="INFO", fmt="json", stream=None):
    """setup_logging sends the root logger's records to stderr, as JSON lines or text."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler._sundial_handler = True  # the fork child switches it to plain text for run output
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_sundial_handler", False):
            root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


class RunLogger(logging.LoggerAdapter):
    """RunLogger adds the run's fields to every record, keeping any extra the caller gives."""

    def process(self, msg, kwargs):
        kwargs["extra"] = {**self.extra, **(kwargs.get("extra") or {})}
        return msg, kwargs
