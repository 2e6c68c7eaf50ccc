package trigger

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Fire times below were worked out by hand from a calendar: 2026-01-01 is a
// Thursday, 2027-01-01 a Friday, 2044-02-29 the first Monday 29 February
// after 2016.
func TestCronNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dialect Dialect
		expr    string
		from    string
		want    []string
	}{
		// crontab
		{Crontab, "*/5 * * * *", "2026-01-01T00:00:30Z", []string{"2026-01-01T00:05:00Z", "2026-01-01T00:10:00Z", "2026-01-01T00:15:00Z"}},
		{Crontab, "*/5 * * * *", "2026-01-01T00:05:00Z", []string{"2026-01-01T00:05:00Z", "2026-01-01T00:10:00Z"}},
		{Crontab, "0 9 * * 1-5", "2026-01-01T10:00:00Z", []string{"2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z"}},
		{Crontab, "0 9 * * MON-fri", "2026-01-01T10:00:00Z", []string{"2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z"}},
		{Crontab, "0 0 29 2 *", "2026-01-01T00:00:00Z", []string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z"}},
		{Crontab, "0 0 29 2 1", "2026-01-01T00:00:00Z", []string{"2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z", "2026-02-16T00:00:00Z", "2026-02-23T00:00:00Z", "2027-02-01T00:00:00Z"}},
		{Crontab, "0 0 1-3 * 1", "2026-01-01T00:00:00Z", []string{"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z"}},
		{Crontab, "0 0 */10 * *", "2026-01-01T00:00:00Z", []string{"2026-01-01T00:00:00Z", "2026-01-11T00:00:00Z", "2026-01-21T00:00:00Z", "2026-01-31T00:00:00Z", "2026-02-01T00:00:00Z"}},
		{Crontab, "59 23 31 12 *", "2026-12-31T23:59:00Z", []string{"2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"}},
		{Crontab, "59 23 31 12 *", "2026-12-31T23:59:01Z", []string{"2027-12-31T23:59:00Z"}},
		{Crontab, "0 0 31 * *", "2026-01-31T00:00:01Z", []string{"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"}},
		{Crontab, "0 12 * * 7", "2026-01-01T00:00:00Z", []string{"2026-01-04T12:00:00Z", "2026-01-11T12:00:00Z"}},
		{Crontab, "0 12 * * sun", "2026-01-01T00:00:00Z", []string{"2026-01-04T12:00:00Z"}},
		{Crontab, "30 * * * * *", "2026-01-01T00:00:00Z", []string{"2026-01-01T00:00:30Z", "2026-01-01T00:01:30Z"}},
		{Crontab, "*/20 * * * * *", "2026-01-01T00:00:00.5Z", []string{"2026-01-01T00:00:20Z", "2026-01-01T00:00:40Z", "2026-01-01T00:01:00Z"}},
		{Crontab, "0 0 1 jan,JUL *", "2026-02-01T00:00:00Z", []string{"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
		{Crontab, "10-40/10 8 * * *", "2026-01-01T00:00:00Z", []string{"2026-01-01T08:10:00Z", "2026-01-01T08:20:00Z", "2026-01-01T08:30:00Z", "2026-01-01T08:40:00Z", "2026-01-02T08:10:00Z"}},
		{Crontab, "@yearly", "2026-06-01T00:00:00Z", []string{"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
		{Crontab, "@monthly", "2026-01-15T00:00:00Z", []string{"2026-02-01T00:00:00Z"}},
		{Crontab, "@weekly", "2026-01-01T00:00:00Z", []string{"2026-01-04T00:00:00Z"}},
		{Crontab, "@daily", "2026-01-01T00:00:01Z", []string{"2026-01-02T00:00:00Z"}},
		{Crontab, "@hourly", "2026-01-01T00:00:01Z", []string{"2026-01-01T01:00:00Z"}},
		{Crontab, "@every 90s", "2026-01-01T00:00:00Z", []string{"2026-01-01T00:01:30Z", "2026-01-01T00:03:00Z"}},
		{Crontab, "CRON_TZ=Asia/Shanghai 0 9 * * *", "2026-01-01T02:00:00Z", []string{"2026-01-02T09:00:00+08:00", "2026-01-03T09:00:00+08:00"}},
		{Crontab, "TZ=America/New_York 0 9 * * *", "2026-01-01T00:00:00Z", []string{"2026-01-01T09:00:00-05:00"}},
		// quartz
		{Quartz, "0 0 10 ? * 6#3", "2026-01-01T00:00:00Z", []string{"2026-01-16T10:00:00Z", "2026-02-20T10:00:00Z", "2026-03-20T10:00:00Z"}},
		{Quartz, "0 0 10 ? * FRI#5", "2026-01-01T00:00:00Z", []string{"2026-01-30T10:00:00Z", "2026-05-29T10:00:00Z"}},
		{Quartz, "0 0 10 LW * ?", "2026-01-01T00:00:00Z", []string{"2026-01-30T10:00:00Z", "2026-02-27T10:00:00Z", "2026-03-31T10:00:00Z"}},
		{Quartz, "0 15 10 L-3 * ?", "2026-01-01T00:00:00Z", []string{"2026-01-28T10:15:00Z", "2026-02-25T10:15:00Z", "2026-03-28T10:15:00Z"}},
		{Quartz, "0 0 0 L * ?", "2028-01-01T00:00:00Z", []string{"2028-01-31T00:00:00Z", "2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z"}},
		{Quartz, "0 0 12 15W * ?", "2026-01-01T00:00:00Z", []string{"2026-01-15T12:00:00Z", "2026-02-16T12:00:00Z", "2026-03-16T12:00:00Z", "2026-04-15T12:00:00Z"}},
		{Quartz, "0 0 12 1W * ?", "2026-07-02T00:00:00Z", []string{"2026-08-03T12:00:00Z"}},
		{Quartz, "0 0 12 31W * ?", "2026-01-01T00:00:00Z", []string{"2026-01-30T12:00:00Z", "2026-03-31T12:00:00Z"}},
		{Quartz, "0 15 10 ? * 6L 2027", "2026-01-01T00:00:00Z", []string{"2027-01-29T10:15:00Z", "2027-02-26T10:15:00Z"}},
		{Quartz, "0 0 22-2 * * ?", "2026-01-01T03:00:00Z", []string{"2026-01-01T22:00:00Z", "2026-01-01T23:00:00Z", "2026-01-02T00:00:00Z", "2026-01-02T01:00:00Z", "2026-01-02T02:00:00Z", "2026-01-02T22:00:00Z"}},
		{Quartz, "0 0 12 ? * MON-FRI", "2026-01-01T00:00:00Z", []string{"2026-01-01T12:00:00Z", "2026-01-02T12:00:00Z", "2026-01-05T12:00:00Z"}},
		{Quartz, "0 0 0 ? * L", "2026-01-01T00:00:00Z", []string{"2026-01-03T00:00:00Z"}},
		{Quartz, "0 0 0 ? * 1", "2026-01-01T00:00:00Z", []string{"2026-01-04T00:00:00Z"}},
		{Quartz, "0 0 0 1 1 ? 2030/5", "2026-01-01T00:00:00Z", []string{"2030-01-01T00:00:00Z", "2035-01-01T00:00:00Z"}},
		{Quartz, "0 0 0 1 1 ? 2199", "2026-01-01T00:00:00Z", []string{"2199-01-01T00:00:00Z"}},
		{Quartz, "0/15 * * * * ?", "2026-01-01T00:00:01Z", []string{"2026-01-01T00:00:15Z", "2026-01-01T00:00:30Z"}},
		// apscheduler
		{APScheduler, `{"day_of_week": "mon-fri", "hour": 9}`, "2026-01-01T10:00:00Z", []string{"2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z"}},
		{APScheduler, `{"day_of_week": 6, "hour": "9"}`, "2026-01-01T00:00:00Z", []string{"2026-01-04T09:00:00Z"}},
		{APScheduler, `{"day": "last fri", "hour": 9}`, "2026-01-01T00:00:00Z", []string{"2026-01-30T09:00:00Z", "2026-02-27T09:00:00Z"}},
		{APScheduler, `{"day": "2nd mon"}`, "2026-01-01T00:00:00Z", []string{"2026-01-12T00:00:00Z", "2026-02-09T00:00:00Z"}},
		{APScheduler, `{"day": "last"}`, "2026-01-01T00:00:00Z", []string{"2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z"}},
		{APScheduler, `{"minute": "*/20"}`, "2026-01-01T00:05:00Z", []string{"2026-01-01T00:20:00Z", "2026-01-01T00:40:00Z", "2026-01-01T01:00:00Z"}},
		{APScheduler, `{"hour": "*/6", "minute": 30}`, "2026-01-01T00:00:00Z", []string{"2026-01-01T00:30:00Z", "2026-01-01T06:30:00Z"}},
		{APScheduler, `{"year": 2027, "month": "jan-feb", "day": 1}`, "2026-01-01T00:00:00Z", []string{"2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"}},
		{APScheduler, `{"week": 2, "day_of_week": "mon"}`, "2026-01-01T00:00:00Z", []string{"2026-01-05T00:00:00Z", "2027-01-11T00:00:00Z"}},
		{APScheduler, `{"month": 2, "day": 29, "day_of_week": "mon"}`, "2026-01-01T00:00:00Z", []string{"2044-02-29T00:00:00Z", "2072-02-29T00:00:00Z"}},
		{APScheduler, `{"second": "*/15"}`, "2026-01-01T00:00:01Z", []string{"2026-01-01T00:00:15Z", "2026-01-01T00:00:30Z"}},
		{APScheduler, `{"hour": 9, "second": "*"}`, "2026-01-01T09:59:58Z", []string{"2026-01-01T09:59:58Z", "2026-01-01T09:59:59Z", "2026-01-02T09:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.dialect)+" "+tt.expr, func(t *testing.T) {
			c := mustCron(t, tt.dialect, tt.expr, CronOptions{})
			got := fires(c, mustTime(t, tt.from), len(tt.want))
			if !equalStrings(got, tt.want) {
				t.Errorf("from %s:\n got %v\nwant %v", tt.from, got, tt.want)
			}
		})
	}
}

func TestCronParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dialect Dialect
		expr    string
		want    string
	}{
		{Crontab, "0 24 * * *", `crontab: field "hour": 24 is out of range 0-23`},
		{Crontab, "60 * * * *", `crontab: field "minute": 60 is out of range 0-59`},
		{Crontab, "0 0 0 * *", `crontab: field "day-of-month": 0 is out of range 1-31`},
		{Crontab, "0 0 * 13 *", `crontab: field "month": 13 is out of range 1-12`},
		{Crontab, "0 0 * * 8", `crontab: field "day-of-week": 8 is out of range 0-7`},
		{Crontab, "0 0 * * fry", `crontab: field "day-of-week": "fry" is not a valid value`},
		{Crontab, "*/0 * * * *", `crontab: field "minute": "*/0": step "0" must be a whole number of at least 1`},
		{Crontab, "30-10 * * * *", `crontab: field "minute": "30-10": range start 30 is after its end 10`},
		{Crontab, "0 0 30 2 *", `crontab: field "expression": no date matches all fields: the schedule never fires`},
		{Crontab, "0 0 31 4,6 *", `crontab: field "expression": no date matches all fields: the schedule never fires`},
		{Crontab, "* * * *", `crontab: field "expression": expected 5 fields (minute hour day-of-month month day-of-week) or 6 with leading seconds, got 4 in "* * * *"`},
		{Crontab, "", `crontab: field "expression": expected 5 fields (minute hour day-of-month month day-of-week) or 6 with leading seconds, got 0 in ""`},
		{Crontab, "0 0 ? * *", `crontab: field "day-of-month": "?" is Quartz syntax: use "*" in the crontab dialect`},
		{Crontab, "@reboot", `crontab: field "expression": "@reboot" is not one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @every`},
		{Crontab, "@every -5s", `crontab: field "@every": "-5s" is not a positive Go duration such as 90s or 1h30m`},
		{Crontab, "CRON_TZ=Mars/Olympus 0 9 * * *", `crontab: field "CRON_TZ": "Mars/Olympus" is not a known IANA time zone such as Europe/London or UTC`},
		{Crontab, "1,,2 * * * *", `crontab: field "minute": empty value`},
		{Crontab, "+5 * * * *", `crontab: field "minute": "+5" is not a valid value`},
		{Quartz, "0 0 12 * * *", `quartz: field "day-of-week": one of day-of-month ("*") and day-of-week ("*") must be "?", as Quartz requires`},
		{Quartz, "0 0 12 ? * ?", `quartz: field "day-of-week": "?" may stand in day-of-month or day-of-week, not both`},
		{Quartz, "0 0 12 * * ? 2200", `quartz: field "year": 2200 is out of range 1970-2199`},
		{Quartz, "0 0 12 ? * 8", `quartz: field "day-of-week": 8 is out of range 1-7`},
		{Quartz, "0 0 12 ? * 6#6", `quartz: field "day-of-week": "6#6": the number after # must be 1-5`},
		{Quartz, "0 0 12 L-31 * ?", `quartz: field "day-of-month": "L-31": the offset from the last day must be 0-30`},
		{Quartz, "0 0 12 1-5W * ?", `quartz: field "day-of-month": "1-5W": W needs one day 1-31 before it, as in 15W`},
		{Quartz, "0 0 12 * *", `quartz: field "expression": expected 6 fields (second minute hour day-of-month month day-of-week) or 7 with a trailing year, got 5 in "0 0 12 * *"`},
		{Quartz, "? 0 12 * * ?", `quartz: field "second": "?" is allowed only in day-of-month or day-of-week`},
		{Quartz, "0 0 0 30 2 ?", `quartz: field "expression": no date matches all fields: the schedule never fires`},
		{APScheduler, `{"hour": 24}`, `apscheduler: field "hour": 24 is out of range 0-23`},
		{APScheduler, `{"hours": 2}`, `apscheduler: field "hours": unknown field "hours": expected one of year, month, day, week, day_of_week, hour, minute, second`},
		{APScheduler, `{"day_of_week": 7}`, `apscheduler: field "day_of_week": 7 is out of range 0-6`},
		{APScheduler, `{"day": "3rd funday"}`, `apscheduler: field "day": "3rd funday" is not a weekday position such as "2nd mon" or "last fri"`},
		{APScheduler, `{"hour": 1.5}`, `apscheduler: field "hour": must be a string or a whole number, got 1.5`},
		{APScheduler, `{"month": 2, "day": 30}`, `apscheduler: field "expression": no date matches all fields: the schedule never fires`},
		{APScheduler, `[1]`, `apscheduler: field "expression": expected a JSON object of fields such as {"day_of_week": "mon-fri", "hour": 9}: json: cannot unmarshal array into Go value of type map[string]json.RawMessage`},
		{"fortran", "* * * * *", `cron: field "dialect": "fortran" is not one of crontab, quartz, apscheduler`},
	}
	for _, tt := range tests {
		t.Run(string(tt.dialect)+" "+tt.expr, func(t *testing.T) {
			_, err := ParseCron(tt.dialect, tt.expr, CronOptions{})
			if err == nil {
				t.Fatalf("ParseCron(%q) succeeded, want error %q", tt.expr, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("ParseCron(%q) error:\n got %s\nwant %s", tt.expr, err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error is %T, want *ParseError", err)
			}
		})
	}
}

func TestNeverFiresIsCheckable(t *testing.T) {
	t.Parallel()
	_, err := ParseCron(Crontab, "0 0 30 2 *", CronOptions{})
	if !errors.Is(err, ErrNeverFires) {
		t.Fatalf("error %v does not wrap ErrNeverFires", err)
	}
}

// TestCronCanonicalRoundTrip checks that String is canonical: it parses back
// to the same schedule, and formatting that again gives the same text.
func TestCronCanonicalRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dialect Dialect
		expr    string
		want    string
	}{
		{Crontab, "*/5 * * * *", "*/5 * * * *"},
		{Crontab, "0 9 * * MON-FRI", "0 9 * * 1-5"},
		{Crontab, "0 0 * * 5-7", "0 0 * * 0,5,6"},
		{Crontab, "@daily", "0 0 * * *"},
		{Crontab, "0 0-23 * * *", "0 0-23 * * *"},
		{Crontab, "0 */12 * * *", "0 */12 * * *"},
		{Crontab, "0 0 */2 * *", "0 0 1-31/2 * *"},
		{Crontab, "0 0 1-31 * *", "0 0 1-31 * *"},
		{Crontab, "*/10 * * * * *", "*/10 * * * * *"},
		{Crontab, "0,15,30,45 * * * *", "*/15 * * * *"},
		{Crontab, "1,2,3,5 * * * *", "1-3,5 * * * *"},
		{Crontab, "CRON_TZ=Europe/London 0 9 * * *", "CRON_TZ=Europe/London 0 9 * * *"},
		{Crontab, "@every 1h30m", "@every 1h30m0s"},
		{Quartz, "0 0 10 ? * FRI#3", "0 0 10 ? * 6#3"},
		{Quartz, "0 0 10 L,15W * ?", "0 0 10 L,15W * ?"},
		{Quartz, "0 0 10 ? * 2-6 2027-2030", "0 0 10 ? * 2-6 2027-2030"},
		{Quartz, "0 0 10 * * ?", "0 0 10 * * ?"},
		{APScheduler, `{"day_of_week": "mon-fri", "hour": 9}`, `{"day_of_week": "mon-fri", "hour": "9", "minute": "0", "second": "0"}`},
		{APScheduler, `{"hour": 9, "second": "*"}`, `{"hour": "9", "minute": "*", "second": "*"}`},
		{APScheduler, `{}`, `{}`},
		{APScheduler, `{"day": "last fri,1st mon"}`, `{"day": "1st mon,last fri", "hour": "0", "minute": "0", "second": "0"}`},
	}
	for _, tt := range tests {
		t.Run(string(tt.dialect)+" "+tt.expr, func(t *testing.T) {
			c := mustCron(t, tt.dialect, tt.expr, CronOptions{})
			got := c.String()
			if got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			again := mustCron(t, tt.dialect, got, CronOptions{})
			if !reflect.DeepEqual(c, again) {
				t.Errorf("%q and its canonical form %q parse to different schedules:\n%+v\n%+v", tt.expr, got, c, again)
			}
		})
	}
}

func TestCronDescribe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dialect Dialect
		expr    string
		want    string
	}{
		{Crontab, "0 9 * * 1-5", "At 09:00, Monday through Friday"},
		{Crontab, "*/5 * * * *", "Every 5 minutes"},
		{Crontab, "*/10 * * * * *", "Every 10 seconds"},
		{Crontab, "@hourly", "Every hour, on the hour"},
		{Crontab, "*/15 9-17 * * *", "Every 15 minutes, between 09:00 and 17:59"},
		{Crontab, "0 9,12,18 * * *", "At 09:00, 12:00 and 18:00"},
		{Crontab, "0 0 29 2 1", "At 00:00, on day 29 of the month or on Monday, in February"},
		{Crontab, "0 0 * * 6,0", "At 00:00, on Saturday and Sunday"},
		{Quartz, "0 0 10 ? * 6#3", "At 10:00, on the third Friday of the month"},
		{Quartz, "0 0 10 LW * ?", "At 10:00, on the last weekday of the month"},
		{Quartz, "0 15 10 ? * 6L 2027-2030", "At 10:15, on the last Friday of the month, in 2027 through 2030"},
		{APScheduler, `{"day": "last fri", "hour": 9}`, "At 09:00, on the last Friday of the month"},
		{APScheduler, `{"month": 2, "day": 29, "day_of_week": "mon"}`, "At 00:00, on day 29 of the month, if it is Monday, in February"},
	}
	for _, tt := range tests {
		if got := mustCron(t, tt.dialect, tt.expr, CronOptions{}).Describe(); got != tt.want {
			t.Errorf("Describe(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

func TestCronStartEnd(t *testing.T) {
	t.Parallel()
	c := mustCron(t, Crontab, "0 9 * * *", CronOptions{
		Start: mustTime(t, "2026-01-10T00:00:00Z"),
		End:   mustTime(t, "2026-01-12T09:00:00Z"),
	})
	got := fires(c, mustTime(t, "2026-01-01T00:00:00Z"), 5)
	want := []string{"2026-01-10T09:00:00Z", "2026-01-11T09:00:00Z", "2026-01-12T09:00:00Z"}
	if !equalStrings(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestCronNeverLoops checks that searches end: a schedule whose only years
// have passed returns zero at once.
func TestCronNeverLoops(t *testing.T) {
	t.Parallel()
	c := mustCron(t, Quartz, "0 0 0 1 1 ? 1999", CronOptions{})
	if got := c.Next(time.Time{}, mustTime(t, "2026-01-01T00:00:00Z")); !got.IsZero() {
		t.Errorf("Next = %v, want zero (the only year has passed)", got)
	}
	far := mustCron(t, Crontab, "0 0 29 2 *", CronOptions{})
	if got := far.Next(time.Time{}, mustTime(t, "9999-03-01T00:00:00Z")); !got.IsZero() {
		t.Errorf("Next after year 9999 = %v, want zero", got)
	}
}

func TestDialectIsNeverGuessed(t *testing.T) {
	t.Parallel()
	// "1" is Monday in crontab and Sunday in Quartz.
	cron := mustCron(t, Crontab, "0 0 0 * * 1", CronOptions{})
	quartz := mustCron(t, Quartz, "0 0 0 ? * 1", CronOptions{})
	from := mustTime(t, "2026-01-01T00:00:00Z")
	if got := fires(cron, from, 1)[0]; got != "2026-01-05T00:00:00Z" {
		t.Errorf("crontab day 1 fired %s, want Monday 2026-01-05", got)
	}
	if got := fires(quartz, from, 1)[0]; got != "2026-01-04T00:00:00Z" {
		t.Errorf("quartz day 1 fired %s, want Sunday 2026-01-04", got)
	}
	if _, err := ParseCron(Crontab, "0 0 12 ? * 6#3", CronOptions{}); err == nil || !strings.Contains(err.Error(), "crontab") {
		t.Errorf("a Quartz expression parsed as crontab: err = %v", err)
	}
}
