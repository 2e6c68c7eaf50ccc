package sundial_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/trigger"
)

func openWorker(t *testing.T, b *bundle, name string, tasks ...string) sundial.WorkerSession {
	t.Helper()
	sess, err := b.s.OpenWorkerSession(b.ctx, sundial.WorkerInfo{Name: name, Tasks: tasks, Capacity: 4})
	if err != nil {
		t.Fatalf("OpenWorkerSession(%s): %v", name, err)
	}
	return sess
}

// keepAlive renews the session's liveness every 5 seconds until the
// returned stop is called: a worker that does not renew gets no runs.
func keepAlive(t *testing.T, b *bundle, sess sundial.WorkerSession) (stop func()) {
	t.Helper()
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		for {
			b.s.WorkerHeartbeat(b.ctx, sess, nil)
			select {
			case <-done:
				return
			case <-time.After(5 * time.Second):
			}
		}
	}()
	return func() { close(done); <-exited }
}

func claimOne(t *testing.T, b *bundle, sess sundial.WorkerSession, wait time.Duration) sundial.WorkerRun {
	t.Helper()
	runs, err := b.s.ClaimForWorker(b.ctx, sess, 1, wait)
	if err != nil || len(runs) != 1 {
		t.Fatalf("ClaimForWorker(%s) = %d runs, %v; want one", sess.Name, len(runs), err)
	}
	return runs[0]
}

// TestWorkerRunsItsTasks: a worker task's runs go to the worker that
// serves it — within a moment of their fire time, however long it waited —
// never to the scheduler node, and its outcome is recorded like a node's.
func TestWorkerRunsItsTasks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "local", ok)
		if _, err := b.s.AddJob(b.ctx, sundial.Job{ID: "report", Task: "send_report", Trigger: cron("0 3 * * *")}); !errors.Is(err, sundial.ErrUnknownTask) {
			t.Fatalf("a job of a task nobody serves: %v, want ErrUnknownTask", err)
		}
		if _, err := b.s.AddJob(b.ctx, sundial.Job{ID: "report", Task: "send_report", Trigger: cron("0 3 * * *"),
			Options: sundial.JobOptions{Broadcast: true}}, sundial.DeclareTask()); !errors.Is(err, sundial.ErrInvalidJob) {
			t.Fatalf("a broadcast worker task: %v, want ErrInvalidJob", err)
		}
		b.add(t, sundial.Job{ID: "local", Task: "local", Trigger: cron("0 3 * * *")})
		if _, err := b.s.AddJob(b.ctx, sundial.Job{ID: "report", Task: "send_report", Args: json.RawMessage(`{"to":"ops"}`),
			Trigger: cron("0 3 * * *"), Options: sundial.JobOptions{MisfireGrace: sundial.NoMisfireLimit}}, sundial.DeclareTask()); err != nil {
			t.Fatal(err)
		}
		b.start(t)
		defer b.stop(t)
		// Nobody serves send_report for five hours: its 03:00 fire waits
		// for the worker (the job has no misfire limit, so it runs).
		time.Sleep(5 * time.Hour)
		if runs := b.runs(t, "report"); len(runs) != 0 {
			t.Fatalf("the node touched a worker task's job: %s", summary(runs))
		}
		if runs := b.runs(t, "local"); summary(runs) != "03:00:00 succeeded" {
			t.Fatalf("local job runs:\n%s", summary(runs))
		}
		w := openWorker(t, b, "billing-1", "send_report")
		defer keepAlive(t, b, w)()
		r := claimOne(t, b, w, 20*time.Second)
		if r.JobID != "report" || r.Status != sundial.StatusRunning || r.Node != "worker:billing-1" || string(r.Args) != `{"to":"ops"}` {
			t.Fatalf("claimed %+v", r.Run)
		}
		done, err := b.s.FinishWorkerRun(b.ctx, w, r.ID, sundial.WorkerOutcome{Attempt: 1, Status: sundial.StatusSucceeded,
			Result: json.RawMessage(`{"sent":3}`), Output: "sent 3 mails\n"})
		if err != nil || done.Status != sundial.StatusSucceeded || string(done.Result) != `{"sent":3}` || done.Output != "sent 3 mails\n" {
			t.Fatalf("finish = %+v, %v", done, err)
		}

		// The next fire reaches a waiting worker at its instant.
		start := time.Now()
		var next sundial.WorkerRun
		var asked time.Time
		for next.ID == "" {
			asked = time.Now()
			runs, err := b.s.ClaimForWorker(b.ctx, w, 1, 25*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) == 1 {
				next = runs[0]
			}
		}
		want := time.Date(2000, 1, 2, 3, 0, 0, 0, time.UTC)
		if !next.ScheduledAt.Equal(want) || !time.Now().Equal(want) {
			t.Fatalf("next run for %v claimed at %v (waiting since %v), want at its fire time %v", next.ScheduledAt, time.Now(), start, want)
		}
		// The worker dates the lease from its ask plus ClaimedAfter: the
		// poll's wait, not a lease's worth before the answer.
		if got := next.ClaimedAfter; got != want.Sub(asked) || got <= 0 {
			t.Fatalf("ClaimedAfter = %s, want the poll's wait %s", got, want.Sub(asked))
		}
	})
}

// TestWorkerFailuresAndLoss: a failed run is retried per its job; a
// worker that stops renewing loses its run to the reaper, which retries
// it, the other worker takes the retry, and the first one's late report is
// refused.
func TestWorkerFailuresAndLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		if _, err := b.s.AddJob(b.ctx, sundial.Job{ID: "sync", Task: "sync", Trigger: cron("0 * * * *"),
			Options: sundial.JobOptions{MaxAttempts: 3, RetryBackoff: time.Second}}, sundial.DeclareTask()); err != nil {
			t.Fatal(err)
		}
		b.start(t)
		defer b.stop(t)
		w1 := openWorker(t, b, "w1", "sync")
		defer keepAlive(t, b, w1)()
		w2 := openWorker(t, b, "w2", "sync")

		r := claimOne(t, b, w1, time.Hour)
		if _, err := b.s.FinishWorkerRun(b.ctx, w1, r.ID, sundial.WorkerOutcome{Attempt: 1, Status: sundial.StatusFailed,
			Error: "ZeroDivisionError: division by zero"}); err != nil {
			t.Fatal(err)
		}
		stopW2 := keepAlive(t, b, w2)
		retry := claimOne(t, b, w2, time.Minute)
		stopW2()
		if retry.Attempt != 2 || !retry.ScheduledAt.Equal(r.ScheduledAt) {
			t.Fatalf("retry = attempt %d for %v, want attempt 2 of %v", retry.Attempt, retry.ScheduledAt, r.ScheduledAt)
		}
		// w2 goes silent: the reaper marks its run lost a lease later,
		// and plans attempt 3, which w1 takes.
		third := claimOne(t, b, w1, time.Minute)
		if third.Attempt != 3 {
			t.Fatalf("after w2 went silent, w1 claimed attempt %d, want 3", third.Attempt)
		}
		lost, _ := b.s.RunByID(b.ctx, retry.ID)
		if lost.Status != sundial.StatusLost {
			t.Fatalf("w2's run is %s, want lost", lost.Status)
		}
		if _, err := b.s.FinishWorkerRun(b.ctx, w2, retry.ID, sundial.WorkerOutcome{Attempt: 2, Status: sundial.StatusSucceeded}); !errors.Is(err, sundial.ErrRunLost) {
			t.Fatalf("w2's late report: %v, want ErrRunLost", err)
		}
		// w1 renews while it runs; a cancel reaches it through its heartbeat.
		time.Sleep(10 * time.Second)
		if res, _, err := b.s.WorkerHeartbeat(b.ctx, w1, []string{third.ID}); err != nil || len(res.Held) != 1 {
			t.Fatalf("heartbeat = %+v, %v; want the run held", res, err)
		}
		if _, err := b.s.CancelRun(b.ctx, third.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		res, _, err := b.s.WorkerHeartbeat(b.ctx, w1, []string{third.ID})
		if err != nil || len(res.Cancel) != 1 {
			t.Fatalf("heartbeat after the cancel = %+v, %v; want it asked to cancel", res, err)
		}
		done, err := b.s.FinishWorkerRun(b.ctx, w1, third.ID, sundial.WorkerOutcome{Attempt: 3, Status: sundial.StatusCanceled, Error: "stopped"})
		if err != nil || done.Status != sundial.StatusCanceled {
			t.Fatalf("canceled finish = %s, %v", done.Status, err)
		}
		if got := summary(b.runs(t, "sync")); got != "00:00:00 failed\n00:00:00 lost\n00:00:00 canceled" {
			t.Fatalf("runs:\n%s", got)
		}
	})
}

// TestWorkerSessions: a live name cannot be taken; a replaced session is
// told so and its runs are recovered at once; runs of a task no worker
// took in time are missed per the misfire grace.
func TestWorkerSessions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		if _, err := b.s.AddJob(b.ctx, sundial.Job{ID: "tick", Task: "tick", Trigger: every(time.Minute),
			Options: sundial.JobOptions{MaxAttempts: 2, MisfireGrace: 30 * time.Second}}, sundial.DeclareTask()); err != nil {
			t.Fatal(err)
		}
		b.start(t)
		defer b.stop(t)
		sub := b.s.Subscribe(16, sundial.EventWorkerJoined, sundial.EventWorkerLeft)
		defer sub.Close()
		for _, bad := range []sundial.WorkerInfo{
			{Name: "", Tasks: []string{"tick"}, Capacity: 1},
			{Name: "a b", Tasks: []string{"tick"}, Capacity: 1},
			{Name: "w", Capacity: 1},
			{Name: "w", Tasks: []string{"tick"}, Capacity: 0},
			{Name: "w", Tasks: []string{" tick"}, Capacity: 1},
		} {
			if _, err := b.s.OpenWorkerSession(b.ctx, bad); !errors.Is(err, sundial.ErrInvalidWorker) {
				t.Errorf("OpenWorkerSession(%+v) = %v, want ErrInvalidWorker", bad, err)
			}
		}
		old := openWorker(t, b, "w", "tick")
		if _, err := b.s.OpenWorkerSession(b.ctx, sundial.WorkerInfo{Name: "w", Tasks: []string{"tick"}, Capacity: 1}); !errors.Is(err, sundial.ErrWorkerNameInUse) {
			t.Fatalf("second session of a live name: %v, want ErrWorkerNameInUse", err)
		}
		stopOld := keepAlive(t, b, old)
		r := claimOne(t, b, old, 2*time.Minute)
		stopOld()
		neu, err := b.s.OpenWorkerSession(b.ctx, sundial.WorkerInfo{Name: "w", Tasks: []string{"tick"}, Capacity: 1, Replace: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.s.WorkerHeartbeat(b.ctx, old, []string{r.ID}); !errors.Is(err, sundial.ErrWorkerSessionGone) {
			t.Fatalf("heartbeat of the replaced session: %v, want ErrWorkerSessionGone", err)
		}
		if _, err := b.s.WorkerSession(b.ctx, old.ID); !errors.Is(err, sundial.ErrWorkerSessionGone) {
			t.Fatalf("lookup of the replaced session: %v, want ErrWorkerSessionGone", err)
		}
		if got, _ := b.s.RunByID(b.ctx, r.ID); got.Status != sundial.StatusLost {
			t.Fatalf("the replaced session's run is %s, want lost at once", got.Status)
		}
		// Its retry went back to the queue; the new session takes it.
		if retry := claimOne(t, b, neu, time.Second); retry.Attempt != 2 || retry.JobID != "tick" {
			t.Fatalf("new session claimed %+v, want the retry", retry.Run)
		}
		if err := b.s.CloseWorkerSession(b.ctx, neu); err != nil {
			t.Fatal(err)
		}
		// Sessions opened and the one closed, in order; refused ones none.
		var seen []string
		for len(sub.C) > 0 {
			e := <-sub.C
			seen = append(seen, string(e.Kind)+" "+e.Worker)
		}
		if want := []string{"worker_joined w", "worker_joined w", "worker_left w"}; !slices.Equal(seen, want) {
			t.Errorf("worker events = %q, want %q", seen, want)
		}
		// Ten minutes without a worker: the fires in between are missed,
		// each recorded, and the next worker gets the current one.
		time.Sleep(10 * time.Minute)
		w := openWorker(t, b, "w", "tick")
		defer keepAlive(t, b, w)()
		fresh := claimOne(t, b, w, time.Second)
		if late := time.Since(fresh.ScheduledAt); late > 30*time.Second {
			t.Fatalf("worker got a fire %s old, beyond the misfire grace", late)
		}
		missed := 0
		for _, run := range b.runs(t, "tick") {
			if run.Status == sundial.StatusMissed {
				missed++
			}
		}
		if missed == 0 {
			t.Fatalf("no fire recorded missed while no worker served the task:\n%s", summary(b.runs(t, "tick")))
		}
		workers, tasks, err := b.s.Workers(b.ctx)
		if err != nil || len(workers) != 1 || len(tasks) != 1 || tasks[0].Name != "tick" || !b.s.WorkerLive(workers[0]) {
			t.Fatalf("Workers = %+v, %+v, %v", workers, tasks, err)
		}
		if nodes, _ := b.s.Nodes(b.ctx); len(nodes) != 1 || nodes[0].Kind != sundial.NodeScheduler {
			t.Fatalf("Nodes = %+v, want the scheduler only", nodes)
		}
	})
}

// TestWorkerMissKeepsTheQueueMoving: a backfill's first run that no
// worker took within the misfire grace is recorded missed, and the runs
// queued behind it still come, one after another.
func TestWorkerMissKeepsTheQueueMoving(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		if _, err := b.s.AddJob(b.ctx, sundial.Job{ID: "fill", Task: "fill", Trigger: cron("0 * * * *"),
			Options: sundial.JobOptions{MisfireGrace: 30 * time.Second}}, sundial.DeclareTask()); err != nil {
			t.Fatal(err)
		}
		if _, err := b.s.PauseJob(b.ctx, "fill"); err != nil { // only the backfill runs
			t.Fatal(err)
		}
		b.start(t)
		defer b.stop(t)
		time.Sleep(4*time.Hour + time.Minute)
		from, to := time.Date(2000, 1, 1, 1, 0, 0, 0, time.UTC), time.Date(2000, 1, 1, 3, 0, 0, 0, time.UTC)
		if _, err := b.s.Backfill(b.ctx, "fill", from, to, sundial.BackfillOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute) // no worker: the backfill's first run is late beyond the grace
		w := openWorker(t, b, "w2", "fill")
		defer keepAlive(t, b, w)()
		done := 0
		for range 10 {
			runs, err := b.s.ClaimForWorker(b.ctx, w, 1, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range runs {
				if r.Backfill != "" {
					done++
				}
				b.s.FinishWorkerRun(b.ctx, w, r.ID, sundial.WorkerOutcome{Attempt: r.Attempt, Status: sundial.StatusSucceeded})
			}
		}
		runs, _ := b.s.Runs(b.ctx, sundial.RunFilter{JobID: "fill", Status: sundial.StatusQueued})
		if len(runs) != 0 || done < 2 {
			all, _ := b.s.Runs(b.ctx, sundial.RunFilter{JobID: "fill"})
			for _, r := range all {
				t.Logf("%s %s backfill=%q manual=%v nb=%v", r.ScheduledAt.Format("15:04"), r.Status, r.Backfill, r.Manual, r.NotBefore)
			}
			t.Fatalf("after the first backfill run was missed: %d backfill runs ran, %d still queued; want the rest to run", done, len(runs))
		}
	})
}

// TestClosedWorkerSessionTakesNothing: a closed session claims nothing and
// cannot be reopened by a heartbeat.
func TestClosedWorkerSessionTakesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		if _, err := b.s.AddJob(b.ctx, sundial.Job{ID: "now", Task: "t", Trigger: trigger.None()}, sundial.DeclareTask()); err != nil {
			t.Fatal(err)
		}
		b.start(t)
		defer b.stop(t)
		w := openWorker(t, b, "w", "t")
		if err := b.s.CloseWorkerSession(b.ctx, w); err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.s.WorkerHeartbeat(b.ctx, w, nil); !errors.Is(err, sundial.ErrWorkerSessionGone) {
			t.Fatalf("heartbeat of a closed session: %v, want ErrWorkerSessionGone", err)
		}
		if _, err := b.s.RunNow(b.ctx, "now", nil); err != nil {
			t.Fatal(err)
		}
		if runs, err := b.s.ClaimForWorker(b.ctx, w, 1, time.Second); len(runs) != 0 {
			t.Fatalf("a closed session claimed %d runs (%v)", len(runs), err)
		}
	})
}

// TestWorkerSessionLimit: one token's workers hold at most
// MaxWorkerSessionsPerToken live sessions; another token's are not
// counted, a session reopened under its own name does not count twice,
// and sessions closed or lapsed free their places.
func TestWorkerSessionLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{LeaseTTL: 30 * time.Second})
		open := func(name, token string, replace bool) (sundial.WorkerSession, error) {
			return b.s.OpenWorkerSession(b.ctx, sundial.WorkerInfo{Name: name, Tasks: []string{"tick"}, Capacity: 1, Token: token, Replace: replace})
		}
		var first sundial.WorkerSession
		for i := range sundial.MaxWorkerSessionsPerToken {
			sess, err := open(fmt.Sprintf("w%d", i), "tok-a", false)
			if err != nil {
				t.Fatalf("session %d: %v", i, err)
			}
			if i == 0 {
				first = sess
			}
		}
		_, err := open("one-more", "tok-a", false)
		if !errors.Is(err, sundial.ErrWorkerSessionLimit) || !strings.Contains(err.Error(), "one-more") {
			t.Fatalf("session %d of one token: %v, want ErrWorkerSessionLimit naming the worker", sundial.MaxWorkerSessionsPerToken+1, err)
		}
		if _, err := open("other", "tok-b", false); err != nil {
			t.Fatalf("another token's first session: %v", err)
		}
		if _, err := open("w1", "tok-a", true); err != nil {
			t.Fatalf("a session reopened under its own name: %v", err)
		}
		if err := b.s.CloseWorkerSession(b.ctx, first); err != nil {
			t.Fatal(err)
		}
		if _, err := open("one-more", "tok-a", false); err != nil {
			t.Fatalf("after a close: %v", err)
		}
		if _, err := open("two-more", "tok-a", false); !errors.Is(err, sundial.ErrWorkerSessionLimit) {
			t.Fatalf("full again: %v, want ErrWorkerSessionLimit", err)
		}
		// Sessions that stop renewing leave room two leases later.
		time.Sleep(61 * time.Second)
		if _, err := open("two-more", "tok-a", false); err != nil {
			t.Fatalf("after the others lapsed: %v", err)
		}
	})
}

// TestUnresponsiveWorkerGetsRunsOnceItRenews: a worker that missed a
// renewal (its store was away a moment) gets no runs on its open poll, but
// gets them within a sixth of a lease of renewing, not at the poll's end.
func TestUnresponsiveWorkerGetsRunsOnceItRenews(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{LeaseTTL: 30 * time.Second})
		if _, err := b.s.AddJob(b.ctx, sundial.Job{ID: "tick", Task: "tick", Trigger: every(time.Minute)}, sundial.DeclareTask()); err != nil {
			t.Fatal(err)
		}
		b.start(t)
		defer b.stop(t)
		w := openWorker(t, b, "w", "tick")
		time.Sleep(time.Minute + 10*time.Second) // a fire is due, and the worker has not renewed for 2/3 of a lease
		got := make(chan time.Time, 1)
		go func() {
			runs, err := b.s.ClaimForWorker(b.ctx, w, 1, 25*time.Second)
			if err != nil || len(runs) != 1 {
				t.Errorf("ClaimForWorker = %d runs, %v", len(runs), err)
			}
			got <- time.Now()
		}()
		time.Sleep(3 * time.Second)
		select {
		case <-got:
			t.Fatal("a worker that missed its renewal got a run")
		default:
		}
		renewed := time.Now()
		if _, _, err := b.s.WorkerHeartbeat(b.ctx, w, nil); err != nil {
			t.Fatal(err)
		}
		if at := <-got; at.Sub(renewed) > 5*time.Second {
			t.Fatalf("the run came %s after the renewal, want within a sixth of the 30s lease", at.Sub(renewed))
		}
	})
}
