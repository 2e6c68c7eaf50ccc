package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/jobdoc"
	"github.com/sundialhq/sundial/trigger"
)

// reconcile makes the store's config jobs match the file: new ones are
// created, changed ones updated, and jobs the file once declared and no
// longer does are removed. Jobs created through the API are not touched,
// except one whose ID the file now declares, which the file takes over.
// Whether a job is paused is set when it is created and then left to the
// operators.
//
// Replicas that start together with one file reconcile at the same time,
// so every step expects the others: a create that finds the job created
// meanwhile, an update that finds it changed meanwhile, reads again and
// compares; a removal finds it perhaps gone. Each change is made, and
// audited, by one replica only.
func reconcile(ctx context.Context, s *sundial.Scheduler, st admin.Store, file string, jobs []sundial.Job, log *slog.Logger) error {
	actor := "config"
	if file != "" {
		actor = "config:" + file
	}
	audit := func(action, target string, j *sundial.Job) {
		e := admin.AuditEntry{At: time.Now(), Actor: actor, Action: action, Target: target}
		if j != nil {
			e.Detail, _ = json.Marshal(jobdoc.FromJob(*j))
		}
		if _, err := st.AppendAudit(ctx, e); err != nil {
			log.Error("audit log write failed", "action", action, "job_id", target, "err", err)
		}
	}
	declared := map[string]bool{}
	for _, j := range jobs {
		declared[j.ID] = true
		if err := reconcileJob(ctx, s, j, log, audit); err != nil {
			return fmt.Errorf("config %s: job %q: %w", file, j.ID, err)
		}
	}
	source := admin.SourceConfig
	stale, err := s.Jobs(ctx, sundial.JobFilter{Source: &source})
	if err != nil {
		return err
	}
	for _, j := range stale {
		if declared[j.ID] {
			continue
		}
		err := s.RemoveJob(ctx, j.ID)
		if errors.Is(err, sundial.ErrJobNotFound) {
			continue // another replica removed it
		}
		if err != nil {
			return fmt.Errorf("config: remove job %q, no longer in the file: %w", j.ID, err)
		}
		log.Info("config job removed: no longer in the file", "job_id", j.ID)
		audit("job.delete", j.ID, nil)
	}
	return nil
}

// reconcileAttempts bounds how often one job is read again after another
// writer changed it between the read and the write.
const reconcileAttempts = 10

// reconcileJob makes one stored job match the file's definition j.
func reconcileJob(ctx context.Context, s *sundial.Scheduler, j sundial.Job, log *slog.Logger, audit func(string, string, *sundial.Job)) error {
	var lastErr error
	for range reconcileAttempts {
		stored, err := s.Job(ctx, j.ID)
		switch {
		case errors.Is(err, sundial.ErrJobNotFound):
			created, err := s.AddJob(ctx, j)
			if errors.Is(err, sundial.ErrJobExists) {
				lastErr = err // created meanwhile: compare with it
				continue
			}
			if err != nil {
				return err
			}
			log.Info("config job created", "job_id", j.ID, "task", j.Task)
			audit("job.create", j.ID, &created)
			return nil
		case err != nil:
			return err
		case stored.Source == admin.SourceConfig && sameDefinition(withCalendars(ctx, s, j), stored):
			return nil
		}
		// Update the version read, so that a change made meanwhile (by
		// another replica with the same file) is seen, not overwritten.
		want := j
		want.Version = stored.Version
		updated, err := s.UpdateJob(ctx, want)
		if errors.Is(err, sundial.ErrVersionConflict) || errors.Is(err, sundial.ErrJobNotFound) {
			lastErr = err // changed or removed meanwhile: read again
			continue
		}
		if err != nil {
			return err
		}
		log.Info("config job updated", "job_id", j.ID, "task", j.Task)
		audit("job.update", j.ID, &updated)
		return nil
	}
	return fmt.Errorf("still changing after %d attempts: %w", reconcileAttempts, lastErr)
}

// sameDefinition reports whether a stored job already has the file's
// definition. The store's trigger carries the start date it was pinned
// to, which the file leaves out.
func sameDefinition(file, stored sundial.Job) bool {
	file.Trigger = pinnedLike(file.Trigger, stored.Trigger)
	a, b := jobdoc.FromJob(file), jobdoc.FromJob(stored)
	a.Paused, b.Paused = false, false
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// withCalendars returns the job with the dates of the calendars it names,
// as the store keeps it; unchanged when one is missing (AddJob and
// UpdateJob report that).
func withCalendars(ctx context.Context, s *sundial.Scheduler, j sundial.Job) sundial.Job {
	if spec, err := s.ResolveCalendars(ctx, j.Trigger); err == nil {
		j.Trigger = spec
	}
	return j
}

func pinnedLike(f, s trigger.Spec) trigger.Spec {
	if f.Type == "interval" && s.Type == "interval" && f.StartDate == "" {
		f.StartDate = s.StartDate
	}
	if len(f.Triggers) > 0 && len(f.Triggers) == len(s.Triggers) {
		subs := make([]trigger.Spec, len(f.Triggers))
		for i := range f.Triggers {
			subs[i] = pinnedLike(f.Triggers[i], s.Triggers[i])
		}
		f.Triggers = subs
	}
	return f
}
