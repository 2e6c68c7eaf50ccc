package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/trigger"
)

// CalendarReplicas has one scheduler on each of the stores (as replicas)
// run two jobs that follow a calendar whose one holiday is today: "off"
// skips holidays and does not fire, "on" fires only on them. A change to
// the calendar made on another replica turns them round. Every fire is
// recorded once. Today is read in a zone where it is about noon, so the
// test never straddles a midnight.
func CalendarReplicas(t *testing.T, stores []sundial.Store) {
	t.Helper()
	ctx := context.Background()
	zone := fmt.Sprintf("Etc/GMT%+d", time.Now().UTC().Hour()-12) // Etc/GMT-5 is UTC+5
	if zone == "Etc/GMT+0" {
		zone = "Etc/GMT"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(loc).Format(time.DateOnly)
	var schedulers []*sundial.Scheduler
	for _, store := range stores {
		s, err := sundial.New(sundial.Config{Store: store, Workers: 4, MaxSleep: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		s.Register("tick", func(context.Context, sundial.Run) (any, error) { return nil, nil })
		schedulers = append(schedulers, s)
	}
	first := schedulers[0]
	cal, err := first.AddCalendar(ctx, sundial.Calendar{Name: "today-off", Holidays: []sundial.CalendarDay{{Date: today}}})
	if err != nil {
		t.Fatal(err)
	}
	for id, rule := range map[string]trigger.DayRule{"off": trigger.ExcludeHolidays, "on": trigger.OnlyHolidays} {
		spec := trigger.Every(100*time.Millisecond, trigger.InZone(zone), trigger.OnCalendar("today-off", rule))
		if _, err := first.AddJob(ctx, sundial.Job{ID: id, Task: "tick", Trigger: spec,
			Options: sundial.JobOptions{Overlap: sundial.OverlapAllow}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range schedulers {
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, s := range schedulers {
			if err := s.Shutdown(ctx); err != nil {
				t.Error(err)
			}
		}
	}()
	runs := func(job string) []sundial.Run {
		t.Helper()
		rs, err := first.Runs(ctx, sundial.RunFilter{JobID: job})
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s within 30s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("the only-holidays job to fire 5 times on the holiday", func() bool { return len(runs("on")) >= 5 })
	if n := len(runs("off")); n != 0 {
		t.Fatalf("the job that skips holidays fired %d times on one", n)
	}

	cal.Holidays = nil
	if _, err := schedulers[len(schedulers)-1].UpdateCalendar(ctx, cal); err != nil {
		t.Fatal(err)
	}
	waitFor("the job that skips holidays to fire 5 times once today is no holiday", func() bool { return len(runs("off")) >= 5 })
	stopped := len(runs("on"))
	time.Sleep(500 * time.Millisecond)
	// A fire claimed before the change may still be recorded; none after.
	if n := len(runs("on")); n > stopped+len(schedulers) {
		t.Errorf("the only-holidays job went on firing after its calendar lost its holiday: %d runs, then %d", stopped, n)
	}
	for _, job := range []string{"on", "off"} {
		seen := map[time.Time]int{}
		for _, r := range runs(job) {
			if seen[r.ScheduledAt]++; seen[r.ScheduledAt] > 1 {
				t.Errorf("job %s: the fire at %s was recorded twice", job, r.ScheduledAt)
			}
		}
	}
}
