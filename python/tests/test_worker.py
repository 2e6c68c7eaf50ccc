"""The worker against the fake server: claiming, running, reporting, stopping."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import sundial  # noqa: E402
from fakeserver import Fake  # noqa: E402
from sundial.forkserver import dispose_sqlalchemy  # noqa: E402
from sundial.worker import MAX_BODY, MAX_ERROR, Worker, cap_error, fit_output  # noqa: E402
from worktasks import registry  # noqa: E402

try:
    import flask  # noqa: F401
    import flask_sqlalchemy  # noqa: F401

    HAVE_FLASK = True
except ImportError:
    HAVE_FLASK = False
NO_FLASK = "flask and flask_sqlalchemy are not installed (apt install python3-flask python3-flask-sqlalchemy)"


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); look at its state.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class WorkerTest(unittest.TestCase):
    isolation = "fork"

    def start(self, fake=None, **kw):
        self.fake = fake or Fake().start()
        self.addCleanup(self.fake.stop)
        opts = dict(name="w1", tasks=registry, isolation=self.isolation, wait_ms=300, output_interval=0.1,
                    session_retry=0.1, grace=5)
        opts.update(kw)
        self.worker = Worker(sundial.Client(self.fake.url, self.fake.token), **opts)
        self.exit = {}

        def run():
            try:
                self.exit["code"] = self.worker.run()
            except BaseException as e:  # noqa: BLE001
                self.exit["error"] = e

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        self.addCleanup(self.thread.join, 15)
        self.addCleanup(self.worker.stop, True)
        return self.fake

    def started_pid(self, rid):
        """The pid a sleepy task printed, once it streamed its output."""
        out = self.fake.wait_for(lambda: next((o for o in self.fake.outputs.get(rid, []) if "pid=" in o), None),
                                 what=f"output of {rid}")
        return int(out.split("pid=")[1].split()[0])


def children_of(pid):
    """The pids of the live (not zombie) processes whose parent is pid, from /proc."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                state, ppid = f.read().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if int(ppid) == pid and state != "Z":
            kids.append(int(entry))
    return kids


def spare_of(server_pid, busy=(), timeout=10.0):
    """The fork server's spare child: once it is its only live child besides the busy pids."""
    def one():
        kids = [k for k in children_of(server_pid) if k not in busy]
        return kids[0] if len(kids) == 1 else None

    return wait_until(one, timeout=timeout, what=f"a spare child of the fork server {server_pid}")


def wait_until(pred, timeout=10.0, what="condition", every=0.02):
    end = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def read_pids(path):
    """The "child grandchild" pids a spawner task wrote, once it wrote them."""
    try:
        with open(path) as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return None


def kill_if_sleep(pid):
    """Cleanup: a grandchild that outlived a failing test (only if it is still our sleep)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if f.read().startswith(b"sleep"):
                os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


class BothIsolations:
    """Tests that hold for isolation "fork" and "thread" alike."""

    def claims(self):
        return [i for i, r in enumerate(self.fake.requests) if r[1].endswith("/claim")]

    def test_stop_ends_the_open_poll_at_once(self):
        fake = self.start(wait_ms=20000)
        fake.wait_for(self.claims, what="a claim")
        t0 = time.monotonic()
        self.worker.stop()
        self.thread.join(10)
        self.assertLess(time.monotonic() - t0, 3)  # not the poll's 20 s
        self.assertEqual(self.exit, {"code": 0})
        fake.wait_for(lambda: fake.gone_claims == 1, what="the server to see the worker go")
        self.assertEqual(len(fake.closed_sessions), 1)
        # Claimed for nobody: a run that falls due now waits for another worker.
        rid = fake.enqueue("add", {"a": 1, "b": 1})
        self.assertEqual(fake.runs[rid]["status"], "pending")

    def test_stop_gives_back_runs_received_while_stopping(self):
        fake = Fake().start()
        fake.claim_hold = 0.5  # the answer is on its way when the worker stops
        self.start(fake, wait_ms=20000)
        fake.wait_for(self.claims, what="a claim")
        rid = fake.enqueue("add", {"a": 1, "b": 1})
        fake.wait_for(lambda: fake.runs[rid]["status"] == "running", what="the run claimed")
        self.worker.stop()
        self.thread.join(10)
        self.assertEqual(self.exit, {"code": 0})
        self.assertEqual(fake.releases, [(rid, 204)])
        self.assertEqual(fake.runs[rid]["status"], "pending")
        self.assertIn(rid, fake.pending)
        self.assertIsNone(fake.finish_of(rid))
        paths = [(m, p) for m, p, _, _ in fake.requests]
        release = paths.index(("POST", f"/api/v1/worker/sessions/{fake.closed_sessions[0]}/runs/{rid}/release"))
        delete = paths.index(("DELETE", f"/api/v1/worker/sessions/{fake.closed_sessions[0]}"))
        self.assertLess(release, delete)

    def test_lease_dates_from_the_claim_not_the_poll(self):
        # A run claimed a second into a long poll (longer than the 600 ms
        # lease) and answered at once is fresh: it runs.
        fake = self.start(Fake(lease_ttl_ms=600).start(), wait_ms=20000)
        fake.wait_for(self.claims, what="a claim")
        time.sleep(1.0)
        rid = fake.enqueue("add", {"a": 1, "b": 2})
        self.assertEqual(fake.wait_finish(rid)["status"], "succeeded")

    def test_run_answered_after_its_lease_is_not_started(self):
        # Claimed at once, but the answer reaches the worker 3/4 of the
        # lease later (as when the worker was frozen before reading it):
        # the run is not started but given back, due again at once, not
        # lost a lease later; the next claim, answered in time, runs it.
        fake = Fake(lease_ttl_ms=600).start()
        fake.claim_hold = 0.55  # of the 600 ms lease
        self.start(fake, wait_ms=20000)
        fake.wait_for(self.claims, what="a claim")
        rid = fake.enqueue("add", {"a": 1, "b": 2})
        fake.wait_for(lambda: fake.releases, what="the run given back")
        self.assertEqual(fake.releases[0], (rid, 204))
        self.assertIsNone(fake.finish_of(rid))
        fake.claim_hold = 0.0
        self.assertEqual(fake.wait_finish(rid)["result"], 3)
        self.assertEqual(len([f for f in fake.finishes if f["run_id"] == rid]), 1)

    def test_result_too_big_is_reported_failed(self):
        fake = self.start()
        rid = fake.enqueue("huge_result", {"n": 300000})
        got = fake.wait_finish(rid)
        self.assertEqual(got["status"], "failed")
        self.assertEqual(got["error"], "the result is 300002 bytes of JSON, more than the 262144 a run keeps")
        self.assertIsNone(got["result"])
        self.assertEqual(fake.runs[rid]["status"], "failed")  # accepted at once
        self.assertEqual(len([f for f in fake.finishes if f["run_id"] == rid]), 1)

    def test_report_refused_400_or_413_is_sent_again_as_failed(self):
        fake = self.start()
        for code in (400, 413):
            with fake.cond:
                rid = fake.enqueue("add", {"a": 2, "b": 2})
                fake.finish_status[rid] = code
            fake.wait_for(lambda: fake.runs[rid]["status"] == "failed", what=f"the run failed after {code}")
            sent = [f for f in fake.finishes if f["run_id"] == rid]
            self.assertEqual([f["status"] for f in sent], ["succeeded", "failed"])
            self.assertEqual(sent[0]["result"], 4)
            self.assertIsNone(sent[1]["result"])
            self.assertIn(f"{code} Refused", sent[1]["error"])
            self.assertLessEqual(len(sent[1]["error"]), 1000)

    def test_report_fits_the_request_limit(self):
        fake = self.start(Fake(output_limit=2 << 20).start())
        rid = fake.enqueue("big", {"n": 1500000})
        got = fake.wait_finish(rid)
        self.assertEqual(got["status"], "succeeded")
        self.assertTrue(got["output"].endswith("xEND\n"))
        self.assertGreater(len(got["output"]), 900000)
        self.assertEqual(len([f for f in fake.finishes if f["run_id"] == rid]), 1)
        sent = [r[3] for r in fake.requests if r[1].endswith(f"/runs/{rid}/finish")]
        self.assertLessEqual(len(sent[0]), MAX_BODY)


class LimitsTest(unittest.TestCase):
    def test_cap_error(self):
        self.assertIsNone(cap_error(None))
        self.assertEqual(cap_error("short"), "short")
        long = "é" * MAX_ERROR
        got = cap_error(long)
        self.assertLessEqual(len(got.encode()), MAX_ERROR)
        self.assertTrue(got.endswith(" […]"))
        self.assertTrue(got.startswith("éé"))

    def test_fit_output_keeps_the_tail(self):
        text = "".join(f"line {i}\n" for i in range(100000))
        got = fit_output(text, 50000)
        self.assertLessEqual(len(json.dumps(got)), 50000)
        self.assertGreater(len(json.dumps(got)), 40000)
        self.assertTrue(text.endswith(got))
        escaped = "\x01" * 30000  # six bytes of JSON each
        self.assertLessEqual(len(json.dumps(fit_output(escaped, 60000))), 60000)
        self.assertEqual(fit_output("small", 100), "small")
        self.assertEqual(fit_output("small", 0), "")


class ForkWorkerTest(BothIsolations, WorkerTest):
    def test_results_and_the_args_convention(self):
        fake = self.start()
        cases = [
            ("add", {"a": 2, "b": 3}, 5),
            ("echo", [1, "two"], {"args": [1, "two"], "kwargs": {}}),
            ("echo", {"k": True}, {"args": [], "kwargs": {"k": True}}),
            ("echo", None, {"args": [], "kwargs": {}}),
            ("one", "scalar", {"got": "scalar"}),
            ("one", 7, {"got": 7}),
            ("async_add", [1, 2], 3),
        ]
        rids = [fake.enqueue(task, args) for task, args, _ in cases]
        for rid, (task, args, want) in zip(rids, cases):
            got = fake.wait_finish(rid)
            self.assertEqual(got["status"], "succeeded", f"{task}({args!r}): {got}")
            self.assertEqual(got["result"], want, f"{task}({args!r})")
            self.assertEqual(got["attempt"], 1)

    def test_session_announces_tasks_and_heartbeats_when_idle(self):
        fake = self.start()
        fake.wait_for(lambda: sum(1 for s in fake.sessions.values() for _ in s.get("beats", [])) >= 3,
                      what="three idle heartbeats")
        session = next(iter(fake.sessions.values()))
        self.assertEqual(session["tasks"], registry.names())
        self.assertEqual(session["open"]["name"], "w1")
        self.assertEqual(session["open"]["capacity"], 8)
        self.assertTrue(session["open"]["version"].startswith("sundial-python "))
        self.assertEqual(session["beats"][0], [])

    def test_exception_fails_with_last_traceback_line(self):
        fake = self.start()
        got = fake.wait_finish(fake.enqueue("boom"))
        self.assertEqual(got["status"], "failed")
        self.assertEqual(got["error"], "ZeroDivisionError: division by zero")
        self.assertIn("Traceback (most recent call last)", got["output"])
        self.assertIn("return 1 / 0", got["output"])

    def test_result_not_json_fails_clearly(self):
        fake = self.start()
        got = fake.wait_finish(fake.enqueue("not_json"))
        self.assertEqual(got["status"], "failed")
        self.assertIn("not JSON-serialisable", got["error"])
        self.assertIsNone(got["result"])

    def test_run_context(self):
        fake = self.start()
        rid = fake.enqueue("context", job_id="nightly", attempt=2)
        got = fake.wait_finish(rid)
        self.assertEqual(got["result"], {"id": rid, "job_id": "nightly", "task": "context", "attempt": 2,
                                         "scheduled_at": "2026-12-01T03:00:00+00:00",
                                         "fire_key": "nightly@2026-12-01T03:00:00Z"})

    def test_print_stderr_and_logging_are_the_output(self):
        fake = self.start()
        got = fake.wait_finish(fake.enqueue("logs"))
        self.assertEqual(got["status"], "succeeded")
        for text in ("from print", "from logging", "to stderr"):
            self.assertIn(text, got["output"])

    def test_output_streams_while_it_grows(self):
        fake = self.start()
        rid = fake.enqueue("chatty", {"n": 6, "pause": 0.15})
        got = fake.wait_finish(rid)
        self.assertEqual(got["status"], "succeeded")
        streamed = fake.outputs.get(rid, [])
        self.assertGreaterEqual(len(streamed), 2, streamed)
        self.assertTrue(all(b.startswith(a) for a, b in zip(streamed, streamed[1:])), streamed)
        self.assertIn("line 5", got["output"])

    def test_output_keeps_the_tail_within_the_limit(self):
        fake = self.start(Fake(output_limit=100).start())
        got = fake.wait_finish(fake.enqueue("big", {"n": 5000}))
        self.assertLessEqual(len(got["output"].encode()), 100)
        self.assertTrue(got["output"].endswith("xEND\n"), got["output"])

    def test_cancel_from_heartbeat_kills_and_reports_canceled(self):
        fake = self.start()
        rid = fake.enqueue("sleepy", {"seconds": 30})
        pid = self.started_pid(rid)
        fake.runs[rid]["cancel_requested"] = True
        t0 = time.monotonic()
        got = fake.wait_finish(rid, timeout=5)
        self.assertEqual(got["status"], "canceled")
        self.assertLess(time.monotonic() - t0, 3)
        fake.wait_for(lambda: not pid_alive(pid), what="the child to die")

    def test_timeout_kills_and_reports_timed_out(self):
        fake = self.start()
        rid = fake.enqueue("sleepy", {"seconds": 30}, timeout_ms=400)
        pid = self.started_pid(rid)
        got = fake.wait_finish(rid, timeout=5)
        self.assertEqual(got["status"], "timed_out")
        self.assertEqual(got["error"], "timed out after 0.4s")
        self.assertIn("started", got["output"])
        fake.wait_for(lambda: not pid_alive(pid), what="the child to die")

    def fork_server(self):
        return wait_until(lambda: self.worker._forks is not None and self.worker._forks.pid,
                          what="the fork server")

    @unittest.skipUnless(sys.platform.startswith("linux"), "needs /proc")
    def test_stopping_a_run_on_a_spare_child_kills_its_process_group(self):
        cases = [("canceled", {}), ("timed_out", {"timeout_ms": 1500}), ("interrupted", {})]
        fake = self.start()
        server = self.fork_server()
        for want, opts in cases:
            with self.subTest(want):
                spare = spare_of(server)
                pidfile = os.path.join(tempfile.mkdtemp(), "pids")
                rid = fake.enqueue("spawner", {"pidfile": pidfile, "seconds": 60}, **opts)
                child, grandchild = wait_until(lambda: read_pids(pidfile), what="the spawner's pids")
                self.addCleanup(kill_if_sleep, grandchild)
                self.assertEqual(child, spare)
                if want == "canceled":
                    fake.runs[rid]["cancel_requested"] = True
                elif want == "interrupted":
                    fake.heartbeat_status = 503  # fenced: the lease cannot be renewed
                got = fake.wait_finish(rid, timeout=10)
                fake.heartbeat_status = None
                self.assertEqual(got["status"], want, got)
                for pid in (child, grandchild):
                    wait_until(lambda: not pid_alive(pid), timeout=5, what=f"{pid} of the run's group to die")

    @unittest.skipUnless(sys.platform.startswith("linux"), "needs /proc")
    def test_the_report_does_not_wait_for_the_fork_server(self):
        fake = self.start()
        server = self.fork_server()
        gate = os.path.join(tempfile.mkdtemp(), "gate")
        rid = fake.enqueue("gated", [gate])
        fake.wait_for(lambda: any("waiting" in o for o in fake.outputs.get(rid, [])), what="the run at its gate")
        # Stopped, the fork server cannot reap the child nor say it exited.
        os.kill(server, signal.SIGSTOP)
        self.addCleanup(os.kill, server, signal.SIGCONT)
        open(gate, "w").close()
        got = fake.wait_finish(rid, timeout=5)
        self.assertEqual((got["status"], got["result"]), ("succeeded", "through"))
        self.assertIn("waiting", got["output"])
        os.kill(server, signal.SIGCONT)
        got = fake.wait_finish(fake.enqueue("add", {"a": 1, "b": 1}))
        self.assertEqual(got["result"], 2)

    def test_fencing_stops_a_run_whose_lease_cannot_be_renewed(self):
        fake = self.start(Fake(lease_ttl_ms=600).start())
        rid = fake.enqueue("sleepy", {"seconds": 30})
        pid = self.started_pid(rid)
        fake.heartbeat_status = 503
        t0 = time.monotonic()
        got = fake.wait_finish(rid, timeout=5)
        elapsed = time.monotonic() - t0
        self.assertEqual(got["status"], "interrupted")
        self.assertIn("lease not renewed", got["error"])
        # 3/4 of the 600 ms lease from the last renewal, never later than a lease.
        self.assertLess(elapsed, 0.6 + 0.3)
        fake.wait_for(lambda: not pid_alive(pid), what="the child to die")

    def test_run_not_held_is_stopped_without_a_report(self):
        fake = self.start()
        rid = fake.enqueue("sleepy", {"seconds": 30})
        pid = self.started_pid(rid)
        fake.drop(rid)
        fake.wait_for(lambda: not pid_alive(pid), what="the child to die")
        # The slot is free again and the lost run is never reported.
        got = fake.wait_finish(fake.enqueue("add", {"a": 1, "b": 1}))
        self.assertEqual(got["result"], 2)
        self.assertIsNone(fake.finish_of(rid))

    def test_finish_refused_409_is_dropped_and_work_goes_on(self):
        fake = self.start()
        rid = fake.enqueue("add", {"a": 1, "b": 2})
        fake.refuse_finish.add(rid)
        self.assertEqual(fake.wait_finish(rid)["status"], "succeeded")  # sent, refused
        got = fake.wait_finish(fake.enqueue("add", {"a": 2, "b": 2}))
        self.assertEqual(got["result"], 4)
        self.assertTrue(self.thread.is_alive())

    def test_name_in_use_is_retried(self):
        fake = Fake().start()
        fake.busy_names["w1"] = 2
        self.start(fake)
        fake.wait_for(lambda: fake.sessions, what="a session")
        opens = [r for r in fake.requests if r[0] == "POST" and r[1] == "/api/v1/worker/sessions"]
        self.assertEqual(len(opens), 3)

    def test_claims_no_more_than_free_slots(self):
        fake = self.start(capacity=2)
        rids = [fake.enqueue("sleepy", {"seconds": 0.3}) for _ in range(5)]
        for rid in rids:
            self.assertEqual(fake.wait_finish(rid)["status"], "succeeded")
        limits = [json.loads(r[3])["limit"] for r in fake.requests if r[1].endswith("/claim")]
        self.assertTrue(limits and max(limits) <= 2, limits)
        beats = [b for s in fake.sessions.values() for b in s.get("beats", [])]
        self.assertLessEqual(max(len(b) for b in beats), 2)

    def test_graceful_stop_waits_for_runs_then_closes_the_session(self):
        fake = self.start()
        rid = fake.enqueue("sleepy", {"seconds": 0.6})
        self.started_pid(rid)
        self.worker.stop()
        self.thread.join(10)
        self.assertEqual(self.exit, {"code": 0})
        self.assertEqual(fake.finish_of(rid)["status"], "succeeded")
        self.assertEqual(len(fake.closed_sessions), 1)
        last_finish = max(i for i, r in enumerate(fake.requests) if r[1].endswith("/finish"))
        delete = max(i for i, r in enumerate(fake.requests) if r[0] == "DELETE")
        self.assertLess(last_finish, delete)

    def test_stop_past_grace_interrupts(self):
        fake = self.start(grace=0.2)
        rid = fake.enqueue("sleepy", {"seconds": 30})
        pid = self.started_pid(rid)
        self.worker.stop()
        self.thread.join(10)
        got = fake.finish_of(rid)
        self.assertEqual(got["status"], "interrupted")
        self.assertIn("shut down", got["error"])
        self.assertFalse(pid_alive(pid))
        self.assertEqual(len(fake.closed_sessions), 1)

    def test_bad_token_is_fatal(self):
        fake = Fake().start()
        self.addCleanup(fake.stop)
        worker = Worker(sundial.Client(fake.url, "sdl_wrong"), name="w1", tasks=registry, wait_ms=300)
        with self.assertRaises(sundial.worker.FatalError) as cm:
            worker.run()
        self.assertIn("401", str(cm.exception))

    @unittest.skipUnless(HAVE_FLASK, NO_FLASK)
    def test_flask_task_runs_in_app_context_of_a_forked_child(self):
        db = tempfile.NamedTemporaryFile(suffix=".db", delete=False)
        self.addCleanup(os.unlink, db.name)
        os.environ["FLASKAPP_DB"] = db.name
        import flaskapp

        fake = self.start(app_factory=flaskapp.create_app,
                          on_fork=[lambda app: print(f"hook ran for {app.name}")])
        got = fake.wait_finish(fake.enqueue("flask_config"))
        self.assertEqual(got["status"], "succeeded", got)
        self.assertEqual(got["result"], "hello from the app")
        self.assertIn("hook ran for flaskapp", got["output"])
        got = fake.wait_finish(fake.enqueue("db_write", ["one"]))
        self.assertEqual(got["status"], "succeeded", got)
        got = fake.wait_finish(fake.enqueue("db_write", ["two"]))
        self.assertEqual(got["result"], 2)
        import sqlite3

        rows = sqlite3.connect(db.name).execute("select text from note order by id").fetchall()
        self.assertEqual(rows, [("one",), ("two",)])

    @unittest.skipUnless(HAVE_FLASK, NO_FLASK)
    def test_dispose_sqlalchemy_forgets_the_parents_pool(self):
        db = tempfile.NamedTemporaryFile(suffix=".db", delete=False)
        self.addCleanup(os.unlink, db.name)
        os.environ["FLASKAPP_DB"] = db.name
        import flaskapp

        app = flaskapp.create_app()
        with app.app_context():
            engine = flaskapp.db.engine
            pool = engine.pool
            dispose_sqlalchemy(app)
            self.assertIsNot(engine.pool, pool)


class ThreadWorkerTest(BothIsolations, WorkerTest):
    isolation = "thread"

    def test_results_output_and_errors(self):
        fake = self.start()
        got = fake.wait_finish(fake.enqueue("add", {"a": 2, "b": 3}))
        self.assertEqual((got["status"], got["result"]), ("succeeded", 5))
        got = fake.wait_finish(fake.enqueue("logs"))
        for text in ("from print", "from logging", "to stderr"):
            self.assertIn(text, got["output"])
        got = fake.wait_finish(fake.enqueue("boom"))
        self.assertEqual(got["error"], "ZeroDivisionError: division by zero")
        self.assertIn("Traceback", got["output"])

    def test_cancel_is_cooperative(self):
        fake = self.start()
        rid = fake.enqueue("cooperative", {"seconds": 30})
        fake.wait_for(lambda: any(rid in b for s in fake.sessions.values() for b in s.get("beats", [])),
                      what="the run in a heartbeat")
        fake.runs[rid]["cancel_requested"] = True
        got = fake.wait_finish(rid, timeout=5)
        self.assertEqual(got["status"], "canceled")

    @unittest.skipUnless(HAVE_FLASK, NO_FLASK)
    def test_flask_app_context(self):
        db = tempfile.NamedTemporaryFile(suffix=".db", delete=False)
        self.addCleanup(os.unlink, db.name)
        os.environ["FLASKAPP_DB"] = db.name
        import flaskapp

        fake = self.start(app_factory=flaskapp.create_app)
        got = fake.wait_finish(fake.enqueue("flask_config"))
        self.assertEqual(got["result"], "hello from the app")


class SignalTest(unittest.TestCase):
    def test_sigterm_stops_gracefully(self):
        fake = Fake().start()
        self.addCleanup(fake.stop)
        env = dict(os.environ, SUNDIAL_TOKEN=fake.token,
                   PYTHONPATH=os.pathsep.join([os.path.dirname(HERE), HERE]))
        proc = subprocess.Popen(
            [sys.executable, "-m", "sundial.worker", "--server", fake.url, "--tasks", "worktasks",
             "--name", "sub-1", "--grace", "10"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        rid = fake.enqueue("sleepy", {"seconds": 1.0}, job_id="nightly")
        fake.wait_for(lambda: any(rid in b for s in fake.sessions.values() for b in s.get("beats", [])),
                      what="the run in a heartbeat")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(fake.finish_of(rid)["status"], "succeeded", err)
        self.assertEqual(len(fake.closed_sessions), 1)
        lines = [json.loads(line) for line in err.splitlines() if line.strip()]
        finished = [r for r in lines if r.get("run_id") == rid and r.get("status") == "succeeded"]
        self.assertEqual(finished[0]["job_id"], "nightly")
        self.assertEqual(finished[0]["task"], "sleepy")
        self.assertEqual(finished[0]["attempt"], 1)
        self.assertNotIn(fake.token, err)

    def worker_process(self, fake):
        """A worker in a process of its own (logs in a file, printed if the test fails)."""
        env = dict(os.environ, SUNDIAL_TOKEN=fake.token,
                   PYTHONPATH=os.pathsep.join([os.path.dirname(HERE), HERE]))
        log = tempfile.TemporaryFile(mode="w+")
        self.addCleanup(log.close)
        proc = subprocess.Popen(
            [sys.executable, "-m", "sundial.worker", "--server", fake.url, "--tasks", "worktasks",
             "--name", "sub-1", "--grace", "10", "--log-format", "text"],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)

        def end():
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
            proc.wait()

        self.addCleanup(end)
        self.logs = lambda: (log.seek(0), log.read())[1]
        return proc

    def spawned(self, fake, proc):
        """Enqueues a spawner run and returns (run id, child pid, grandchild pid) once both run."""
        pidfile = os.path.join(tempfile.mkdtemp(), "pids")
        self.addCleanup(lambda: [os.unlink(p) for p in (pidfile,) if os.path.exists(p)])
        rid = fake.enqueue("spawner", {"pidfile": pidfile, "seconds": 60})
        child, grandchild = wait_until(lambda: read_pids(pidfile), timeout=15,
                                       what=f"the spawner's pids; worker logs:\n{self.logs()}")
        self.addCleanup(kill_if_sleep, grandchild)
        self.assertTrue(pid_alive(child) and pid_alive(grandchild))
        return rid, child, grandchild

    @unittest.skipUnless(sys.platform.startswith("linux"), "parent-death signals are Linux's")
    def test_kill_9_of_the_worker_kills_the_tasks_processes(self):
        fake = Fake().start()
        self.addCleanup(fake.stop)
        proc = self.worker_process(fake)
        forkserver = wait_until(lambda: children_of(proc.pid), timeout=15, what="the fork server")[0]
        first = spare_of(forkserver)
        _, child, grandchild = self.spawned(fake, proc)
        self.assertEqual(child, first)  # the run went to the spare
        spare = spare_of(forkserver, busy=[child])  # and the server forked the next
        proc.kill()
        proc.wait()
        for pid, what in ((grandchild, "the task's subprocess"), (child, "the task's process"),
                          (spare, "the spare"), (forkserver, "the fork server")):
            wait_until(lambda: not pid_alive(pid), timeout=5, what=f"{what} to die")

    @unittest.skipUnless(sys.platform.startswith("linux"), "needs /proc")
    def test_frozen_worker_its_supervisor_kills_the_run_at_7_8_of_the_lease(self):
        fake = Fake(lease_ttl_ms=2400, heartbeat_ms=800).start()
        self.addCleanup(fake.stop)
        proc = self.worker_process(fake)
        forkserver = wait_until(lambda: children_of(proc.pid), timeout=15, what="the fork server")[0]
        first = spare_of(forkserver)
        rid, child, grandchild = self.spawned(fake, proc)
        self.assertEqual(child, first)  # a spare-based child, killed by its supervisor below
        beats = len(fake.beat_times)
        fake.wait_for(lambda: len(fake.beat_times) > max(beats, 1), what="a renewal")
        time.sleep(0.1)  # the worker hears the answer
        proc.send_signal(signal.SIGSTOP)  # the worker only: not its fork server, nor the run
        frozen = time.monotonic()
        wait_until(lambda: not pid_alive(child), timeout=6, what="the frozen worker's run to be killed")
        dead = time.monotonic()
        self.assertFalse(pid_alive(grandchild))
        with fake.cond:
            times = [t for t in fake.beat_times if t <= frozen]
        # Killed 7/8 of the lease (2.1 s) after the last renewal the worker
        # heard (the last beat before the freeze, or the one before it if the
        # last answer came too late), before the lease ends.
        self.assertGreater(dead - times[-2], 2.1 - 0.2, (dead - times[-2], dead - times[-1]))
        self.assertLess(dead - times[-1], 2.4 + 0.3, (dead - times[-2], dead - times[-1]))
        proc.send_signal(signal.SIGCONT)
        got = fake.wait_finish(rid, timeout=10)
        self.assertEqual(got["status"], "interrupted", got)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=20), 0, self.logs())


if __name__ == "__main__":
    unittest.main()
