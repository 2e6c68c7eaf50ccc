package trigger

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// TestAgainstRobfig compares fire times with github.com/robfig/cron/v3 over
// random 5-field expressions and start times, in zones where the two agree
// by design: no daylight-saving change (robfig leaves those to time.Date),
// weekdays 0-6 (robfig has no 7), and no "*/1" in the day fields (robfig
// treats it as "*" for the day-of-month/day-of-week rule; Sundial, like the
// issue's rule, only a bare "*").
func TestAgainstRobfig(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(2026, 11))
	zones := []*time.Location{time.UTC, mustZone(t, "Asia/Shanghai"), time.FixedZone("+0530", 5*3600+1800)}
	compared := 0
	for i := range 3000 {
		expr := randomCrontab(rng)
		_, err := ParseCron(Crontab, expr, CronOptions{})
		theirs, theirErr := cron.ParseStandard(expr)
		if theirErr != nil {
			t.Fatalf("robfig rejects generated %q: %v", expr, theirErr)
		}
		if err != nil {
			// Sundial rejects schedules that can never fire; robfig accepts them.
			if probe := theirs.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); !probe.IsZero() {
				t.Fatalf("Sundial rejects %q (%v) but robfig fires it at %s", expr, err, probe)
			}
			continue
		}
		loc := zones[i%len(zones)]
		ours := mustCron(t, Crontab, expr, CronOptions{Location: loc})
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Add(time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
		t1, t2 := from, from
		for step := 0; step < 5; step++ {
			want := theirs.Next(t1.In(loc))
			if want.IsZero() {
				break // robfig gives up after five years; Sundial keeps looking
			}
			got := ours.Next(t2, from)
			if !got.Equal(want) {
				t.Fatalf("%q in %s after %s: Sundial %s, robfig %s", expr, loc, t1, got, want)
			}
			t1, t2 = want, got
			compared++
		}
	}
	if compared < 10000 {
		t.Errorf("compared only %d fire times", compared)
	}
}

func randomCrontab(rng *rand.Rand) string {
	fields := []struct{ min, max int }{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 6}}
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = randomField(rng, f.min, f.max, i >= 2)
	}
	return strings.Join(parts, " ")
}

func randomField(rng *rand.Rand, min, max int, dayField bool) string {
	span := max - min + 1
	value := func() int { return min + rng.IntN(span) }
	switch rng.IntN(7) {
	case 0, 1:
		return "*"
	case 2:
		return fmt.Sprint(value())
	case 3:
		a, b := value(), value()
		if a > b {
			a, b = b, a
		}
		return fmt.Sprintf("%d-%d", a, b)
	case 4:
		step := 2 + rng.IntN(span/2+1)
		if !dayField && rng.IntN(2) == 0 {
			step = 1 + rng.IntN(span/2+1)
		}
		return fmt.Sprintf("*/%d", step)
	case 5:
		a, b := value(), value()
		if a > b {
			a, b = b, a
		}
		return fmt.Sprintf("%d-%d/%d", a, b, 1+rng.IntN(5))
	default:
		n := 2 + rng.IntN(3)
		vals := make([]string, n)
		for i := range vals {
			vals[i] = fmt.Sprint(value())
		}
		return strings.Join(vals, ",")
	}
}
