package httpapi

import (
	"net/http"
	"time"

	"github.com/sundialhq/sundial"
)

// StatsView is GET /stats: the runs fired in a window, counted by status
// and by hour, with their durations — computed by the store, exact at any
// number of runs.
type StatsView struct {
	Since    time.Time                 `json:"since"`
	Until    time.Time                 `json:"until"`
	Total    int                       `json:"total"`
	ByStatus map[sundial.RunStatus]int `json:"by_status"`
	// Hours has every hour of the window, oldest first, also those
	// without a run.
	Hours     []HourStats   `json:"hours"`
	Durations DurationStats `json:"durations"`
}

// HourStats counts the runs fired in one hour.
type HourStats struct {
	Hour      time.Time                 `json:"hour"`
	Total     int                       `json:"total"`
	ByStatus  map[sundial.RunStatus]int `json:"by_status"`
	Durations DurationStats             `json:"durations"`
}

// DurationStats sums up how long runs took, from start to end.
type DurationStats struct {
	// Timed counts the runs that started and ended.
	Timed         int     `json:"timed"`
	AverageMillis float64 `json:"average_ms"`
	LongestMillis float64 `json:"longest_ms"`
}

type durationSum struct {
	n            int
	total, worst time.Duration
}

func (d *durationSum) add(b sundial.RunBucket) {
	d.n += b.Timed
	d.total += b.Duration
	d.worst = max(d.worst, b.Longest)
}

func (d durationSum) view() DurationStats {
	v := DurationStats{Timed: d.n, LongestMillis: float64(d.worst) / float64(time.Millisecond)}
	if d.n > 0 {
		v.AverageMillis = float64(d.total) / float64(d.n) / float64(time.Millisecond)
	}
	return v
}

// windowParam reads an instant: RFC 3339, or a duration such as 24h meaning
// that long before now.
func windowParam(r *http.Request, name string, def, now time.Time) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, badInput(name, "%q is neither an RFC 3339 time (2026-03-07T00:00:00Z) nor a duration back from now (24h)", s)
}

func (a *API) stats(w http.ResponseWriter, r *http.Request) error {
	now := a.now()
	since, err := windowParam(r, "since", now.Add(-24*time.Hour), now)
	if err != nil {
		return err
	}
	until, err := windowParam(r, "until", now, now)
	if err != nil {
		return err
	}
	switch {
	case !since.Before(until):
		return badInput("since", "%s is not before until %s", since.Format(time.RFC3339), until.Format(time.RFC3339))
	case until.Sub(since) > sundial.MaxStatsWindow:
		return badInput("since", "the window %s is longer than %s", until.Sub(since), sundial.MaxStatsWindow)
	}
	buckets, err := a.s.RunStats(r.Context(), sundial.RunStatsFilter{JobID: r.URL.Query().Get("job_id"), Since: since, Until: until})
	if err != nil {
		return err
	}
	out := StatsView{Since: since.UTC(), Until: until.UTC(), ByStatus: map[sundial.RunStatus]int{}, Hours: []HourStats{}}
	byHour := map[int64]int{}
	first := since.UTC().Truncate(time.Hour)
	var hourSums []durationSum
	for h := first; h.Before(until); h = h.Add(time.Hour) {
		byHour[h.Unix()] = len(out.Hours)
		out.Hours = append(out.Hours, HourStats{Hour: h, ByStatus: map[sundial.RunStatus]int{}})
		hourSums = append(hourSums, durationSum{})
	}
	var all durationSum
	for _, b := range buckets {
		out.Total += b.Count
		out.ByStatus[b.Status] += b.Count
		all.add(b)
		if i, ok := byHour[b.Hour.Unix()]; ok {
			out.Hours[i].Total += b.Count
			out.Hours[i].ByStatus[b.Status] += b.Count
			hourSums[i].add(b)
		}
	}
	for i := range out.Hours {
		out.Hours[i].Durations = hourSums[i].view()
	}
	out.Durations = all.view()
	return writeJSON(w, http.StatusOK, out)
}
