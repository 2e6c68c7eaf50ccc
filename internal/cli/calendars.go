package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/httpapi"
	"github.com/sundialhq/sundial/internal/icalendar"
	"github.com/sundialhq/sundial/internal/jobdoc"
)

func newCalendarsCommand(env Env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "calendars",
		Short: "Holiday calendars that triggers name: list, show, set from a file or an .ics, delete",
		Long: `A calendar is a named list of holidays and of working days that fall on a
weekend (China's 调休). A trigger names one with a rule — exclude, only,
workdays or rest_days — and fires only on the days the rule allows:

  {"type": "cron", "expr": "0 9 * * *", "timezone": "Asia/Shanghai",
   "calendar": {"name": "cn", "rule": "workdays"}}

Changing a calendar reschedules every job that names it.`,
		Example: `  sundial calendars set cn --ics china-2026.ics --description "China statutory holidays"
  sundial calendars list
  sundial calendars show cn`,
	}
	cf.register(cmd)
	list := &cobra.Command{
		Use:   "list",
		Short: "List calendars",
		Example: `  sundial calendars list
  sundial calendars list --json   # {"calendars": […]}, as GET /api/v1/calendars`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/calendars", nil, &raw); err != nil {
				return err
			}
			if cf.json {
				return printJSON(env.Stdout, raw)
			}
			var out httpapi.CalendarList
			if err := json.Unmarshal(raw, &out); err != nil {
				return err
			}
			rows := make([][]string, 0, len(out.Calendars))
			for _, c := range out.Calendars {
				rows = append(rows, []string{c.Name, strconv.Itoa(len(c.Holidays)), strconv.Itoa(len(c.WorkingDays)),
					span(c), strconv.FormatInt(c.Version, 10), when(c.UpdatedAt), c.Description})
			}
			return table(env.Stdout, []string{"NAME", "HOLIDAYS", "WORKING DAYS", "SPAN", "VERSION", "UPDATED", "DESCRIPTION"}, rows)
		},
	}
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Print a calendar's days, and the jobs that name it",
		Example: `  sundial calendars show cn
  sundial calendars show cn --json > cn.json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/calendars/"+url.PathEscape(args[0]), nil, &raw); err != nil {
				return err
			}
			if cf.json {
				return printJSON(env.Stdout, raw)
			}
			var v httpapi.CalendarView
			if err := json.Unmarshal(raw, &v); err != nil {
				return err
			}
			rows := make([][]string, 0, len(v.Holidays)+len(v.WorkingDays))
			for _, d := range v.Holidays {
				rows = append(rows, []string{d.Date, weekday(d.Date), "holiday", d.Name})
			}
			for _, d := range v.WorkingDays {
				rows = append(rows, []string{d.Date, weekday(d.Date), "working day", d.Name})
			}
			if err := table(env.Stdout, []string{"DATE", "DAY", "KIND", "NAME"}, rows); err != nil {
				return err
			}
			jobs := "none"
			if len(v.Jobs) > 0 {
				jobs = strings.Join(v.Jobs, ", ")
			}
			fmt.Fprintf(env.Stdout, "\nversion %d; named by jobs: %s\n", v.Version, jobs)
			return nil
		},
	}
	var file, ics, description, pattern string
	var dryRun bool
	set := &cobra.Command{
		Use:   "set NAME (-f FILE | --ics FILE)",
		Short: "Create or replace a calendar from a JSON/YAML file or an iCalendar (.ics) file",
		Long: `Set creates the calendar, or replaces its days, and reschedules the jobs
that name it. -f reads a calendar as 'calendars show --json' prints it
(JSON or YAML; days as "2026-10-01" or {date, name}). --ics reads the events
of an iCalendar file: every day an event covers is a holiday, unless its
summary matches --working-day-pattern (default: 补班, 上班, working day,
workday), which makes it a working day. Recurring events are not expanded;
set reports every event it skipped.`,
		Example: `  sundial calendars set cn --ics china-2026.ics --description "China statutory holidays"
  sundial calendars set cn --ics china-2026.ics --dry-run
  sundial calendars show cn --json > cn.json && sundial calendars set cn -f cn.json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (file == "") == (ics == "") {
				return usagef("give one of -f FILE or --ics FILE")
			}
			cal, err := readCalendarFile(env, file, ics, pattern)
			if err != nil {
				return err
			}
			cal.Name = args[0]
			if cmd.Flags().Changed("description") {
				cal.Description = description
			}
			if dryRun {
				checked, err := cal.Normalize()
				if err != nil {
					return usagef("%v", err)
				}
				fmt.Fprintf(env.Stdout, "calendar %s: %d holidays, %d working days (%s); nothing changed (--dry-run)\n",
					checked.Name, len(checked.Holidays), len(checked.WorkingDays), span(checked))
				return nil
			}
			body, _ := marshalJSON(cal)
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "PUT", "/api/v1/calendars/"+url.PathEscape(cal.Name), body, &raw); err != nil {
				return err
			}
			if cf.json {
				return printJSON(env.Stdout, raw)
			}
			var saved sundial.Calendar
			json.Unmarshal(raw, &saved)
			fmt.Fprintf(env.Stdout, "calendar %s version %d: %d holidays, %d working days (%s)\n",
				saved.Name, saved.Version, len(saved.Holidays), len(saved.WorkingDays), span(saved))
			return nil
		},
	}
	set.Flags().StringVarP(&file, "file", "f", "", "a calendar as JSON or YAML (- for stdin)")
	set.Flags().StringVar(&ics, "ics", "", "an iCalendar (.ics) file (- for stdin)")
	set.Flags().StringVar(&description, "description", "", "the calendar's description")
	set.Flags().StringVar(&pattern, "working-day-pattern", "", "with --ics: a regular expression; events whose summary matches are working days")
	set.Flags().BoolVar(&dryRun, "dry-run", false, "check and summarise the days, change nothing")
	del := &cobra.Command{
		Use:     "delete NAME",
		Short:   "Delete a calendar that no job names",
		Example: `  sundial calendars delete cn-2025`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := cf.client(env).do(cmd.Context(), "DELETE", "/api/v1/calendars/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "deleted calendar %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(list, show, set, del)
	return cmd
}

// readCalendarFile reads a calendar from a JSON/YAML file, or its days
// from an iCalendar file, reporting the events that were skipped.
func readCalendarFile(env Env, file, ics, pattern string) (sundial.Calendar, error) {
	if ics != "" {
		data, err := readFile(env, ics)
		if err != nil {
			return sundial.Calendar{}, err
		}
		var o icalendar.Options
		if pattern != "" {
			if o.WorkingDay, err = regexp.Compile(pattern); err != nil {
				return sundial.Calendar{}, usagef("--working-day-pattern %q: %v", pattern, err)
			}
		}
		res, err := icalendar.Read(bytes.NewReader(data), o)
		if err != nil {
			return sundial.Calendar{}, usagef("%s: %v", filepath.Base(ics), err)
		}
		for _, s := range res.Skipped {
			fmt.Fprintln(env.Stderr, "skipped:", s)
		}
		return sundial.Calendar{Holidays: res.Holidays, WorkingDays: res.WorkingDays}, nil
	}
	if pattern != "" {
		return sundial.Calendar{}, usagef("--working-day-pattern applies to --ics only")
	}
	data, err := readFile(env, file)
	if err != nil {
		return sundial.Calendar{}, err
	}
	body, err := jobdoc.YAMLToJSON(data)
	if err != nil {
		return sundial.Calendar{}, usagef("%s: %v", file, err)
	}
	var doc struct {
		sundial.Calendar
		Jobs json.RawMessage `json:"jobs"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return sundial.Calendar{}, usagef("%s: not a calendar: %v", file, err)
	}
	cal := doc.Calendar
	cal.Source, cal.CreatedAt, cal.UpdatedAt = "", time.Time{}, time.Time{}
	return cal, nil
}

// span is the first and last date a calendar lists.
func span(c sundial.Calendar) string {
	var first, last string
	for _, d := range append(append([]sundial.CalendarDay{}, c.Holidays...), c.WorkingDays...) {
		if first == "" || d.Date < first {
			first = d.Date
		}
		if d.Date > last {
			last = d.Date
		}
	}
	if first == "" {
		return "no days"
	}
	return first + " … " + last
}

// weekday is the short name of a date's day of the week.
func weekday(date string) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return ""
	}
	return d.Weekday().String()[:3]
}
