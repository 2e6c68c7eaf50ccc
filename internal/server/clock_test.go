package server

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
)

// aheadClock is a store whose own clock (sundial.Clock) is ahead of this
// host's by off.
type aheadClock struct {
	sundial.Store
	off time.Duration
}

func (s aheadClock) Now(context.Context) (time.Time, error) { return time.Now().Add(s.off), nil }

// TestClockSkewFailsReadinessAndShowsInMetrics: a node whose clock is
// further from the store's than the allowed skew is not ready, with a
// reason naming the offset; /metrics has the offset, whether it is
// skewed, the lease TTL and the cluster-wide pause.
func TestClockSkewFailsReadinessAndShowsInMetrics(t *testing.T) {
	ctx := context.Background()
	st, s, m := skewedNode(t, 90*time.Second, 6*time.Second)
	var stopping atomicBool
	waitFor(t, "the loop to tick", func() bool { return !s.Status().LastTick.IsZero() })
	reason := notReady(ctx, &stopping.Bool, st, s, true, 50*time.Millisecond)
	if !strings.Contains(reason, "clock skewed") || !strings.Contains(reason, "1m30s") {
		t.Errorf("readiness of a skewed node: %q, want the clock skew and its offset", reason)
	}
	// An API-only node is judged the same way.
	if reason := notReady(ctx, &stopping.Bool, st, s, false, 50*time.Millisecond); !strings.Contains(reason, "clock skewed") {
		t.Errorf("readiness of a skewed API-only node: %q", reason)
	}
	if err := s.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	got := gauges(t, m)
	if off := got["sundial_clock_offset_seconds"]; off < 89 || off > 91 {
		t.Errorf("sundial_clock_offset_seconds = %v, want about 90", off)
	}
	for name, want := range map[string]float64{"sundial_clock_skewed": 1, "sundial_lease_ttl_seconds": 6, "sundial_scheduler_paused": 1} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
}

// TestNoSkewIsReady: a store clock within the allowed skew leaves the
// node ready and the gauges at zero.
func TestNoSkewIsReady(t *testing.T) {
	ctx := context.Background()
	st, s, m := skewedNode(t, 300*time.Millisecond, 0)
	var stopping atomicBool
	waitFor(t, "readiness", func() bool { return notReady(ctx, &stopping.Bool, st, s, true, 50*time.Millisecond) == "" })
	got := gauges(t, m)
	if got["sundial_clock_skewed"] != 0 || got["sundial_scheduler_paused"] != 0 || got["sundial_lease_ttl_seconds"] != 15 {
		t.Errorf("gauges = %v", got)
	}
}

// gauges returns the values of the registry's unlabelled gauges.
func gauges(t *testing.T, m *metrics) map[string]float64 {
	t.Helper()
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, metric := range f.GetMetric() {
			if g := metric.GetGauge(); g != nil && len(metric.GetLabel()) == 0 {
				out[f.GetName()] = g.GetValue()
			}
		}
	}
	return out
}

// skewedNode starts a scheduler on a SQLite store whose clock is off ahead
// of this host's, with metrics watching it; all is stopped after the test.
func skewedNode(t *testing.T, off, leaseTTL time.Duration) (sundial.Store, *sundial.Scheduler, *metrics) {
	t.Helper()
	ctx := context.Background()
	st, _, closeStore, err := OpenStore(ctx, "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeStore)
	s, err := sundial.New(sundial.Config{Store: aheadClock{Store: st, off: off}, Logger: slog.New(slog.DiscardHandler),
		MaxSleep: 50 * time.Millisecond, LeaseTTL: leaseTTL})
	if err != nil {
		t.Fatal(err)
	}
	m := newMetrics()
	mctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	m.watch(mctx, s)
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(ctx) })
	return st, s, m
}
