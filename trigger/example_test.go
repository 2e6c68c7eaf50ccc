package trigger_test

import (
	"encoding/json"
	"fmt"
	"time"
	_ "time/tzdata" // the outputs must not depend on the machine's zoneinfo

	"github.com/sundialhq/sundial/trigger"
)

// A weekday-morning job in London. The spec is what a job stores; Build
// turns it into the trigger the scheduler asks for fire times.
func ExampleCronExpr() {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	spec := trigger.CronExpr("0 9 * * 1-5", trigger.In(london))

	t, err := spec.Build()
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC) // a Friday; clocks go forward on Sunday
	var next time.Time
	for range 3 {
		next = t.Next(next, now)
		fmt.Println(next.Format("Mon 2006-01-02 15:04 MST"))
	}
	// Output:
	// Mon 2026-03-30 09:00 BST
	// Tue 2026-03-31 09:00 BST
	// Wed 2026-04-01 09:00 BST
}

// A Quartz (xxl-job) expression: 10:00 on the third Friday of the month.
// The dialect is always named, because the same text means different
// things in different dialects.
func ExampleCronExpr_quartz() {
	t, err := trigger.CronExpr("0 0 10 ? * 6#3", trigger.Quartz, trigger.InZone("Europe/Paris")).Build()
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var next time.Time
	for range 3 {
		next = t.Next(next, now)
		fmt.Println(next.Format("Mon 2006-01-02 15:04 MST"))
	}
	// Output:
	// Fri 2026-01-16 10:00 CET
	// Fri 2026-02-20 10:00 CET
	// Fri 2026-03-20 10:00 CET
}

// 01:30 does not exist in London on the day clocks go forward. By default
// the job fires once just after the gap; SkipGap drops that day instead.
func ExampleCronExpr_daylightSaving() {
	spec := trigger.CronExpr("30 1 * * *", trigger.InZone("Europe/London"), trigger.SkipGap)
	t, err := spec.Build()
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC)
	var next time.Time
	for range 2 {
		next = t.Next(next, now)
		fmt.Println(next.Format("Mon 2006-01-02 15:04 MST"))
	}
	// Output:
	// Sat 2026-03-28 01:30 GMT
	// Mon 2026-03-30 01:30 BST
}

// A schedule ported from a Flask-APScheduler config keeps its fields, and
// their meaning: day_of_week counts from Monday.
func ExampleAPSchedulerCron() {
	spec := trigger.APSchedulerCron(trigger.CronFields{DayOfWeek: "mon-fri", Hour: "9"},
		trigger.InZone("Asia/Shanghai"))
	b, err := json.Marshal(spec)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))

	t, err := spec.Build()
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC) // a Friday
	var next time.Time
	for range 2 {
		next = t.Next(next, now)
		fmt.Println(next.Format("Mon 2006-01-02 15:04 MST"))
	}
	// Output:
	// {"type":"cron","dialect":"apscheduler","fields":{"day_of_week":"mon-fri","hour":"9"},"timezone":"Asia/Shanghai"}
	// Mon 2026-01-05 09:00 CST
	// Tue 2026-01-06 09:00 CST
}

// Every 90 seconds from a fixed start, which anchors the grid: the JSON is
// what a person would write, and the fire times stay on the grid.
func ExampleEvery() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	spec := trigger.Every(90*time.Second, trigger.From(start))
	b, err := json.Marshal(spec)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))

	t, err := spec.Build()
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 1, 1, 0, 2, 0, 0, time.UTC)
	var next time.Time
	for range 3 {
		next = t.Next(next, now)
		fmt.Println(next.Format(time.TimeOnly))
	}
	// Output:
	// {"type":"interval","seconds":90,"start_date":"2026-01-01T00:00:00Z"}
	// 00:03:00
	// 00:04:30
	// 00:06:00
}

// Hourly jobs spread over five minutes. The delay is a function of the seed
// and the fire time, so every replica computes the same fire times.
func ExampleEvery_jitter() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	spec := trigger.Every(time.Hour, trigger.From(start), trigger.MaxJitter(5*time.Minute), trigger.JitterSeed(42))
	t, err := spec.Build()
	if err != nil {
		panic(err)
	}
	var next time.Time
	for range 3 {
		next = t.Next(next, start)
		fmt.Println(next.Format(time.TimeOnly))
	}
	// Output:
	// 00:03:08
	// 01:02:34
	// 02:04:58
}

// Every month at first's wall-clock time, in first's zone; a month without
// the 31st fires on its last day.
func ExampleEveryCalendar() {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	first := time.Date(2026, 1, 31, 9, 0, 0, 0, shanghai)
	t, err := trigger.EveryCalendar(1, trigger.Months, first).Build()
	if err != nil {
		panic(err)
	}
	var next time.Time
	for range 4 {
		next = t.Next(next, first)
		fmt.Println(next.Format("2006-01-02 15:04 MST"))
	}
	// Output:
	// 2026-01-31 09:00 CST
	// 2026-02-28 09:00 CST
	// 2026-03-31 09:00 CST
	// 2026-04-30 09:00 CST
}

// A one-off run. After it has fired, Next returns zero: never again.
func ExampleAt() {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	spec := trigger.At(time.Date(2026, 12, 24, 18, 0, 0, 0, paris), trigger.In(paris))
	t, err := spec.Build()
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	first := t.Next(time.Time{}, now)
	fmt.Println(first.Format("2006-01-02 15:04 MST"))
	fmt.Println(t.Next(first, now).IsZero())
	// Output:
	// 2026-12-24 18:00 CET
	// true
}

// 09:00 on weekdays and 11:00 at weekends, as one job.
func ExampleAnyOf() {
	spec := trigger.AnyOf(
		trigger.CronExpr("0 9 * * 1-5"),
		trigger.CronExpr("0 11 * * 0,6"),
	)
	t, err := spec.Build()
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC) // a Friday
	var next time.Time
	for range 3 {
		next = t.Next(next, now)
		fmt.Println(next.Format("Mon 2006-01-02 15:04"))
	}
	// Output:
	// Sat 2026-01-03 11:00
	// Sun 2026-01-04 11:00
	// Mon 2026-01-05 09:00
}

// Friday the 13th. The crontab expression "0 0 13 * 5" would fire on every
// 13th and every Friday, since crontab ORs its two day fields.
func ExampleAllOf() {
	spec := trigger.AllOf(
		trigger.CronExpr("0 0 13 * *"),
		trigger.CronExpr("0 0 * * 5"),
	)
	t, err := spec.Build()
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var next time.Time
	for range 3 {
		next = t.Next(next, now)
		fmt.Println(next.Format("Mon 2006-01-02"))
	}
	// Output:
	// Fri 2026-02-13
	// Fri 2026-03-13
	// Fri 2026-11-13
}

// Options reach specs whose constructor takes none, such as a combination.
func ExampleSpec_With() {
	spec := trigger.AnyOf(trigger.CronExpr("0 9 * * *"), trigger.CronExpr("0 17 * * *")).
		With(trigger.InZone("America/New_York"))
	b, err := json.Marshal(spec)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output:
	// {"type":"or","triggers":[{"type":"cron","expr":"0 9 * * *"},{"type":"cron","expr":"0 17 * * *"}],"timezone":"America/New_York"}
}

// Build reports invalid input, naming the field; the constructors never
// fail, so they fit inside a job's struct literal.
func ExampleEvery_invalid() {
	_, err := trigger.Every(0).Build()
	fmt.Println(err)
	_, err = trigger.CronExpr("0 24 * * *").Build()
	fmt.Println(err)
	// Output:
	// interval: field "seconds": the interval must be longer than zero: set weeks, days, hours, minutes or seconds
	// crontab: field "hour": 24 is out of range 0-23
}

// 09:00 on China's working days around National Day 2026: Monday to
// Friday, less the holiday, plus the make-up working Saturday (调休). A
// server fills in the dates of a named calendar ([trigger.OnCalendar]);
// a program without one gives them itself.
func ExampleOnDays() {
	spec := trigger.CronExpr("0 9 * * *", trigger.InZone("Asia/Shanghai"), trigger.OnDays(trigger.DayCalendar{
		Rule:        trigger.Workdays,
		Holidays:    []string{"2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07"},
		WorkingDays: []string{"2026-09-20", "2026-10-10"},
	}))
	t, err := spec.Build()
	if err != nil {
		panic(err)
	}
	fmt.Println(trigger.Describe(t))
	now := time.Date(2026, 9, 30, 12, 0, 0, 0, time.UTC)
	var next time.Time
	for range 4 {
		next = t.Next(next, now)
		fmt.Println(next.Format("Mon 2006-01-02 15:04"))
	}
	// Output:
	// At 09:00, on workdays (calendar of 9 dates)
	// Thu 2026-10-08 09:00
	// Fri 2026-10-09 09:00
	// Sat 2026-10-10 09:00
	// Mon 2026-10-12 09:00
}
