package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/trigger"
)

// cronFlags are the flags shared by "cron next" and "cron explain".
type cronFlags struct {
	dialect       string
	zone          string
	from          string
	count         int
	json          bool
	springForward string
	fallBack      string
	calendar      string
	rule          string
	client        clientFlags
}

func (f *cronFlags) register(cmd *cobra.Command, defaultCount int) {
	cmd.Flags().StringVar(&f.dialect, "dialect", "crontab", "cron dialect: crontab, quartz or apscheduler")
	cmd.Flags().StringVar(&f.zone, "tz", "", "time zone for an expression without CRON_TZ= (default: the local zone)")
	cmd.Flags().StringVar(&f.from, "from", "", "list fire times strictly after this RFC 3339 time (default: now)")
	cmd.Flags().IntVarP(&f.count, "count", "n", defaultCount, "number of fire times, 1-1000")
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON")
	cmd.Flags().StringVar(&f.springForward, "spring-forward", "", "rule for times in a DST gap: run_after or skip (default: by schedule)")
	cmd.Flags().StringVar(&f.fallBack, "fall-back", "", "rule for times in a DST overlap: first, last or both (default: by schedule)")
	cmd.Flags().StringVar(&f.calendar, "calendar", "", "fire only on the days a calendar allows: a calendar's name on the server, or a .yaml, .json or .ics file")
	cmd.Flags().StringVar(&f.rule, "rule", "", "with --calendar: exclude (default), only, workdays or rest_days")
	cmd.Flags().StringVar(&f.client.server, "server", "", "with --calendar NAME: the server (env SUNDIAL_SERVER; default http://127.0.0.1:8080)")
	cmd.Flags().StringVar(&f.client.token, "token", "", "with --calendar NAME: an API token (env SUNDIAL_TOKEN)")
}

func newCronCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cron",
		Short: "Check cron expressions: next fire times and plain-English descriptions",
		Example: `  sundial cron next -n 3 '0 9 * * 1-5'
  sundial cron next --from 2026-03-07T00:00:00Z -n 3 '*/15 * * * *'
  sundial cron explain --dialect quartz '0 15 10 ? * 6L'`,
	}
	cmd.AddCommand(newCronNextCommand(env), newCronExplainCommand(env))
	return cmd
}

func newCronNextCommand(env Env) *cobra.Command {
	var f cronFlags
	cmd := &cobra.Command{
		Use:   "next [flags] EXPR",
		Short: "Print the next fire times of a cron expression",
		Long: `Print the next fire times of a cron expression, one RFC 3339 time per line:
those strictly after --from (default: now), as other cron tools list them.

The dialect is never guessed: crontab (default) takes 5 fields, or 6 with
leading seconds; quartz takes 6 or 7; apscheduler takes a JSON object of
CronTrigger fields.`,
		Example: `  sundial cron next '0 9 * * 1-5'
  sundial cron next --tz Europe/London -n 3 '30 1 * * *'
  sundial cron next --dialect quartz '0 0 10 ? * 6#3'
  sundial cron next --dialect apscheduler '{"day_of_week": "mon-fri", "hour": 9}'
  sundial cron next --tz Asia/Shanghai --calendar cn --rule workdays '0 9 * * *'
  sundial cron next --calendar docs/examples/cn-2026.ics --rule workdays '0 9 * * *'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, from, err := f.parse(env, args[0])
			if err != nil {
				return err
			}
			t, err := f.withCalendar(cmd.Context(), env, c)
			if err != nil {
				return err
			}
			times := nextTimes(t, from, f.count)
			if len(times) == 0 {
				return fmt.Errorf("%q has no fire time after %s", args[0], from.Format(time.RFC3339))
			}
			return writeTimes(cmd.OutOrStdout(), times, f.json)
		},
	}
	f.register(cmd, 10)
	return cmd
}

func newCronExplainCommand(env Env) *cobra.Command {
	var f cronFlags
	var lang string
	cmd := &cobra.Command{
		Use:   "explain [flags] EXPR",
		Short: "Describe a cron expression in plain English, with its next fire times",
		Example: `  sundial cron explain '0 9 * * 1-5'
  sundial cron explain --dialect quartz '0 15 10 ? * 6L'
  sundial cron explain --lang zh '0 9 * * 1-5'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(trigger.Languages, lang) {
				return usagef("--lang %q is not one of %s", lang, strings.Join(trigger.Languages, ", "))
			}
			c, from, err := f.parse(env, args[0])
			if err != nil {
				return err
			}
			t, err := f.withCalendar(cmd.Context(), env, c)
			if err != nil {
				return err
			}
			description := trigger.DescribeIn(t, lang)
			times := nextTimes(t, from, f.count)
			gap, overlap := c.Policies()
			out := cmd.OutOrStdout()
			if f.json {
				next := rfc3339(times)
				return printValue(out, map[string]any{
					"description": description, "canonical": c.String(), "dialect": c.Dialect(),
					"timezone": c.Location().String(), "spring_forward": gap, "fall_back": overlap, "next": next,
				})
			}
			fmt.Fprintln(out, description)
			fmt.Fprintf(out, "  canonical:  %s (%s)\n", c.String(), c.Dialect())
			fmt.Fprintf(out, "  time zone:  %s (spring forward: %s, fall back: %s)\n", c.Location(), gap, overlap)
			if len(times) == 0 {
				fmt.Fprintln(out, "  next:       none after", from.Format(time.RFC3339))
				return nil
			}
			fmt.Fprintln(out, "  next:")
			for _, t := range times {
				fmt.Fprintln(out, "   ", t.Format(time.RFC3339))
			}
			return nil
		},
	}
	f.register(cmd, 5)
	cmd.Flags().StringVar(&lang, "lang", "en", "the description's language: en or zh")
	return cmd
}

// parse validates the flags and parses the expression.
func (f *cronFlags) parse(env Env, expr string) (*trigger.Cron, time.Time, error) {
	if f.count < 1 || f.count > 1000 {
		return nil, time.Time{}, usagef("-n %d is out of range 1-1000", f.count)
	}
	loc := env.local()
	if f.zone != "" {
		l, err := time.LoadLocation(f.zone)
		if err != nil || f.zone == "Local" {
			if s := trigger.SuggestZone(f.zone); s != "" {
				return nil, time.Time{}, usagef("--tz %q is not a known IANA time zone: did you mean %s?", f.zone, s)
			}
			return nil, time.Time{}, usagef("--tz %q is not a known IANA time zone such as Europe/London or UTC", f.zone)
		}
		loc = l
	}
	from := env.now()
	if f.from != "" {
		t, err := time.Parse(time.RFC3339Nano, f.from)
		if err != nil {
			return nil, time.Time{}, usagef("--from %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", f.from)
		}
		from = t
	}
	c, err := trigger.ParseCron(trigger.Dialect(f.dialect), expr, trigger.CronOptions{
		Location:      loc,
		SpringForward: trigger.SpringForward(f.springForward),
		FallBack:      trigger.FallBack(f.fallBack),
	})
	if err != nil {
		return nil, time.Time{}, usageError{err}
	}
	if f.zone != "" && c.HasZonePrefix() && c.Location().String() != loc.String() {
		return nil, time.Time{}, usagef("--tz %s conflicts with the expression's own zone %s", loc, c.Location())
	}
	return c, from, nil
}

// withCalendar returns the cron trigger restricted to the days that
// --calendar and --rule allow, or as it is without --calendar.
func (f *cronFlags) withCalendar(ctx context.Context, env Env, c *trigger.Cron) (trigger.Trigger, error) {
	if f.calendar == "" {
		if f.rule != "" {
			return nil, usagef("--rule applies with --calendar only")
		}
		return c, nil
	}
	var cal sundial.Calendar
	if ext := strings.ToLower(filepath.Ext(f.calendar)); ext == ".ics" || ext == ".yaml" || ext == ".yml" || ext == ".json" {
		var err error
		if ext == ".ics" {
			cal, err = readCalendarFile(env, "", f.calendar, "")
		} else {
			cal, err = readCalendarFile(env, f.calendar, "", "")
		}
		if err != nil {
			return nil, err
		}
		cal.Name = strings.TrimSuffix(filepath.Base(f.calendar), ext)
	} else if _, err := f.client.client(env).do(ctx, "GET", "/api/v1/calendars/"+url.PathEscape(f.calendar), nil, &cal); err != nil {
		return nil, err
	}
	holidays, working := cal.Dates()
	days := trigger.DayCalendar{Name: cal.Name, Rule: trigger.DayRule(f.rule), Holidays: holidays, WorkingDays: working}
	t, err := trigger.NewDayFilter(c, days, c.Location())
	if err != nil {
		var pe *trigger.ParseError
		if errors.As(err, &pe) && pe.Field == "rule" {
			return nil, usagef("--rule %q is not one of exclude, only, workdays, rest_days", f.rule)
		}
		return nil, usagef("--calendar %s: %v", f.calendar, err)
	}
	return t, nil
}

// nextTimes returns the first n fire times strictly after from, as other
// cron tools list them (croner, cron-parser, robfig/cron, gronx, croniter):
// "next" after a fire time is the one that follows it. Next with from as
// prev asks for exactly that.
func nextTimes(t trigger.Trigger, from time.Time, n int) []time.Time {
	var out []time.Time
	prev := from
	for range n {
		next := t.Next(prev, from)
		if next.IsZero() {
			break
		}
		out = append(out, next)
		prev = next
	}
	return out
}

func writeTimes(w io.Writer, times []time.Time, asJSON bool) error {
	if asJSON {
		return printValue(w, rfc3339(times))
	}
	var b strings.Builder
	for _, t := range rfc3339(times) {
		b.WriteString(t + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func rfc3339(times []time.Time) []string {
	out := make([]string, len(times))
	for i, t := range times {
		out[i] = t.Format(time.RFC3339)
	}
	return out
}
