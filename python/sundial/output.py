"""Output of runs: a bounded tail buffer, and per-run capture for isolation "thread"."""

from __future__ import annotations

import io
import logging
import sys
import threading

from .context import current_run

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class OutputBuffer:
    """OutputBuffer keeps the last ``limit`` bytes written to it."""

    def __init__(self, limit=65536):
        self.limit = max(1, int(limit))
        self.total = 0
        self._buf = bytearray()
        self._lock = threading.Lock()

    def write(self, data):
        """write appends bytes (or text, encoded as UTF-8)."""
        if isinstance(data, str):
            data = data.encode("utf-8", "backslashreplace")
        if not data:
            return 0
        with self._lock:
            self.total += len(data)
            self._buf += data
            if len(self._buf) > 2 * self.limit:  # trim now and then, not on every write
                del self._buf[: len(self._buf) - self.limit]
        return len(data)

    def text(self):
        """text returns the tail as text; a character the cut split is dropped."""
        with self._lock:
            tail = bytes(self._buf[-self.limit:])
            cut = self.total > len(tail)
        if cut:
            i = 0
            while i < len(tail) and i < 4 and 0x80 <= tail[i] < 0xC0:
                i += 1
            tail = tail[i:]
        return tail.decode("utf-8", "replace")


class _RunStream(io.TextIOBase):
    """_RunStream stands for sys.stdout or sys.stderr: what a run writes goes to its output."""

    def __init__(self, real):
        self._real = real

    def write(self, s):
        ctx = current_run()
        sink = getattr(ctx, "_sink", None) if ctx is not None else None
        if sink is not None:
            sink.write(s)
            return len(s)
        return self._real.write(s)

    def flush(self):
        self._real.flush()

    def isatty(self):
        return False

    def fileno(self):
        return self._real.fileno()

    @property
    def encoding(self):
        return getattr(self._real, "encoding", "utf-8")


class _RunLogHandler(logging.Handler):
    """_RunLogHandler copies log records emitted inside a run into its output."""

    def __init__(self):
        super().__init__()
        self.setFormatter(logging.Formatter(PLAIN_FORMAT))

    def emit(self, record):
        ctx = current_run()
        sink = getattr(ctx, "_sink", None) if ctx is not None else None
        if sink is not None:
            try:
                sink.write(self.format(record) + "\n")
            except Exception:  # noqa: BLE001 - logging must never fail a run
                self.handleError(record)


_installed = False
_install_lock = threading.Lock()


def install_thread_capture():
    """install_thread_capture routes print() and logging of runs (in any thread) to their output.

    It replaces sys.stdout and sys.stderr with streams that write to the
    current run's output when there is one, and to the real stream
    otherwise; output that bypasses sys.stdout (a C library, a subprocess
    writing to the inherited descriptor) is not captured: use isolation
    "fork" for that.
    """
    global _installed
    with _install_lock:
        if _installed:
            return
        sys.stdout = _RunStream(sys.stdout)
        sys.stderr = _RunStream(sys.stderr)
        logging.getLogger().addHandler(_RunLogHandler())
        _installed = True
