"""The fork server on its own: spare children, hooks, kills, leases, and outcomes before exits.

These drive sundial.forkserver.ForkServer as the worker's supervisor
threads do, with real processes, and look at them in /proc.
"""

import os
import signal
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import sundial  # noqa: E402
from sundial.forkserver import ForkServer  # noqa: E402
from test_worker import children_of, kill_if_sleep, pid_alive, read_pids, spare_of, wait_until  # noqa: E402
from worktasks import registry  # noqa: E402

LINUX = sys.platform.startswith("linux")


def proc_state(pid):
    """The state letter of a process in /proc (S: sleeping, Z: zombie), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


@unittest.skipUnless(LINUX, "needs /proc and parent-death signals")
class ForkServerTest(unittest.TestCase):
    def setUp(self):
        registry.resolve()
        self.dir = tempfile.mkdtemp()
        self.n = 0

    def start(self, hooks=(), spare=True):
        server = ForkServer(registry, None, hooks, "fs-test", spare=spare).start()
        self.addCleanup(server.close)
        return server

    def spawn(self, server, task, args=None, kill_at=None):
        self.n += 1
        run = {"id": f"r{self.n}", "job_id": "j", "task": task, "attempt": 1, "args": args,
               "scheduled_at": "2026-12-01T03:00:00Z"}
        handle = server.spawn(run, kill_at=kill_at)
        self.addCleanup(handle.close)
        handle.output = bytearray()
        return handle

    def finish(self, handle, timeout=10.0):
        """Polls as the worker's supervisor does until the run is done; returns its output."""
        wait_until(lambda: (handle.output.extend(handle.poll(0.05)), handle.done)[1], timeout=timeout,
                   what="the run to be done")
        handle.output.extend(handle.drain())
        return bytes(handle.output)

    def spawner(self, server, **kw):
        """A run whose task starts a subprocess in its group; returns (handle, child, grandchild)."""
        pidfile = os.path.join(self.dir, f"pids{self.n}")
        handle = self.spawn(server, "spawner", {"pidfile": pidfile, "seconds": 60}, **kw)
        child, grandchild = wait_until(lambda: read_pids(pidfile), what="the spawner's pids")
        self.addCleanup(kill_if_sleep, grandchild)
        return handle, child, grandchild

    def test_a_run_goes_to_the_spare_and_a_new_spare_replaces_it(self):
        server = self.start()
        for _ in range(3):
            spare = spare_of(server.pid)
            handle = self.spawn(server, "whoami")
            self.finish(handle)
            got = handle.outcome()
            self.assertEqual((got.status, got.result), ("succeeded", {"pid": spare, "pgid": spare}))
            wait_until(lambda: handle.exited, what="the child reaped")
            self.assertEqual((handle.pid, handle.exit_code), (spare, 0))
            self.assertNotEqual(spare_of(server.pid), spare)

    def test_runs_that_find_no_spare_get_a_child_forked_for_them(self):
        for spare in (True, False):
            with self.subTest(spare=spare):
                server = self.start(spare=spare)
                first = spare_of(server.pid) if spare else None
                if not spare:
                    self.assertEqual(children_of(server.pid), [])
                gate = os.path.join(self.dir, f"gate-{spare}")
                handles = [self.spawn(server, "gated", [gate]) for _ in range(3)]
                wait_until(lambda: all(h.pid for h in handles), what="three children started")
                pids = [h.pid for h in handles]
                self.assertEqual(len(set(pids)), 3)
                self.assertEqual(pids[0] == first, spare)
                self.assertTrue(all(pid_alive(p) and os.getpgid(p) == p for p in pids))
                open(gate, "w").close()
                for h in handles:
                    self.finish(h)
                    self.assertEqual(h.outcome().result, "through")

    def test_hooks_run_in_the_child_that_runs_the_task_when_its_run_arrives(self):
        log = os.path.join(self.dir, "hooks")

        def hook(app):
            with open(log, "a") as f:
                f.write(f"{os.getpid()} {sundial.current_run().id}\n")
            print("hook ran")

        def lines():
            try:
                with open(log) as f:
                    return f.read().splitlines()
            except FileNotFoundError:
                return []

        server = self.start(hooks=[hook])
        want = []
        for _ in range(2):
            spare = spare_of(server.pid)
            wait_until(lambda: proc_state(spare) == "S", what="the spare waiting for a run")
            self.assertEqual(lines(), want)  # not run by the spare while it waits
            handle = self.spawn(server, "whoami")
            out = self.finish(handle)
            self.assertEqual(handle.outcome().result["pid"], spare)
            want.append(f"{spare} r{self.n}")
            self.assertEqual(lines(), want)
            self.assertIn(b"hook ran", out)
            wait_until(lambda: handle.exited, what="the child reaped")
        # A child forked for its run (no spare) runs them too.
        server = self.start(hooks=[hook], spare=False)
        handle = self.spawn(server, "whoami")
        self.finish(handle)
        self.assertEqual(lines()[-1], f"{handle.outcome().result['pid']} r{self.n}")

    def test_the_outcome_arrives_before_the_child_is_reaped(self):
        server = self.start()
        gate = os.path.join(self.dir, "gate")
        handle = self.spawn(server, "gated", [gate])
        wait_until(lambda: (handle.output.extend(handle.poll(0.05)), b"waiting" in handle.output)[1],
                   what="the task waiting at its gate")
        child = int(handle.output.split(b"pid=")[1].split()[0])
        # A stopped fork server can neither reap the child nor say it exited:
        # the outcome must come from the child itself.
        os.kill(server.pid, signal.SIGSTOP)
        self.addCleanup(os.kill, server.pid, signal.SIGCONT)
        open(gate, "w").close()
        self.finish(handle)
        got = handle.outcome()
        self.assertEqual((got.status, got.result), ("succeeded", "through"))
        self.assertFalse(handle.exited)
        self.assertIsNone(handle.exit_code)
        wait_until(lambda: proc_state(child) == "Z", what="the child to exit, unreaped")
        os.kill(server.pid, signal.SIGCONT)
        wait_until(lambda: handle.exited, what="the server to report the exit")
        self.assertEqual(handle.exit_code, 0)
        self.assertIsNone(proc_state(child))

    def test_killing_a_spare_based_run_kills_its_process_group(self):
        for how in ("kill", "lease"):
            with self.subTest(how=how):
                server = self.start()
                spare = spare_of(server.pid)
                handle, child, grandchild = self.spawner(server, kill_at=time.monotonic() + 60)
                self.assertEqual(child, spare)
                if how == "kill":  # cancel, timeout, fencing, shutdown: what the worker sends
                    handle.kill()
                else:  # a renewal that comes no more: the server kills at the instant
                    handle.renew(time.monotonic() + 0.2)
                self.finish(handle)
                wait_until(lambda: handle.exited, what="the child reaped")
                self.assertFalse(pid_alive(child))
                wait_until(lambda: not pid_alive(grandchild), what="the task's subprocess to die")
                got = handle.outcome()
                self.assertEqual((got.status, got.error, got.exit_code),
                                 ("failed", "the task's process was killed by SIGKILL", -9))
                self.assertEqual(handle.fenced, how == "lease")

    def test_close_kills_the_spare_and_the_runs(self):
        server = self.start()
        handle, child, grandchild = self.spawner(server)
        spare = spare_of(server.pid, busy=[child])
        pid = server.pid
        server.close()
        for p, what in ((spare, "the spare"), (child, "the run's child"), (grandchild, "its subprocess")):
            wait_until(lambda: not pid_alive(p), timeout=5, what=f"{what} to die")
        self.assertIsNone(proc_state(pid))  # reaped

    def test_a_spare_that_dies_idle_is_replaced(self):
        server = self.start()
        spare = spare_of(server.pid)
        os.kill(spare, signal.SIGKILL)
        wait_until(lambda: proc_state(spare) is None, what="the dead spare reaped")
        again = spare_of(server.pid)
        self.assertNotEqual(again, spare)
        handle = self.spawn(server, "whoami")
        self.finish(handle)
        self.assertEqual(handle.outcome().result["pid"], again)


if __name__ == "__main__":
    unittest.main()
