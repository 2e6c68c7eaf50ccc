// Package bench compares Sundial with other schedulers on the same
// workloads. It is its own module so that the libraries it measures
// against never become dependencies of Sundial itself.
//
//	cd bench && go test -run '^$' -bench . -benchmem -count 10 | tee cron.txt
//	benchstat -col /impl cron.txt
package bench

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/sundialhq/sundial/trigger"
	_ "time/tzdata"
)

var cronCases = []struct{ name, expr string }{
	{"every5min", "*/5 * * * *"},
	{"weekdays9am", "0 9 * * 1-5"},
	{"every10s", "*/10 * * * * *"},
	{"feb29", "0 0 29 2 *"},
	{"feb29orMonday", "0 0 29 2 1"},
}

var sink time.Time

// robfigParser accepts an optional leading seconds field, as crontab does in Sundial.
var robfigParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// BenchmarkCronNext steps each schedule forward from 2026-03-07, starting
// over every simulated year so that every call sees present-day dates.
func BenchmarkCronNext(b *testing.B) {
	for _, zone := range []string{"UTC", "America/New_York"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Date(2026, 3, 7, 12, 34, 56, 0, loc)
		horizon := start.AddDate(1, 0, 0)
		for _, c := range cronCases {
			b.Run("zone="+zone+"/expr="+c.name+"/impl=sundial", func(b *testing.B) {
				s, err := trigger.ParseCron(trigger.Crontab, c.expr, trigger.CronOptions{Location: loc})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				t := start
				for b.Loop() {
					if t = s.Next(t, start); t.After(horizon) {
						t = start
					}
				}
				sink = t
			})
			b.Run("zone="+zone+"/expr="+c.name+"/impl=robfig", func(b *testing.B) {
				s, err := robfigParser.Parse("CRON_TZ=" + zone + " " + c.expr)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				t := start
				for b.Loop() {
					if t = s.Next(t); t.After(horizon) || t.IsZero() {
						t = start
					}
				}
				sink = t
			})
		}
	}
}

func BenchmarkCronParse(b *testing.B) {
	for _, c := range cronCases {
		b.Run("expr="+c.name+"/impl=sundial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := trigger.ParseCron(trigger.Crontab, c.expr, trigger.CronOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("expr="+c.name+"/impl=robfig", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := robfigParser.Parse(c.expr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
