package cli

import (
	"time"

	"github.com/sundialhq/sundial/trigger"
)

// durationValue is a duration flag in Sundial's one form: a Go duration
// ("90s", "1h30m") or a number of seconds ("90"), as in the config file and
// the environment.
type durationValue time.Duration

func (d *durationValue) Set(s string) error {
	v, err := trigger.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

func (d *durationValue) String() string { return time.Duration(*d).String() }

func (d *durationValue) Type() string { return "duration" }
