package sundial

import (
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
