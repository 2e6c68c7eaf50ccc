package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/httpapi"
	"github.com/sundialhq/sundial/internal/sqlstore"
	"github.com/sundialhq/sundial/store/sqlitestore"
	"github.com/sundialhq/sundial/task"
)

// apiServer is the API over a SQLite file, served over real HTTP on
// loopback, with an admin token.
type apiServer struct {
	base, token string
	store       *sqlitestore.Store
	client      *http.Client
}

func newAPIServer(b *testing.B) *apiServer {
	b.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "api.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	s, err := sundial.New(sundial.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	s.Register("echo", task.Echo)
	records := sqlstore.NewAdmin(st.Store)
	api, err := httpapi.New(httpapi.Config{Scheduler: s, Admin: records, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	secret, tok := httpapi.NewToken("bench", admin.RoleAdmin, "bench", time.Now())
	if err := records.CreateToken(ctx, tok); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	b.Cleanup(srv.Close)
	return &apiServer{base: srv.URL, token: secret, store: st,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

func (a *apiServer) do(method, path string, body []byte) (int, error) {
	req, _ := http.NewRequest(method, a.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := a.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// BenchmarkAPICreateJob creates cron jobs through POST /api/v1/jobs from 8
// concurrent clients, on SQLite. Target: 2,000 creations per second.
func BenchmarkAPICreateJob(b *testing.B) {
	a := newAPIServer(b)
	var n atomic.Int64
	b.SetParallelism(4) // 4 × GOMAXPROCS clients
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := fmt.Appendf(nil, `{"id": "job-%d", "task": "echo", "trigger": "%d * * * *", "args": {"n": %d}}`, i, i%60, i)
			if code, err := a.do("POST", "/api/v1/jobs", body); err != nil || code != 201 {
				b.Errorf("create = %d, %v", code, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

// BenchmarkAPIListRuns lists runs with 100,000 stored (100 jobs × 1,000
// runs): a job's history, the newest runs of all jobs, failures only, and
// a page deep in a job's history. Target: p99 under 20 ms.
func BenchmarkAPIListRuns(b *testing.B) {
	a := newAPIServer(b)
	populateRuns(b, a.store, 100, 1000)
	deep := deepCursor(b, a)
	for _, q := range []struct{ name, path string }{
		{"job", "/api/v1/runs?job_id=job-042&limit=100"},
		{"all", "/api/v1/runs?limit=100"},
		{"failed", "/api/v1/runs?status=failed&limit=100"},
		{"job-page-9", "/api/v1/runs?job_id=job-042&limit=100&cursor=" + deep},
	} {
		b.Run(q.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t0 := time.Now()
				if code, err := a.do("GET", q.path, nil); err != nil || code != 200 {
					b.Fatalf("list = %d, %v", code, err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// populateRuns inserts jobs × perJob ended runs in one transaction, one
// a minute apart per job, every tenth failed.
func populateRuns(b *testing.B, st *sqlitestore.Store, jobs, perJob int) {
	b.Helper()
	ctx := context.Background()
	tx, err := st.DB().BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO sundial_runs (id, job_id, task, scheduled_at, started_at, ended_at, status, attempt, manual_key, result, queue, output)
		VALUES (?, ?, 'echo', ?, ?, ?, ?, 1, '', '{"ok":true}', '', 'a line of output')`)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for j := range jobs {
		for i := range perJob {
			at := t0.Add(time.Duration(i) * time.Minute).Add(time.Duration(j) * time.Second)
			status := "succeeded"
			if i%10 == 0 {
				status = "failed"
			}
			if _, err := ins.ExecContext(ctx, fmt.Sprintf("run-%03d-%05d", j, i), fmt.Sprintf("job-%03d", j),
				at.UnixMicro(), at.UnixMicro(), at.Add(time.Second).UnixMicro(), status); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := st.DB().ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
}

// deepCursor walks nine pages into a job's history and returns the
// cursor of the tenth.
func deepCursor(b *testing.B, a *apiServer) string {
	cursor := ""
	for range 9 {
		req, _ := http.NewRequest("GET", a.base+"/api/v1/runs?job_id=job-042&limit=100&cursor="+cursor, nil)
		req.Header.Set("Authorization", "Bearer "+a.token)
		res, err := a.client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var page httpapi.RunList
		if err := decodeJSON(res.Body, &page); err != nil || page.NextCursor == "" {
			b.Fatalf("page: %v %+v", err, page.NextCursor)
		}
		res.Body.Close()
		cursor = page.NextCursor
	}
	return cursor
}

func decodeJSON(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
