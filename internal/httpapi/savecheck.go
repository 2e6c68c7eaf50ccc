package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/sundialhq/sundial"
)

// Checks at save time of what would otherwise fail at 3 a.m.: a job whose
// date has passed and would never fire, and e-mail notifications on a
// server that cannot send mail.

// checkJobSave refuses a job that would never fire (a date trigger in the
// past) when its trigger is new — a stored job whose date has passed keeps
// being editable — and e-mail notifications that the server cannot send.
func (a *API) checkJobSave(r *http.Request, job sundial.Job, stored *sundial.Job) error {
	for i, n := range job.Options.Notify {
		if len(n.Email) > 0 && !a.canMail {
			return &sundial.InvalidJobError{Field: fmt.Sprintf("options.notify[%d].email", i),
				Err: fmt.Errorf("this server has no SMTP settings (smtp.host in its config), so %v would never get mail: configure SMTP, or notify a webhook", n.Email)}
		}
	}
	if job.Trigger.Type != "date" || job.Paused || (stored != nil && stored.Trigger.RunDate == job.Trigger.RunDate) {
		return nil
	}
	t, err := job.Trigger.Build()
	if err != nil {
		return nil // the scheduler names the field
	}
	// A date fires once, at its instant; one already past runs at once if
	// within the misfire grace, else it is recorded missed and never runs.
	grace := job.Options.MisfireGrace
	if grace == sundial.NoMisfireLimit {
		return nil
	}
	if grace == 0 {
		grace = sundial.DefaultMisfireGrace
	}
	now := a.now()
	if at := t.Next(time.Time{}, now); !at.IsZero() && now.Sub(at) > grace {
		return &sundial.InvalidJobError{Field: "trigger.run_date",
			Err: fmt.Errorf("%s is %s in the past, beyond the misfire grace of %s: the job would be recorded missed and never run; to run it once now, use run now on a job without a trigger (type none)",
				job.Trigger.RunDate, now.Sub(at).Round(time.Second), grace)}
	}
	return nil
}
