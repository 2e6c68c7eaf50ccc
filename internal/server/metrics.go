package server

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sundialhq/sundial"
)

// metrics are the server's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg         *prometheus.Registry
	fires       *prometheus.CounterVec
	lateness    prometheus.Histogram
	durations   *prometheus.HistogramVec
	claimErrors prometheus.Counter
	storeOps    *prometheus.HistogramVec
	authFails   *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		fires: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sundial_fires_total",
			Help: "Scheduled fires handled by this node, by outcome: started, missed or skipped."}, []string{"outcome"}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sundial_fire_lateness_seconds",
			Help:    "How long after its scheduled time a fire started.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 15, 60, 300}}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sundial_run_duration_seconds",
			Help:    "How long runs took, by task and final status.",
			Buckets: prometheus.ExponentialBuckets(.005, 4, 10)}, []string{"task", "status"}),
		claimErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "sundial_claim_errors_total",
			Help: "Claims of due work that failed (the store was unreachable or refused)."}),
		storeOps: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sundial_store_operation_seconds",
			Help:    "Latency of store operations, by operation.",
			Buckets: prometheus.ExponentialBuckets(.0005, 4, 9)}, []string{"op"}),
		authFails: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sundial_auth_failures_total",
			Help: "Failed authentications, by reason: invalid (unknown, revoked or malformed credential), expired (token or session), " +
				"throttled (refused: too many failures from the client)."}, []string{"reason"}),
	}
	for _, reason := range []string{"invalid", "expired", "throttled"} {
		m.authFails.WithLabelValues(reason)
	}
	m.reg.MustRegister(m.fires, m.lateness, m.durations, m.claimErrors, m.storeOps, m.authFails,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// authFailure counts a failed authentication (httpapi.Config.OnAuthFailure).
func (m *metrics) authFailure(reason string) { m.authFails.WithLabelValues(reason).Inc() }

// watch feeds the run metrics from the scheduler's events until ctx ends.
// It subscribes before it returns, so that no early run is missed.
func (m *metrics) watch(ctx context.Context, s *sundial.Scheduler) {
	sub := s.Subscribe(4096, sundial.EventRunStarted, sundial.EventRunSucceeded, sundial.EventRunFailed, sundial.EventRunTimedOut,
		sundial.EventRunInterrupted, sundial.EventRunCanceled, sundial.EventRunMissed, sundial.EventRunSkipped)
	flag := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sundial_runs_running", Help: "Runs executing on this node now."},
			func() float64 { return float64(s.Status().InFlight) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sundial_clock_offset_seconds",
			Help: "The store's clock minus this node's, as last measured (0 for a store on this host's clock)."},
			func() float64 { return s.Status().ClockOffset.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sundial_clock_skewed",
			Help: "1 while this node's clock is further from the store's than the allowed skew (/readyz fails), else 0."},
			func() float64 { return flag(s.Status().ClockSkewed) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sundial_lease_ttl_seconds",
			Help: "How long a claimed run stays this node's without a heartbeat."},
			func() float64 { return s.Status().LeaseTTL.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sundial_scheduler_paused",
			Help: "1 while the scheduler is paused cluster-wide (as this node last read it), else 0."},
			func() float64 { return flag(s.Status().Paused) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sundial_metric_events_dropped_total",
			Help: "Scheduler events the metrics missed because they fell behind."},
			func() float64 { return float64(sub.Dropped()) }))
	go func() {
		<-ctx.Done()
		sub.Close()
	}()
	go m.consume(sub)
}

func (m *metrics) consume(sub *sundial.Subscription) {
	for e := range sub.C {
		r := e.Run
		if r == nil {
			continue
		}
		switch e.Kind {
		case sundial.EventRunStarted:
			if !r.Manual && r.Attempt == 1 {
				m.fires.WithLabelValues("started").Inc()
				m.lateness.Observe(max(r.StartedAt.Sub(r.ScheduledAt), 0).Seconds())
			}
		case sundial.EventRunMissed:
			m.fires.WithLabelValues("missed").Inc()
		case sundial.EventRunSkipped:
			m.fires.WithLabelValues("skipped").Inc()
		default:
			if !r.StartedAt.IsZero() && !r.EndedAt.IsZero() {
				m.durations.WithLabelValues(r.Task, string(r.Status)).Observe(r.EndedAt.Sub(r.StartedAt).Seconds())
			}
		}
	}
}

// instrumented is a store that times every operation and counts failed
// claims. It keeps the optional capabilities of the store it wraps.
type instrumented struct {
	sundial.Store
	m *metrics
}

func (s instrumented) observe(op string, start time.Time) {
	s.m.storeOps.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

func (s instrumented) Claim(ctx context.Context, req sundial.ClaimRequest, plan sundial.PlanFunc) ([]sundial.Run, error) {
	defer s.observe("claim", time.Now())
	runs, err := s.Store.Claim(ctx, req, plan)
	if err != nil && ctx.Err() == nil && !errors.Is(err, sundial.ErrSchedulerPaused) {
		s.m.claimErrors.Inc()
	}
	return runs, err
}

func (s instrumented) NextWake(ctx context.Context, node string) (time.Time, error) {
	defer s.observe("next_wake", time.Now())
	return s.Store.NextWake(ctx, node)
}

func (s instrumented) CreateRun(ctx context.Context, run sundial.Run) error {
	defer s.observe("create_run", time.Now())
	return s.Store.CreateRun(ctx, run)
}

func (s instrumented) UpdateRun(ctx context.Context, run sundial.Run) error {
	defer s.observe("update_run", time.Now())
	return s.Store.UpdateRun(ctx, run)
}

// UpdateRuns keeps batched run updates when the store has them.
func (s instrumented) UpdateRuns(ctx context.Context, runs []sundial.Run) ([]error, error) {
	defer s.observe("update_runs", time.Now())
	if b, ok := s.Store.(sundial.RunBatchUpdater); ok {
		return b.UpdateRuns(ctx, runs)
	}
	answers := make([]error, len(runs))
	for i, r := range runs {
		answers[i] = s.Store.UpdateRun(ctx, r)
	}
	return answers, nil
}

func (s instrumented) GetJob(ctx context.Context, id string) (sundial.Job, error) {
	defer s.observe("get_job", time.Now())
	return s.Store.GetJob(ctx, id)
}

func (s instrumented) Heartbeat(ctx context.Context, req sundial.HeartbeatRequest) (sundial.HeartbeatResult, error) {
	defer s.observe("heartbeat", time.Now())
	return s.Store.Heartbeat(ctx, req)
}

// instrumentedClock is an instrumented store that keeps its store's clock
// (sundial.Clock), so that the scheduler judges time on it.
type instrumentedClock struct {
	instrumented
	clock sundial.Clock
}

func (s instrumentedClock) Now(ctx context.Context) (time.Time, error) {
	defer s.observe("clock", time.Now())
	return s.clock.Now(ctx)
}

// instrument wraps a store in metrics, keeping its optional capabilities.
func instrument(store sundial.Store, m *metrics) sundial.Store {
	in := instrumented{Store: store, m: m}
	if c, ok := store.(sundial.Clock); ok {
		return instrumentedClock{instrumented: in, clock: c}
	}
	return in
}

// Changes keeps the store's change notifications; a store without them
// (SQLite) gives a channel that only closes, which is the same to the
// scheduler as none.
func (s instrumented) Changes(ctx context.Context) <-chan struct{} {
	if n, ok := s.Store.(sundial.ChangeNotifier); ok {
		return n.Changes(ctx)
	}
	ch := make(chan struct{})
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch
}
