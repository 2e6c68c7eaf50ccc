"""Translating APScheduler's vocabulary, and comparing declared with stored jobs (no Flask needed)."""

import datetime
import os
import sys
import unittest
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakeserver import normalise  # noqa: E402
from sundial.apscheduler import go_duration, job_document, parse_duration, trigger_spec  # noqa: E402
from sundial.declare import replacement, same_definition  # noqa: E402

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


class DurationTest(unittest.TestCase):
    def test_go_duration(self):
        for seconds, want in [(0, "0s"), (0.5, "500ms"), (0.0015, "1.5ms"), (1.5, "1.5s"), (30, "30s"),
                              (60, "1m0s"), (90, "1m30s"), (3600, "1h0m0s"), (5400, "1h30m0s"),
                              (86400, "24h0m0s"), (-2, "-2s")]:
            self.assertEqual(go_duration(seconds), want, seconds)

    def test_parse_duration(self):
        for text, want in [("30s", 30), ("1m30s", 90), ("1h0m0s", 3600), ("500ms", 0.5), ("1.5h", 5400),
                           (90, 90), ("0", 0), ("none", "none")]:
            self.assertEqual(parse_duration(text), want, text)
        for bad in ("30", "3 s", "abc", "1x"):
            with self.assertRaises(ValueError, msg=bad):
                parse_duration(bad)


class TriggerTest(unittest.TestCase):
    def test_translations(self):
        cases = [
            (("cron", {"hour": 3, "minute": 0}), None,
             {"type": "cron", "dialect": "apscheduler", "fields": {"hour": 3, "minute": 0}}),
            (("cron", {"day_of_week": "mon-fri", "hour": "9-17", "timezone": BERLIN}), None,
             {"type": "cron", "dialect": "apscheduler", "fields": {"day_of_week": "mon-fri", "hour": "9-17"},
              "timezone": "Europe/Berlin"}),
            (("cron", {"hour": 3, "jitter": 30, "start_date": "2026-01-01"}), "Asia/Shanghai",
             {"type": "cron", "dialect": "apscheduler", "fields": {"hour": 3}, "jitter": "30s",
              "start_date": "2026-01-01", "timezone": "Asia/Shanghai"}),
            (("interval", {"minutes": 5}), None, {"type": "interval", "minutes": 5}),
            (("interval", {"hours": 1.5}), None, {"type": "interval", "seconds": 5400.0}),
            (("interval", {"seconds": 0.5, "days": 1}), None, {"type": "interval", "days": 1, "seconds": 0.5}),
            (("date", {"run_date": datetime.datetime(2026, 12, 1, 3, 0, tzinfo=datetime.timezone.utc)}), None,
             {"type": "date", "run_date": "2026-12-01T03:00:00+00:00"}),
            (("date", {"run_date": datetime.datetime(2026, 12, 1, 3, 0)}), "Europe/Berlin",
             {"type": "date", "run_date": "2026-12-01 03:00:00", "timezone": "Europe/Berlin"}),
            (({"type": "cron", "second": 10}, {}), None,
             {"type": "cron", "dialect": "apscheduler", "fields": {"second": 10}}),
            (({"type": "cron", "expr": "0 3 * * *"}, {}), "UTC",
             {"type": "cron", "expr": "0 3 * * *", "timezone": "UTC"}),
            (({"type": "calendar", "months": 1, "hour": 9}, {}), None,
             {"type": "calendar", "months": 1, "hour": 9}),
        ]
        for (trigger, args), tz, want in cases:
            with self.subTest(trigger=trigger, args=args):
                self.assertEqual(trigger_spec(trigger, args, tz), want)

    def test_mistakes_are_named(self):
        cases = [
            (("cron", {"hours": 3}), "'hours' is not an argument of a cron trigger"),
            (("cron", {}), "needs a field"),
            (("cron", {"hour": 3.5}), "hour=3.5"),
            (("interval", {}), "needs weeks, days"),
            (("interval", {"minutes": -1}), "minutes=-1"),
            (("date", {}), "needs run_date"),
            ((None, {}), "give a trigger"),
            (("weekly", {}), "'weekly' is not supported"),
            (({"type": "cron", "expr": "0 3 * * *"}, {"hour": 1}), "takes no other trigger args"),
        ]
        for (trigger, args), text in cases:
            with self.subTest(trigger=trigger, args=args):
                with self.assertRaises(ValueError) as cm:
                    trigger_spec(trigger, args, job_id="j")
                self.assertIn(text, str(cm.exception))
                self.assertIn("'j'", str(cm.exception))


class JobDocumentTest(unittest.TestCase):
    def test_options_args_and_pause(self):
        doc, paused = job_document(
            "digest", "app.jobs:send_digest", "interval", {"hours": 6}, kwargs={"dry_run": False},
            max_instances=2, misfire_grace_time=90, coalesce=False, next_run_time=None, name="Digest",
            job_defaults={"misfire_grace_time": 30, "coalesce": True, "max_instances": 1},
            options={"timeout": "10m", "max_attempts": 3}, tags=["mail"])
        self.assertTrue(paused)
        self.assertEqual(doc, {
            "id": "digest", "task": "app.jobs:send_digest", "name": "Digest",
            "trigger": {"type": "interval", "hours": 6}, "args": {"dry_run": False},
            "options": {"max_instances": 2, "coalesce": False, "misfire_grace": "1m30s", "timeout": "10m",
                        "max_attempts": 3},
            "tags": ["mail"]})

    def test_defaults_and_no_limit(self):
        doc, paused = job_document("a", "t", "cron", {"hour": 1}, args=[1, 2], misfire_grace_time=None,
                                   job_defaults={"coalesce": True},
                                   next_run_time=datetime.datetime.now())
        self.assertFalse(paused)
        self.assertEqual(doc["args"], [1, 2])
        self.assertEqual(doc["options"], {"coalesce": True, "misfire_grace": "none", "run_on_start": True})

    def test_args_and_kwargs_together_are_refused(self):
        with self.assertRaises(ValueError) as cm:
            job_document("a", "t", "cron", {"hour": 1}, args=[1], kwargs={"x": 1})
        self.assertIn("args and kwargs together", str(cm.exception))
        with self.assertRaises(ValueError):
            job_document("a", "t", "cron", {"hour": 1}, args=[object()])
        with self.assertRaises(ValueError):
            job_document("a", "t", "cron", {"hour": 1}, jobstore_alias="x")


class SameDefinitionTest(unittest.TestCase):
    def stored(self, doc, **state):
        return {**normalise(doc), "version": 3, "next_run_at": "2030-01-01T03:00:00Z", **state}

    def test_as_stored_is_the_same(self):
        docs = [
            job_document("a", "t", "cron", {"hour": 3, "minute": 0}, timezone="Europe/Berlin",
                         misfire_grace_time=90, kwargs={"x": [1, {"y": None}]})[0],
            job_document("b", "t", "interval", {"minutes": 5}, misfire_grace_time=3600)[0],
            job_document("c", "t", "interval", {"hours": 1, "jitter": 90})[0],
            job_document("d", "t", "date", {"run_date": "2026-12-01 03:00"})[0],
        ]
        for doc in docs:
            with self.subTest(doc=doc["id"]):
                self.assertTrue(same_definition(doc, self.stored(doc, paused=True)))

    def test_differences_are_seen(self):
        base = job_document("a", "t", "cron", {"hour": 3, "minute": 30}, kwargs={"x": 1}, max_instances=2)[0]
        stored = self.stored(base)
        changed = [
            job_document("a", "t", "cron", {"hour": 3}, kwargs={"x": 1}, max_instances=2)[0],
            job_document("a", "t", "cron", {"hour": 3, "minute": 30}, kwargs={"x": 2}, max_instances=2)[0],
            job_document("a", "t", "cron", {"hour": 3, "minute": 30}, kwargs={"x": 1})[0],
            job_document("a", "u", "cron", {"hour": 3, "minute": 30}, kwargs={"x": 1}, max_instances=2)[0],
            job_document("a", "t", "cron", {"hour": 3, "minute": 30}, max_instances=2)[0],
            job_document("a", "t", "cron", {"hour": 3, "minute": 30}, kwargs={"x": 1}, max_instances=2,
                         name="new name")[0],
        ]
        for doc in changed:
            with self.subTest(doc=doc):
                self.assertFalse(same_definition(doc, stored))

    def test_replacement_keeps_what_the_app_does_not_own(self):
        stored = self.stored(job_document("a", "t", "cron", {"hour": 3}, kwargs={"x": 1}, tags=["ops"])[0],
                             paused=True)
        doc = job_document("a", "t", "interval", {"minutes": 5})[0]
        put = replacement(doc, stored)
        self.assertEqual(put, {"id": "a", "task": "t", "trigger": {"type": "interval", "minutes": 5},
                               "tags": ["ops"], "paused": True})


if __name__ == "__main__":
    unittest.main()
