"""The API client against the fake server: calls, If-Match, error mapping."""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sundial  # noqa: E402
from fakeserver import Fake  # noqa: E402
from sundial import errors  # noqa: E402

JOB = {"id": "nightly-report", "task": "send_report", "args": {"to": "ops"},
       "trigger": {"type": "cron", "expr": "0 3 * * *", "timezone": "Europe/Berlin"}}


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.fake = Fake().start()
        self.addCleanup(self.fake.stop)
        self.client = sundial.Client(self.fake.url, token=self.fake.token, timeout=5)

    def test_jobs_round_trip(self):
        c = self.client
        created = c.jobs.create(JOB, declare_task=True)
        self.assertEqual(created["version"], 1)
        self.assertTrue(self.fake.jobs["nightly-report"]["declared_task"])
        self.assertEqual(c.jobs.get("nightly-report")["task"], "send_report")
        replaced = c.jobs.replace("nightly-report", {**JOB, "args": {"to": "dev"}}, if_match=1)
        self.assertEqual((replaced["version"], replaced["args"]), (2, {"to": "dev"}))
        patched = c.jobs.patch("nightly-report", {"tags": ["reports"]}, if_match='"2"')
        self.assertEqual(patched["tags"], ["reports"])
        self.assertTrue(c.jobs.pause("nightly-report")["paused"])
        self.assertFalse(c.jobs.resume("nightly-report")["paused"])
        run = c.jobs.run_now("nightly-report", args={"to": "me"})
        self.assertEqual((run["status"], run["args"]), ("pending", {"to": "me"}))
        self.assertEqual(c.jobs.delete("nightly-report"), {"id": "nightly-report", "running_runs": []})
        with self.assertRaises(errors.NotFound):
            c.jobs.get("nightly-report")

    def test_list_follows_pages(self):
        for i in range(5):
            self.client.jobs.create({**JOB, "id": f"job-{i}"})
        got = self.client.jobs.list(page_size=2)
        self.assertEqual([j["id"] for j in got], [f"job-{i}" for i in range(5)])
        pages = [r for r in self.fake.requests if r[1] == "/api/v1/jobs" and r[0] == "GET"]
        self.assertEqual(len(pages), 3)

    def test_errors_carry_status_title_detail(self):
        c = self.client
        c.jobs.create(JOB)
        cases = [
            (lambda: c.jobs.create(JOB), errors.Conflict, 409),
            (lambda: c.jobs.get("nope"), errors.NotFound, 404),
            (lambda: c.jobs.replace("nightly-report", JOB, if_match=7), errors.PreconditionFailed, 412),
            (lambda: c.jobs.create({"id": "x"}), errors.BadRequest, 400),
            (lambda: sundial.Client(self.fake.url, "sdl_bad").jobs.list(), errors.Unauthorized, 401),
        ]
        for call, cls, status in cases:
            with self.subTest(cls=cls.__name__):
                with self.assertRaises(cls) as cm:
                    call()
                e = cm.exception
                self.assertIsInstance(e, sundial.SundialError)
                self.assertEqual(e.status, status)
                self.assertTrue(e.title)
                self.assertTrue(e.detail)
                self.assertIn(str(status), str(e))
        with self.assertRaises(errors.BadRequest) as cm:
            c.jobs.create({"id": "x"})
        self.assertEqual(cm.exception.field, "(document)")

    def test_unreachable_server_is_transport_error(self):
        self.fake.stop()
        self.addCleanup(self.fake.start)  # so that cleanup's stop has a server
        with self.assertRaises(errors.TransportError) as cm:
            sundial.Client(self.fake.url, "t", timeout=2).jobs.list()
        self.assertIsNone(cm.exception.status)

    def test_every_change_says_json(self):
        self.client.jobs.create(JOB)
        self.client.jobs.pause("nightly-report")  # no body; the fake answers 415 without the header
        self.client.jobs.delete("nightly-report")

    def test_runs_wait_cancel_and_list(self):
        c = self.client
        c.jobs.create(JOB)
        run = c.jobs.run_now("nightly-report")

        def finish():
            time.sleep(0.3)
            with self.fake.cond:
                self.fake.runs[run["id"]]["status"] = "succeeded"

        threading.Thread(target=finish).start()
        self.assertEqual(c.runs.wait(run["id"], timeout=5, poll=0.05)["status"], "succeeded")
        with self.assertRaises(errors.Conflict):
            c.runs.cancel(run["id"])
        other = c.jobs.run_now("nightly-report")
        with self.assertRaises(TimeoutError):
            c.runs.wait(other["id"], timeout=0.2, poll=0.05)
        self.assertTrue(c.runs.cancel(other["id"])["cancel_requested"])
        self.assertEqual(len(c.runs.list(job_id="nightly-report")), 2)
        self.assertEqual([r["id"] for r in c.runs.list(status="succeeded")], [run["id"]])

    def test_scripts(self):
        c = self.client
        self.assertEqual(c.scripts.push("report", "def run(): return 1")["version"], 1)
        self.assertEqual(c.scripts.push("report", "def run(): return 2")["version"], 2)
        self.assertEqual(c.scripts.get("report")["source"], "def run(): return 2")
        self.assertEqual([s["name"] for s in c.scripts.list()], ["report"])

    def test_worker_session_release_and_close(self):
        s = self.client.sessions
        sid = s.open("w1", ["t"], 2)["session"]
        rid = self.fake.enqueue("t")
        self.assertEqual([r["id"] for r in s.claim(sid, 1, 100)], [rid])
        s.release(sid, rid)
        self.assertEqual(self.fake.runs[rid]["status"], "pending")
        with self.assertRaises(errors.Conflict):
            s.release(sid, rid)  # no longer held
        s.close(sid)
        with self.assertRaises(errors.Gone):
            s.claim(sid, 1, 100)

    def test_poll_abort_ends_a_claim_early(self):
        s = self.client.sessions
        sid = s.open("w1", ["t"], 2)["session"]
        poll = sundial.client.Poll()
        threading.Timer(0.3, poll.abort).start()
        t0 = time.monotonic()
        self.assertEqual(s.claim(sid, 1, 20000, poll=poll), [])  # the server answers, nothing claimed
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(self.fake.gone_claims, 1)
        with self.assertRaises(errors.TransportError):
            s.claim(sid, 1, 20000, poll=poll)  # aborted before it connected

    def test_token_stays_out_of_repr(self):
        self.assertNotIn(self.fake.token, repr(self.client))
        self.assertNotIn(self.fake.token, str(vars(self.client).get("url")))

    def test_bad_url_is_refused(self):
        with self.assertRaises(ValueError):
            sundial.Client("sundial:8080")


if __name__ == "__main__":
    unittest.main()
