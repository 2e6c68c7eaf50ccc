"""Time APScheduler 3's CronTrigger.get_next_fire_time on the workloads of
cron_test.go, for docs/benchmarks.md.

Needs Debian's python3-apscheduler (apt-get install -y python3-apscheduler):

    /usr/bin/python3 bench/apscheduler_cron.py

Each figure is the median of several repeats, in nanoseconds per call, with
the previous fire time fed back in as cron_test.go does.
"""
import datetime
import statistics
import time

from apscheduler.triggers.cron import CronTrigger

try:
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover
    from backports.zoneinfo import ZoneInfo

CASES = [
    ("every5min", "*/5 * * * *"),
    ("weekdays9am", "0 9 * * 1-5"),
    ("every10s", None),  # from_crontab has no seconds field
    ("feb29", "0 0 29 2 *"),
]


def trigger_for(name, expr, tz):
    if expr is None:
        return CronTrigger(second="*/10", timezone=tz)
    return CronTrigger.from_crontab(expr, timezone=tz)


def measure(trigger, start, horizon, calls):
    t = start
    begin = time.perf_counter_ns()
    for _ in range(calls):
        t = trigger.get_next_fire_time(t, t)
        if t is None or t > horizon:
            t = start
    return (time.perf_counter_ns() - begin) / calls


def main():
    for zone in ("UTC", "America/New_York"):
        tz = ZoneInfo(zone)
        start = datetime.datetime(2026, 3, 7, 12, 34, 56, tzinfo=tz)
        horizon = start.replace(year=2027)
        for name, expr in CASES:
            trigger = trigger_for(name, expr, tz)
            runs = [measure(trigger, start, horizon, 2000) for _ in range(7)]
            print(f"zone={zone} expr={name} apscheduler {statistics.median(runs):.0f} ns/op")


if __name__ == "__main__":
    main()
