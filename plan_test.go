package sundial

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial/trigger"
)

// TestPlanFires checks the claim decision alone: a job due since some
// instant, its options and the runs in flight → its next fire and the runs
// recorded.
func TestPlanFires(t *testing.T) {
	at := func(clock string) time.Time {
		v, err := time.Parse(time.TimeOnly, clock)
		if err != nil {
			t.Fatal(err)
		}
		return time.Date(2026, 3, 7, v.Hour(), v.Minute(), v.Second(), 0, time.UTC)
	}
	yes, no := true, false
	tests := []struct {
		name    string
		spec    trigger.Spec
		due     string // the job's NextRunAt
		now     string
		opts    JobOptions
		active  int
		queued  bool
		want    string // one "HH:MM:SS status" per run, in order
		wantErr string // a substring of one run's Error
		next    string // "" for none
	}{
		{name: "on time", spec: every(time.Minute), due: "12:00:00", now: "12:00:00",
			want: "12:00:00 pending", next: "12:01:00"},
		{name: "late within grace", spec: every(time.Minute), due: "12:00:00", now: "12:00:59",
			want: "12:00:00 pending", next: "12:01:00"},
		{name: "beyond the default grace", spec: every(time.Hour), due: "12:00:00", now: "12:01:01",
			want: "12:00:00 missed", wantErr: "beyond the misfire grace of 1m0s", next: "13:00:00"},
		{name: "no grace limit", spec: every(time.Hour), due: "12:00:00", now: "12:30:00", opts: JobOptions{MisfireGrace: -1},
			want: "12:00:00 pending", next: "13:00:00"},
		{name: "backlog coalesced", spec: every(10 * time.Second), due: "12:00:00", now: "12:00:30",
			want: "12:00:00 skipped\n12:00:10 skipped\n12:00:20 skipped\n12:00:30 pending", wantErr: "coalesced into the fire at", next: "12:00:40"},
		{name: "backlog not coalesced", spec: every(10 * time.Second), due: "12:00:00", now: "12:00:20",
			opts: JobOptions{Coalesce: &no, MaxInstances: 5},
			want: "12:00:00 pending\n12:00:10 pending\n12:00:20 pending", next: "12:00:30"},
		{name: "backlog, some beyond grace", spec: every(30 * time.Second), due: "12:00:00", now: "12:01:30",
			opts: JobOptions{Coalesce: &yes},
			want: "12:00:00 missed\n12:00:30 skipped\n12:01:00 skipped\n12:01:30 pending", next: "12:02:00"},
		{name: "overlap skip at max instances", spec: every(time.Minute), due: "12:00:00", now: "12:00:00", active: 1,
			want: "12:00:00 skipped", wantErr: "max instances (1) already running", next: "12:01:00"},
		{name: "overlap queue", spec: every(time.Minute), due: "12:00:00", now: "12:00:00", active: 1,
			opts: JobOptions{Overlap: OverlapQueue}, want: "12:00:00 queued", next: "12:01:00"},
		{name: "overlap queue holds one", spec: every(time.Minute), due: "12:00:00", now: "12:00:00", active: 1, queued: true,
			opts: JobOptions{Overlap: OverlapQueue}, want: "12:00:00 skipped", next: "12:01:00"},
		{name: "overlap allow", spec: every(time.Minute), due: "12:00:00", now: "12:00:00", active: 3,
			opts: JobOptions{Overlap: OverlapAllow}, want: "12:00:00 pending", next: "12:01:00"},
		{name: "max instances 2", spec: every(10 * time.Second), due: "12:00:00", now: "12:00:20", active: 1,
			opts: JobOptions{Coalesce: &no, MaxInstances: 2},
			want: "12:00:00 pending\n12:00:10 skipped\n12:00:20 skipped", next: "12:00:30"},
		{name: "end bound", spec: every(time.Minute).With(trigger.Until(at("12:00:30"))), due: "12:00:00", now: "12:00:00",
			want: "12:00:00 pending", next: ""},
		{name: "end bound inclusive", spec: trigger.CronExpr("*/15 * * * *", trigger.Until(at("12:15:00"))), due: "12:00:00", now: "12:00:00",
			want: "12:00:00 pending", next: "12:15:00"},
		{name: "end bound on a combination", spec: trigger.AnyOf(trigger.CronExpr("0 12 * * *"), trigger.CronExpr("0 13 * * *")).With(trigger.Until(at("12:59:59"))),
			due: "12:00:00", now: "12:00:00", want: "12:00:00 pending", next: ""},
		{name: "backlog stops at the end bound", spec: every(10 * time.Second).With(trigger.Until(at("12:00:15"))), due: "12:00:00", now: "12:00:30",
			opts: JobOptions{Coalesce: &no, MaxInstances: 5}, want: "12:00:00 pending\n12:00:10 pending", next: ""},
		{name: "fixed delay waits for the run", spec: every(time.Minute), due: "12:00:00", now: "12:00:00",
			opts: JobOptions{FixedDelay: true}, want: "12:00:00 pending", next: ""},
		{name: "fixed delay, skipped fire keeps the schedule", spec: every(time.Minute), due: "12:00:00", now: "12:00:00", active: 1,
			opts: JobOptions{FixedDelay: true}, want: "12:00:00 skipped", next: "12:01:00"},
		{name: "date fires once", spec: trigger.Spec{Type: "date", RunDate: "2026-03-07T12:00:00Z"}, due: "12:00:00", now: "12:00:05",
			want: "12:00:00 pending", next: ""},
		{name: "cron", spec: trigger.Spec{Type: "cron", Expr: "*/15 * * * *"}, due: "12:00:00", now: "12:00:01",
			want: "12:00:00 pending", next: "12:15:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trig, err := tt.spec.Build()
			if err != nil {
				t.Fatal(err)
			}
			job := Job{ID: "j", Task: "task", NextRunAt: at(tt.due)}
			opts := tt.opts.resolve(JobOptions{})
			n := 0
			p := planFires(fireState{Job: &job, Trigger: trig, Options: &opts, Now: at(tt.now), Active: tt.active, Queued: tt.queued},
				func() string { n++; return fmt.Sprint("r", n) })
			var lines []string
			sawErr := tt.wantErr == ""
			for _, r := range p.Runs {
				lines = append(lines, r.ScheduledAt.Format(time.TimeOnly)+" "+string(r.Status))
				sawErr = sawErr || strings.Contains(r.Error, tt.wantErr)
				if ended := r.Status == StatusMissed || r.Status == StatusSkipped; ended != r.EndedAt.Equal(at(tt.now)) {
					t.Errorf("run %s %s ended at %s", r.ScheduledAt.Format(time.TimeOnly), r.Status, r.EndedAt)
				}
				if r.Attempt != 1 || r.JobID != "j" || r.Task != "task" {
					t.Errorf("run %+v", r)
				}
			}
			if got := strings.Join(lines, "\n"); got != tt.want {
				t.Errorf("runs:\n%s\nwant:\n%s", got, tt.want)
			}
			if !sawErr {
				t.Errorf("no run says %q", tt.wantErr)
			}
			next := ""
			if !p.NextRunAt.IsZero() {
				next = p.NextRunAt.Format(time.TimeOnly)
			}
			if next != tt.next {
				t.Errorf("next fire %q, want %q", next, tt.next)
			}
		})
	}
}

// TestPlanFiresLongStop: after a stop far longer than the backlog bound,
// the plan records maxBacklog of its 7,201 fires and counts the rest in one
// reason.
func TestPlanFiresLongStop(t *testing.T) {
	trig, _ := every(time.Second).Build()
	start := time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC)
	job := Job{ID: "j", Task: "task", NextRunAt: start}
	opts := JobOptions{}.resolve(JobOptions{})
	now := start.Add(2 * time.Hour)
	p := planFires(fireState{Job: &job, Trigger: trig, Options: &opts, Now: now}, func() string { return "r" })
	if len(p.Runs) != maxBacklog {
		t.Fatalf("%d runs, want %d", len(p.Runs), maxBacklog)
	}
	last := p.Runs[len(p.Runs)-1]
	if last.Status != StatusMissed || !strings.Contains(last.Error, fmt.Sprintf("%d later fires were missed too", 7201-maxBacklog)) {
		t.Errorf("last run: %s %q", last.Status, last.Error)
	}
	if !p.NextRunAt.Equal(now.Add(time.Second)) {
		t.Errorf("next fire %s, want %s", p.NextRunAt, now.Add(time.Second))
	}
}

func every(d time.Duration) trigger.Spec { return trigger.Spec{Type: "interval", Seconds: d.Seconds()} }

// TestPlanBroadcast: a broadcast job's fire that runs becomes one shard per
// node, the claiming node's pending and the others waiting for their nodes;
// a queued fire's shards are all queued for their nodes; a skipped or
// missed fire stays one run.
func TestPlanBroadcast(t *testing.T) {
	at := time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)
	pickUp := at.Add(15 * time.Second)
	nodes := []string{"a", "b", "c"}
	describe := func(r Run) string {
		s := r.ScheduledAt.Format(time.TimeOnly) + " " + string(r.Status)
		if r.Shard != nil {
			s += fmt.Sprintf(" %d/%d", r.Shard.Index, r.Shard.Total)
		}
		if r.Node != "" {
			s += " for " + r.Node
			if !r.LeaseUntil.Equal(pickUp) {
				s += " until " + r.LeaseUntil.String()
			}
		}
		if r.Status == StatusScheduled && !r.NotBefore.Equal(r.ScheduledAt) {
			s += " not before " + r.NotBefore.String()
		}
		return s
	}
	no := false
	tests := []struct {
		name   string
		nodes  []string
		self   string
		opts   JobOptions
		now    time.Time
		active int
		queued bool
		want   string
	}{
		{name: "on three nodes", nodes: nodes, self: "b", now: at,
			want: "12:00:00 scheduled 0/3 for a\n12:00:00 pending 1/3\n12:00:00 scheduled 2/3 for c"},
		{name: "alone", nodes: []string{"a"}, self: "a", now: at, want: "12:00:00 pending 0/1"},
		{name: "no node list: the claiming node alone", self: "a", now: at, want: "12:00:00 pending 0/1"},
		{name: "a fire in flight is skipped whole", nodes: nodes, self: "a", now: at, active: 2,
			want: "12:00:00 skipped"},
		{name: "queued on every node", nodes: nodes, self: "a", now: at, active: 1, opts: JobOptions{Overlap: OverlapQueue},
			want: "12:00:00 queued 0/3 for a\n12:00:00 queued 1/3 for b\n12:00:00 queued 2/3 for c"},
		{name: "missed and coalesced whole", nodes: nodes, self: "a", now: at.Add(2 * time.Minute),
			want: "12:00:00 missed\n12:01:00 skipped\n12:02:00 pending 0/3\n12:02:00 scheduled 1/3 for b\n12:02:00 scheduled 2/3 for c"},
		{name: "backlog, not coalesced, one fire at a time", nodes: []string{"a", "b"}, self: "b", now: at.Add(time.Minute),
			opts: JobOptions{Coalesce: &no, MisfireGrace: time.Hour},
			want: "12:00:00 scheduled 0/2 for a\n12:00:00 pending 1/2\n12:01:00 skipped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trig, _ := every(time.Minute).Build()
			job := Job{ID: "j", Task: "task", NextRunAt: at}
			tt.opts.Broadcast = true
			opts := tt.opts.resolve(JobOptions{MaxInstances: 5}) // a default that broadcast jobs ignore
			n := 0
			p := planFires(fireState{Job: &job, Trigger: trig, Options: &opts, Now: tt.now, Active: tt.active, Queued: tt.queued,
				Nodes: tt.nodes, Self: tt.self, PickUpBy: pickUp}, func() string { n++; return fmt.Sprint("r", n) })
			var lines []string
			ids := map[string]bool{}
			for _, r := range p.Runs {
				lines = append(lines, describe(r))
				if ids[r.ID] {
					t.Errorf("two runs are named %s", r.ID)
				}
				ids[r.ID] = true
			}
			if got := strings.Join(lines, "\n"); got != tt.want {
				t.Errorf("runs:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestBroadcastOptions: a broadcast job runs one fire at a time, and says
// so when asked for more.
func TestBroadcastOptions(t *testing.T) {
	err := JobOptions{Broadcast: true, MaxInstances: 2}.validate()
	var ij *InvalidJobError
	if !errors.As(err, &ij) || ij.Field != "options.max_instances" || !strings.Contains(err.Error(), "broadcast") {
		t.Errorf("broadcast with max_instances 2: %v; want an error on options.max_instances that says why", err)
	}
	for _, o := range []JobOptions{{Broadcast: true}, {Broadcast: true, MaxInstances: 1}, {MaxInstances: 2}} {
		if err := o.validate(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
	var o JobOptions
	if err := json.Unmarshal([]byte(`{"broadcast": true}`), &o); err != nil || !o.Broadcast {
		t.Errorf("options {\"broadcast\": true} read as %+v, %v", o, err)
	}
	if b, _ := json.Marshal(o); !strings.Contains(string(b), `"broadcast":true`) {
		t.Errorf("written as %s", b)
	}
}

// TestShardIdentity: a shard's fire key names its index, the same across
// its retries; a manual fire's shards share one fire key but their index.
func TestShardIdentity(t *testing.T) {
	at := time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)
	r := Run{ID: "r1", JobID: "j", ScheduledAt: at, Attempt: 1, Shard: &Shard{Index: 2, Total: 3}}
	retry := r
	retry.ID, retry.Attempt = "r2", 2
	if got := r.FireKey(); got != "j@2026-03-07T12:00:00Z/shard/2" || retry.FireKey() != got {
		t.Errorf("fire keys %q and %q", got, retry.FireKey())
	}
	r.Manual = true
	if got := r.FireKey(); got != "j@2026-03-07T12:00:00Z/manual/shard/2" {
		t.Errorf("manual shard's fire key %q", got)
	}
	if got := (Run{}).ShardOrWhole(); got != (Shard{Index: 0, Total: 1}) {
		t.Errorf("a run that is its whole fire is shard %+v", got)
	}
	c := r.Clone()
	c.Shard.Index = 0
	if r.Shard.Index != 2 {
		t.Error("Clone shares the shard")
	}
	b, _ := json.Marshal(Run{Shard: &Shard{Index: 0, Total: 3}})
	if !strings.Contains(string(b), `"shard":{"index":0,"total":3}`) {
		t.Errorf("a shard in JSON: %s", b)
	}
}
