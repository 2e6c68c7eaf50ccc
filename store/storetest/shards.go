package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
)

// The store's part in broadcast fires: shards are kept with their index,
// told apart by it, and a shard that waits for a node is that node's alone.

// shardPlan records a broadcast fire of three shards as the scheduler
// would: shard 0 for the claiming node, shards 1 and 2 waiting for n1 and
// n2 until pickUpBy. It reports the active count it was given.
func shardPlan(pickUpBy time.Time, active *int) sundial.PlanFunc {
	return func(job sundial.Job, a int, _ bool) (sundial.Job, []sundial.Run) {
		*active = a
		at := job.NextRunAt
		var runs []sundial.Run
		for i, node := range []string{"", "n1", "n2"} {
			r := sundial.Run{ID: job.ID + "-" + at.Format("1504") + "-" + string(rune('0'+i)), JobID: job.ID, Task: job.Task,
				ScheduledAt: at, Status: sundial.StatusPending, Attempt: 1, Shard: &sundial.Shard{Index: i, Total: 3}}
			if node != "" {
				r.Status, r.NotBefore, r.Node, r.LeaseUntil = sundial.StatusScheduled, at, node, pickUpBy
			}
			runs = append(runs, r)
		}
		job.NextRunAt = at.Add(time.Hour)
		return job, runs
	}
}

// testShards: a claim records the shards of a broadcast fire; each shard
// that waits for a node wakes and is claimed by that node only, whatever
// its queues; its node's heartbeats extend its pick-up deadline, and past
// the deadline it is lost, once.
func testShards(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	mustCreate(t, s, job("b", t0))
	for _, n := range []string{"n1", "n2"} {
		if _, err := s.RegisterNode(ctx, sundial.Node{ID: n, Incarnation: n + "-1", StartedAt: t0, LastSeen: t0}, t0); err != nil {
			t.Fatal(err)
		}
	}
	var active int
	claimed, err := claimAt(s, t0, 10, shardPlan(t0.Add(30*time.Second), &active))
	if err != nil || len(claimed) != 1 || claimed[0].ID != "b-1200-0" || claimed[0].Shard == nil || *claimed[0].Shard != (sundial.Shard{Index: 0, Total: 3}) {
		t.Fatalf("claim = %+v, %v; want only the claiming node's shard 0 of 3", claimed, err)
	}
	waiting := must(s.GetRun(ctx, "b-1200-1"))
	if waiting.Status != sundial.StatusScheduled || waiting.Node != "n1" || !waiting.LeaseUntil.Equal(t0.Add(30*time.Second)) ||
		waiting.Shard == nil || *waiting.Shard != (sundial.Shard{Index: 1, Total: 3}) || waiting.Manual || !waiting.NotBefore.Equal(t0) {
		t.Fatalf("shard 1 as stored: %s for %q until %s, shard %+v, manual %v", waiting.Status, waiting.Node, waiting.LeaseUntil, waiting.Shard, waiting.Manual)
	}

	// A run that waits for n1 wakes n1 and no other node.
	for node, want := range map[string]time.Time{"n1": t0, "n2": t0, "n3": t0.Add(time.Hour)} {
		if w, err := s.NextWake(ctx, node); err != nil || !w.Equal(want) {
			t.Errorf("NextWake(%s) = %s, %v; want %s", node, w, err, want)
		}
	}
	other, err := s.Claim(ctx, sundial.ClaimRequest{Now: t0.Add(time.Second), Limit: 10, Node: "n3", Incarnation: "n3-1", LeaseUntil: t0.Add(time.Minute)}, advance)
	if err != nil || len(other) != 0 {
		t.Errorf("another node's claim = %v, %v; want nothing", runIDs(other), err)
	}
	// n1 serves other queues: the shard was chosen for it all the same.
	mine, err := s.Claim(ctx, sundial.ClaimRequest{Now: t0.Add(time.Second), Limit: 10, Node: "n1", Incarnation: "n1-1",
		LeaseUntil: t0.Add(time.Minute), Queues: []string{"elsewhere"}}, advance)
	if err != nil || len(mine) != 1 || mine[0].ID != "b-1200-1" || mine[0].Status != sundial.StatusPending || mine[0].Incarnation != "n1-1" ||
		!mine[0].LeaseUntil.Equal(t0.Add(time.Minute)) || mine[0].Shard == nil || mine[0].Shard.Index != 1 {
		t.Fatalf("n1's claim = %+v, %v; want its shard, leased to it", mine, err)
	}
	if w, _ := s.NextWake(ctx, "n1"); !w.Equal(t0.Add(time.Hour)) {
		t.Errorf("NextWake(n1) after its claim = %s, want the job's next fire", w)
	}

	// A shard of the same fire, attempt and index is never recorded twice;
	// another index, or a manual fire's shard, is another run.
	dup := waiting
	dup.ID = "dup"
	if err := s.CreateRun(ctx, dup); !errors.Is(err, sundial.ErrDuplicateRun) {
		t.Errorf("a second shard 1 of the fire: %v, want ErrDuplicateRun", err)
	}
	dup.Shard = &sundial.Shard{Index: 3, Total: 4}
	if err := s.CreateRun(ctx, dup); err != nil {
		t.Errorf("shard 3 of the fire: %v", err)
	}
	manual := waiting
	manual.ID, manual.Manual = "manual-1", true
	if err := s.CreateRun(ctx, manual); err != nil {
		t.Errorf("shard 1 of a manual fire at the same instant: %v", err)
	}
	manual.ID = "manual-1b"
	if err := s.CreateRun(ctx, manual); !errors.Is(err, sundial.ErrDuplicateRun) {
		t.Errorf("a second shard 1 of the manual fire: %v, want ErrDuplicateRun", err)
	}
	if got := must(s.GetRun(ctx, "manual-1")); !got.Manual || got.Shard == nil || got.Shard.Index != 1 {
		t.Errorf("manual shard as stored: manual %v, shard %+v", got.Manual, got.Shard)
	}
	for _, id := range []string{"dup", "manual-1"} {
		if _, err := s.CancelRun(ctx, id, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}

	// n2's heartbeats keep its shard; once it is in standby they no longer
	// do, and the shard is lost when its deadline passes — once.
	beat := sundial.HeartbeatRequest{Node: "n2", Incarnation: "n2-1", Now: t0.Add(20 * time.Second), LeaseUntil: t0.Add(50 * time.Second)}
	if _, err := s.Heartbeat(ctx, beat); err != nil {
		t.Fatal(err)
	}
	if got := must(s.GetRun(ctx, "b-1200-2")); !got.LeaseUntil.Equal(t0.Add(50 * time.Second)) {
		t.Errorf("after n2's heartbeat its shard's deadline is %s, want %s", got.LeaseUntil, t0.Add(50*time.Second))
	}
	if reaped, _ := s.ReapLost(ctx, t0.Add(40*time.Second)); len(reaped) != 0 {
		t.Errorf("ReapLost before the deadline = %v", runIDs(reaped))
	}
	beat.Standby, beat.Now, beat.LeaseUntil = true, t0.Add(45*time.Second), t0.Add(75*time.Second)
	if _, err := s.Heartbeat(ctx, beat); err != nil {
		t.Fatal(err)
	}
	nodes := must(s.ListNodes(ctx))
	if len(nodes) != 2 || nodes[0].Standby || !nodes[1].Standby || !nodes[1].LastSeen.Equal(t0.Add(45*time.Second)) {
		t.Errorf("nodes = %+v; want n2 in standby, seen at its last heartbeat", nodes)
	}
	reaped, err := s.ReapLost(ctx, t0.Add(51*time.Second))
	if err != nil || len(reaped) != 1 || reaped[0].ID != "b-1200-2" || reaped[0].Status != sundial.StatusLost ||
		!strings.Contains(reaped[0].Error, "n2") || reaped[0].Shard == nil || reaped[0].Shard.Index != 2 {
		t.Fatalf("ReapLost past the deadline = %+v, %v; want n2's shard, lost, saying why", reaped, err)
	}
	if again, _ := s.ReapLost(ctx, t0.Add(52*time.Second)); len(again) != 0 {
		t.Errorf("ReapLost again = %v, want nothing", runIDs(again))
	}
	if got := must(s.GetRun(ctx, "b-1200-1")); got.Status != sundial.StatusPending {
		t.Errorf("n1's claimed shard became %s", got.Status)
	}
	// A zombie of an earlier incarnation does not speak for its node.
	if _, err := s.RegisterNode(ctx, sundial.Node{ID: "n1", Incarnation: "n1-2", StartedAt: t0.Add(time.Minute), LastSeen: t0.Add(time.Minute)}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Heartbeat(ctx, sundial.HeartbeatRequest{Node: "n1", Incarnation: "n1-1", Now: t0.Add(2 * time.Minute), Standby: true}); err != nil {
		t.Fatal(err)
	}
	if n := must(s.ListNodes(ctx))[0]; n.ID != "n1" || n.Standby || !n.LastSeen.Equal(t0.Add(time.Minute)) {
		t.Errorf("after a heartbeat of n1's earlier incarnation: %+v", n)
	}

	// A broadcast fire is in flight while any of its shards is, waiting
	// ones included; a plain retry waiting for its backoff is not.
	mustCreate(t, s, job("c", t0.Add(time.Minute)))
	for _, r := range []sundial.Run{
		{ID: "c-wait", JobID: "c", Task: "task", ScheduledAt: t0, NotBefore: t0.Add(time.Hour), Status: sundial.StatusScheduled, Attempt: 1,
			Node: "n9", LeaseUntil: t0.Add(time.Hour), Shard: &sundial.Shard{Index: 1, Total: 2}},
		{ID: "c-retry", JobID: "c", Task: "task", ScheduledAt: t0.Add(-time.Minute), NotBefore: t0.Add(time.Hour), Status: sundial.StatusScheduled, Attempt: 2},
	} {
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	active = -1
	if _, err := claimAt(s, t0.Add(time.Minute), 10, shardPlan(t0.Add(2*time.Minute), &active)); err != nil {
		t.Fatal(err)
	}
	if active != 1 {
		t.Errorf("the plan of job c was told %d runs in flight, want 1 (its waiting shard)", active)
	}
}

// testQueuedShards: a queued broadcast fire is promoted whole, each shard
// still waiting for its node, and only once no shard of the job is in
// flight.
func testQueuedShards(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	running := sundial.Run{ID: "running", JobID: "q", Task: "task", ScheduledAt: t0, Status: sundial.StatusScheduled, Attempt: 1,
		NotBefore: t0, Shard: &sundial.Shard{Index: 0, Total: 1}}
	if err := s.CreateRun(ctx, running); err != nil {
		t.Fatal(err)
	}
	for i, node := range []string{"n1", "n2"} {
		r := sundial.Run{ID: "queued-" + node, JobID: "q", Task: "task", ScheduledAt: t0.Add(time.Minute), Status: sundial.StatusQueued,
			Attempt: 1, Node: node, LeaseUntil: t0.Add(2 * time.Minute), Shard: &sundial.Shard{Index: i, Total: 2}}
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := s.PromoteQueued(ctx, "q", t0.Add(time.Minute)); ok || err != nil {
		t.Errorf("PromoteQueued while a shard of the job waits = %v, %v; want nothing promoted", ok, err)
	}
	claimed, err := claimAt(s, t0.Add(time.Minute), 10, advance)
	if err != nil || len(claimed) != 1 || claimed[0].ID != "running" {
		t.Fatalf("claim = %v, %v; want the waiting shard", runIDs(claimed), err)
	}
	if ok, _ := s.PromoteQueued(ctx, "q", t0.Add(time.Minute)); ok {
		t.Error("PromoteQueued while a shard of the job executes promoted the queued fire")
	}
	ended := claimed[0]
	ended.Status, ended.EndedAt = sundial.StatusSucceeded, t0.Add(90*time.Second)
	if err := s.UpdateRun(ctx, ended); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.PromoteQueued(ctx, "q", t0.Add(2*time.Minute)); !ok || err != nil {
		t.Fatalf("PromoteQueued once the fire in flight ended = %v, %v", ok, err)
	}
	for _, node := range []string{"n1", "n2"} {
		got := must(s.GetRun(ctx, "queued-"+node))
		if got.Status != sundial.StatusScheduled || got.Node != node || !got.NotBefore.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("queued shard for %s after promotion: %s for %q not before %s", node, got.Status, got.Node, got.NotBefore)
		}
		if w, _ := s.NextWake(ctx, node); !w.Equal(t0.Add(2 * time.Minute)) {
			t.Errorf("NextWake(%s) = %s, want its promoted shard", node, w)
		}
	}
	if w, _ := s.NextWake(ctx, "test-node"); !w.IsZero() {
		t.Errorf("NextWake of a node no shard waits for = %s, want zero", w)
	}
}
