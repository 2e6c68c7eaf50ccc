"""The Flask extension: translating, declaring idempotently, the management API, the CLI."""

import json
import logging
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakeserver import Fake  # noqa: E402

import sundial  # noqa: E402

try:
    import flask

    from sundial.flask import APScheduler, Sundial
except ImportError:
    flask = None

CALLS = []


def expire_sessions():
    CALLS.append("expire")
    return {"expired": 0}


def send_digest(dry_run=True):
    CALLS.append("digest")
    return {"dry_run": dry_run}


JOBS = [
    {"id": "expire", "func": f"{__name__}:expire_sessions", "trigger": "cron", "hour": 3},
    {"id": "digest", "func": send_digest, "trigger": "interval", "hours": 6, "kwargs": {"dry_run": False},
     "misfire_grace_time": 900},
]


@unittest.skipIf(flask is None, "flask is not installed (apt install python3-flask)")
class FlaskTest(unittest.TestCase):
    def setUp(self):
        self.fake = Fake().start()
        self.addCleanup(self.fake.stop)
        CALLS.clear()

    def make_app(self, with_decorator=True, **config):
        app = flask.Flask(__name__)
        app.config.update(SUNDIAL_URL=self.fake.url, SUNDIAL_TOKEN=self.fake.token, JOBS=JOBS,
                          SCHEDULER_TIMEZONE="Europe/Berlin",
                          SCHEDULER_JOB_DEFAULTS={"coalesce": True, "max_instances": 1})
        app.config.update(config)
        scheduler = Sundial(registry=sundial.TaskRegistry())
        if with_decorator:
            @scheduler.task("cron", id="nightly", day_of_week="mon-fri", hour=3, minute=0,
                            timezone="UTC", task="nightly_report")
            def nightly(to="ops"):
                CALLS.append("nightly")
        scheduler.init_app(app)
        return app, scheduler

    def posted(self):
        return {json.loads(r[3])["id"]: json.loads(r[3])
                for r in self.fake.requests if r[0] == "POST" and r[1] == "/api/v1/jobs"}

    def test_decorator_and_jobs_translate_to_job_json(self):
        app, scheduler = self.make_app()
        self.assertEqual(self.posted(), {
            "nightly": {"id": "nightly", "task": "nightly_report",
                        "trigger": {"type": "cron", "dialect": "apscheduler",
                                    "fields": {"day_of_week": "mon-fri", "hour": 3, "minute": 0},
                                    "timezone": "UTC"},
                        "options": {"coalesce": True, "max_instances": 1}},
            "expire": {"id": "expire", "task": f"{__name__}:expire_sessions",
                       "trigger": {"type": "cron", "dialect": "apscheduler", "fields": {"hour": 3},
                                   "timezone": "Europe/Berlin"},
                       "options": {"coalesce": True, "max_instances": 1}},
            "digest": {"id": "digest", "task": f"{__name__}:send_digest",
                       "trigger": {"type": "interval", "hours": 6, "timezone": "Europe/Berlin"},
                       "args": {"dry_run": False},
                       "options": {"coalesce": True, "max_instances": 1, "misfire_grace": "15m0s"}},
        })
        creates = [q for m, p, q, _ in self.fake.requests if m == "POST" and p == "/api/v1/jobs"]
        self.assertTrue(all(q == {"declare_task": "true"} for q in creates))
        self.assertEqual(scheduler.registry.names(),
                         sorted([f"{__name__}:expire_sessions", f"{__name__}:send_digest", "nightly_report"]))
        self.assertEqual(CALLS, [])  # a web process never runs a task

    def test_declaring_again_writes_nothing(self):
        self.make_app()
        writes = len(self.fake.writes())
        self.assertEqual(writes, 3)
        self.make_app()  # a restart, another gunicorn worker, the reloader
        self.assertEqual(len(self.fake.writes()), writes)
        self.assertEqual({j["version"] for j in self.fake.jobs.values()}, {1})

    def test_a_changed_definition_is_put_once_and_keeps_the_pause(self):
        self.make_app()
        self.fake.jobs["expire"]["paused"] = True
        changed = [dict(JOBS[0], hour=4), JOBS[1]]
        self.make_app(JOBS=changed)
        puts = [(p, json.loads(b)) for m, p, _, b in self.fake.requests if m == "PUT"]
        self.assertEqual(len(puts), 1)
        self.assertEqual(puts[0][0], "/api/v1/jobs/expire")
        self.assertEqual(puts[0][1]["trigger"]["fields"], {"hour": 4})
        self.assertTrue(self.fake.jobs["expire"]["paused"])
        self.assertEqual(self.fake.jobs["expire"]["version"], 2)
        self.make_app(JOBS=changed)
        self.assertEqual(len([r for r in self.fake.requests if r[0] == "PUT"]), 1)

    def test_four_concurrent_declarers_create_each_job_once(self):
        barrier = threading.Barrier(4)
        errors = []

        def declarer():
            try:
                app = flask.Flask(__name__)
                app.config.update(SUNDIAL_URL=self.fake.url, SUNDIAL_TOKEN=self.fake.token, JOBS=JOBS)
                scheduler = Sundial(registry=sundial.TaskRegistry())
                barrier.wait()
                scheduler.init_app(app)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=declarer) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(self.fake.jobs), ["digest", "expire"])
        self.assertEqual({j["version"] for j in self.fake.jobs.values()}, {1})
        self.assertFalse([r for r in self.fake.requests if r[0] in ("PUT", "PATCH", "DELETE")])

    def test_unreachable_server_only_warns(self):
        self.fake.stop()
        self.addCleanup(self.fake.start)
        with self.assertLogs("sundial.flask", logging.WARNING) as logs:
            app, scheduler = self.make_app()
        self.assertIn("could not declare job", logs.output[0])
        self.assertIn("not declared", logs.output[-1])
        self.assertIn(f"{__name__}:send_digest", scheduler.registry)

    def test_wrong_token_only_warns(self):
        with self.assertLogs("sundial.flask", logging.WARNING):
            self.make_app(SUNDIAL_TOKEN="sdl_wrong")

    def test_declaring_off(self):
        app, scheduler = self.make_app(SUNDIAL_DECLARE_JOBS="false")
        self.assertEqual(self.fake.requests, [])
        self.assertIn("nightly_report", scheduler.registry)

    def test_bad_definitions_raise_where_written(self):
        scheduler = Sundial(registry=sundial.TaskRegistry())
        with self.assertRaises(ValueError):
            scheduler.add_job("x", send_digest, trigger="cron", hours=3)
        with self.assertRaises(ValueError):
            scheduler.add_job("x", send_digest, trigger="interval", minutes=1, args=[1], kwargs={"a": 1})
        with self.assertRaises(ValueError):
            scheduler.add_job("x", lambda: 1, trigger="interval", minutes=1)
        app = flask.Flask(__name__)
        app.config.update(SUNDIAL_URL=self.fake.url, JOBS=[{"id": "y", "func": "m:f", "trigger": "cron",
                                                           "minutes": 5}])
        with self.assertRaises(ValueError) as cm:
            scheduler.init_app(app)
        self.assertIn("'minutes' is not an argument of a cron trigger", str(cm.exception))

    def test_replace_existing_false_refuses_a_different_job(self):
        app, scheduler = self.make_app()
        self.assertIsNotNone(scheduler.add_job("expire", expire_sessions, trigger="cron", hour=3,
                                               task=f"{__name__}:expire_sessions", replace_existing=False))
        with self.assertRaises(sundial.Conflict):
            scheduler.add_job("expire", expire_sessions, trigger="cron", hour=5,
                              task=f"{__name__}:expire_sessions", replace_existing=False)

    def test_management_api(self):
        app, scheduler = self.make_app()
        self.assertEqual([j.id for j in scheduler.get_jobs()], ["digest", "expire", "nightly"])
        self.assertIsNone(scheduler.get_job("nope"))
        job = scheduler.get_job("digest")
        self.assertEqual((job.func, job.kwargs, job.args), (f"{__name__}:send_digest", {"dry_run": False}, ()))
        self.assertTrue(scheduler.pause_job("digest").paused)
        self.assertIsNone(scheduler.get_job("digest").next_run_time)
        self.assertFalse(scheduler.resume_job("digest").paused)
        run = scheduler.run_job("digest")
        self.assertEqual((run["job_id"], run["status"]), ("digest", "pending"))
        moved = scheduler.reschedule_job("expire", trigger="cron", hour=5)
        self.assertEqual(moved.trigger["fields"], {"hour": "5"})
        modified = scheduler.modify_job("digest", kwargs={"dry_run": True}, max_instances=3)
        self.assertEqual(modified.kwargs, {"dry_run": True})
        self.assertEqual(modified.data["options"]["max_instances"], 3)
        self.assertEqual(modified.data["options"]["misfire_grace"], "15m0s")
        self.assertEqual(modified.trigger["hours"], 6)
        scheduler.remove_job("nightly")
        self.assertIsNone(scheduler.get_job("nightly"))
        with self.assertRaises(sundial.NotFound):
            scheduler.delete_job("nightly")

    def test_flask_apscheduler_surface(self):
        self.assertIs(APScheduler, Sundial)

        class FakeBackgroundScheduler:
            timezone = "Asia/Shanghai"

            def add_job(self):
                pass

        app = flask.Flask(__name__)
        app.config.update(SUNDIAL_URL=self.fake.url, SUNDIAL_TOKEN=self.fake.token,
                          JOBS=[{"id": "t", "func": "m:f", "trigger": {"type": "cron", "second": 10},
                                 "args": (1, 2)}],
                          SCHEDULER_API_ENABLED=True)
        scheduler = APScheduler(FakeBackgroundScheduler(), app)
        self.assertIs(scheduler.app, app)
        self.assertIs(app.apscheduler, scheduler)
        scheduler.start()
        self.assertTrue(scheduler.running)
        job = self.fake.jobs["t"]
        self.assertEqual(job["trigger"], {"type": "cron", "dialect": "apscheduler", "fields": {"second": "10"},
                                          "timezone": "Asia/Shanghai"})
        self.assertEqual(job["args"], [1, 2])

    def test_cli(self):
        app, scheduler = self.make_app()
        runner = app.test_cli_runner()
        result = runner.invoke(args=["sundial", "worker", "--help"])
        self.assertEqual(result.exit_code, 0, result.output)
        self.assertIn("--capacity", result.output)
        result = runner.invoke(args=["sundial", "declare"])
        self.assertEqual(result.exit_code, 0, result.output)
        self.assertIn("expire: unchanged", result.output)

    def test_worker_runs_the_extensions_tasks_in_the_app(self):
        from sundial.worker import Worker

        app, scheduler = self.make_app(GREETING="hi")
        worker = Worker(sundial.Client(self.fake.url, self.fake.token), app=app, tasks=sundial.TaskRegistry(),
                        name="flask-w", wait_ms=300)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(worker.stop, True)
        rid = self.fake.enqueue(f"{__name__}:send_digest", {"dry_run": False}, job_id="digest")
        got = self.fake.wait_finish(rid)
        self.assertEqual((got["status"], got["result"]), ("succeeded", {"dry_run": False}), got)
        self.assertEqual(CALLS, [])  # it ran in a forked child, not here


if __name__ == "__main__":
    unittest.main()
