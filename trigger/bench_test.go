package trigger

import (
	"testing"
	"time"
)

// Benchmarks for the figures in docs/benchmarks.md:
//
//	go test ./trigger -run '^$' -bench . -benchmem -count 10 | tee new.txt
//	benchstat new.txt

var benchExprs = []struct{ name, expr string }{
	{"every5min", "*/5 * * * *"},
	{"weekdays9am", "0 9 * * 1-5"},
	{"every10s", "*/10 * * * * *"},
	{"feb29", "0 0 29 2 *"},
	{"feb29orMonday", "0 0 29 2 1"},
}

var sink time.Time

func BenchmarkNext(b *testing.B) {
	for _, zone := range []string{"UTC", "America/New_York"} {
		loc := mustZone(b, zone)
		for _, e := range benchExprs {
			b.Run(zone+"/"+e.name, func(b *testing.B) {
				c := mustCron(b, Crontab, e.expr, CronOptions{Location: loc})
				start := time.Date(2026, 3, 7, 12, 34, 56, 0, loc)
				b.ReportAllocs()
				t := start
				for b.Loop() {
					t = c.Next(t, start)
					if t.Year() > 2400 {
						t = start
					}
				}
				sink = t
			})
		}
	}
}

func BenchmarkNextQuartz(b *testing.B) {
	c := mustCron(b, Quartz, "0 0 10 ? * 6#3", CronOptions{})
	start := time.Date(2026, 3, 7, 12, 34, 56, 0, time.UTC)
	b.ReportAllocs()
	t := start
	for b.Loop() {
		t = c.Next(t, start)
		if t.Year() > 2400 {
			t = start
		}
	}
	sink = t
}

func BenchmarkParse(b *testing.B) {
	for _, e := range benchExprs {
		b.Run(e.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseCron(Crontab, e.expr, CronOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
