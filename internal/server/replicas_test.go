package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sundialhq/sundial/internal/pgtest"
)

// replicaConfig writes a config file with the jobs given (YAML list
// items) and reads it, as every replica of a deployment would.
func replicaConfig(t *testing.T, db string, jobs ...string) Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sundial.yaml")
	text := fmt.Sprintf("db: %q\npoll_interval: 200ms\njobs:\n", db)
	for _, j := range jobs {
		text += "  - " + j + "\n"
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startTogether starts n servers on one config at the same instant, checks
// that every one serves and is ready with no error logged, and returns them
// with the first admin tokens they printed.
func startTogether(t *testing.T, n int, cfg Config) ([]*running, []string) {
	t.Helper()
	servers := make([]*running, n)
	errs := make([]error, n)
	var ready, wg sync.WaitGroup
	ready.Add(n)
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cfg
			c.Addr = "127.0.0.1:0"
			c.NodeID = fmt.Sprintf("replica-%d", i)
			ready.Done()
			<-gate
			servers[i], errs[i] = launch(t, c, Options{})
		}()
	}
	ready.Wait()
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d did not start: %v", i, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	var tokens []string
	for i, srv := range servers {
		waitFor(t, fmt.Sprintf("replica %d to be ready", i), func() bool { return srv.call("GET", "/readyz", "", nil, nil) == 200 })
		if srv.token != "" {
			tokens = append(tokens, srv.token)
		}
		if strings.Contains(srv.logs.String(), "level=ERROR") {
			t.Errorf("replica %d logged an error:\n%s", i, srv.logs)
		}
	}
	return servers, tokens
}

// checkReplicas checks that every replica sees the jobs want ("id:vN"
// in ID order, all from the config file), that the audit log has each
// change in changes once, and stops the replicas.
func checkReplicas(t *testing.T, servers []*running, token, want string, changes ...string) {
	t.Helper()
	var list struct {
		Jobs []struct {
			ID      string `json:"id"`
			Version int64  `json:"version"`
			Source  string `json:"source"`
		} `json:"jobs"`
	}
	for i, srv := range servers {
		if code := srv.call("GET", "/api/v1/jobs", token, nil, &list); code != 200 {
			t.Fatalf("replica %d: list jobs = %d", i, code)
		}
		var got []string
		for _, j := range list.Jobs {
			got = append(got, fmt.Sprintf("%s:v%d", j.ID, j.Version))
			if j.Source != "config" {
				t.Errorf("replica %d: job %s has source %q", i, j.ID, j.Source)
			}
		}
		if strings.Join(got, " ") != want {
			t.Errorf("replica %d sees jobs %v, want %s", i, got, want)
		}
	}
	var audit struct {
		Entries []struct{ Action, Target string } `json:"entries"`
	}
	servers[0].call("GET", "/api/v1/audit?limit=500", token, nil, &audit)
	counts := map[string]int{}
	for _, e := range audit.Entries {
		counts[e.Action+" "+e.Target]++
	}
	for _, key := range changes {
		if counts[key] != 1 {
			t.Errorf("audit has %d × %q, want 1 (all: %v)", counts[key], key, counts)
		}
	}
	for i, srv := range servers {
		if err := srv.stop(); err != nil {
			t.Errorf("replica %d: stop: %v", i, err)
		}
	}
}

// replicasStartTogether: ten servers started at once with one config file
// on an empty database all serve, and one of them only prints a first
// admin token; each config job is created once. Then ten start at once
// with a changed file: the changed job is updated once, the dropped one
// removed once.
func replicasStartTogether(t *testing.T, db func(t *testing.T) string) {
	const n = 10
	for try := range 3 {
		t.Run(fmt.Sprint("try", try), func(t *testing.T) {
			dsn := db(t)
			servers, tokens := startTogether(t, n, replicaConfig(t, dsn,
				`{id: tick, task: echo, trigger: {type: interval, seconds: 30}}`,
				`{id: report, task: echo, trigger: "0 9 * * 1-5", args: {to: ops}}`,
				`{id: pinned, task: echo, trigger: {type: or, triggers: [{type: interval, minutes: 5}, {type: cron, expr: "@daily"}]}}`))
			if len(tokens) != 1 {
				t.Fatalf("%d replicas printed a first admin token, want 1", len(tokens))
			}
			checkReplicas(t, servers, tokens[0], "pinned:v1 report:v1 tick:v1",
				"job.create tick", "job.create report", "job.create pinned", "token.create initial-admin")

			servers, again := startTogether(t, n, replicaConfig(t, dsn,
				`{id: tick, task: echo, trigger: {type: interval, seconds: 45}}`,
				`{id: pinned, task: echo, trigger: {type: or, triggers: [{type: interval, minutes: 5}, {type: cron, expr: "@daily"}]}}`))
			if len(again) != 0 {
				t.Errorf("%d replicas printed a new admin token on a database that has one", len(again))
			}
			checkReplicas(t, servers, tokens[0], "pinned:v1 tick:v2", "job.update tick", "job.delete report")
		})
	}
}

func TestReplicasStartTogetherSQLite(t *testing.T) {
	replicasStartTogether(t, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "s.db") })
}

func TestReplicasStartTogetherPostgres(t *testing.T) {
	replicasStartTogether(t, func(t *testing.T) string { return pgtest.SchemaDSN(t) })
}
