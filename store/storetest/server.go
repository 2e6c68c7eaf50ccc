package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
)

// testListPages walks job and run listings a page at a time: every item
// once, in order, with the filters applied before the limit.
func testListPages(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	for i := range 7 {
		j := job(fmt.Sprintf("j%d", i), t0)
		if i%2 == 0 {
			j.Source = "config"
		}
		mustCreate(t, s, j)
	}
	var pages []string
	f := sundial.JobFilter{Limit: 3}
	for {
		page := must(s.ListJobs(ctx, f))
		if len(page) == 0 {
			break
		}
		pages = append(pages, jobIDs(page))
		f.AfterID = page[len(page)-1].ID
	}
	if got := fmt.Sprint(pages); got != "[j0,j1,j2 j3,j4,j5 j6]" {
		t.Errorf("job pages = %s", got)
	}
	config := "config"
	if got := jobIDs(must(s.ListJobs(ctx, sundial.JobFilter{Source: &config, AfterID: "j0", Limit: 2}))); got != "j2,j4" {
		t.Errorf("config jobs after j0, 2 = %s, want j2,j4", got)
	}
	if got := jobIDs(must(s.ListJobs(ctx, sundial.JobFilter{Tag: "t-j5", Limit: 1}))); got != "j5" {
		t.Errorf("tag t-j5, limit 1 = %s, want j5 (the tag is filtered before the limit)", got)
	}

	// Runs: retries share a fire time; the listing orders by fire, then
	// attempt, then ID, and the cursor continues exactly there.
	var want []string
	for i := range 4 {
		for attempt := 2; attempt >= 1; attempt-- {
			r := sundial.Run{ID: fmt.Sprintf("r%d-%d", i, attempt), JobID: "j1", Task: "task",
				ScheduledAt: t0.Add(time.Duration(3-i) * time.Minute), Status: sundial.StatusFailed, Attempt: attempt}
			if err := s.CreateRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			want = append(want, r.ID)
		}
	}
	var got []string
	rf := sundial.RunFilter{JobID: "j1", Limit: 3}
	for {
		page := must(s.ListRuns(ctx, rf))
		if len(page) == 0 {
			break
		}
		got = append(got, runIDs(page)...)
		c := sundial.CursorOf(page[len(page)-1])
		rf.After = &c
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("run pages = %v, want %v", got, want)
	}
}

func testSourceAndOutput(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	j := job("a", t0)
	j.Source = "api"
	j = mustCreate(t, s, j)
	j.Source = "config"
	if _, err := s.UpdateJob(ctx, j, t0); err != nil {
		t.Fatal(err)
	}
	if got := must(s.GetJob(ctx, "a")).Source; got != "config" {
		t.Errorf("source after update = %q, want config", got)
	}
	r := sundial.Run{ID: "r", JobID: "a", Task: "task", ScheduledAt: t0, Status: sundial.StatusRunning, Attempt: 1}
	if err := s.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Status, r.EndedAt, r.Output = sundial.StatusSucceeded, t0.Add(time.Second), "line 1\nline 2 — ✓\n"
	if err := s.UpdateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := must(s.GetRun(ctx, "r")).Output; got != r.Output {
		t.Errorf("output = %q, want %q", got, r.Output)
	}
}

// testAdmin checks tokens (found by hash only while unrevoked) and the
// audit log (newest first, paged, filtered by target).
func testAdmin(t *testing.T, s sundial.Store) {
	a, ok := s.(sundial.AdminStore)
	if !ok {
		t.Skip("store does not implement sundial.AdminStore")
	}
	ctx := context.Background()
	tok := sundial.Token{ID: "t1", Name: "ci", Role: sundial.RoleOperator, Hash: []byte{1, 2, 3}, CreatedAt: t0, CreatedBy: "system"}
	if err := a.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateToken(ctx, sundial.Token{ID: "t2", Name: "ops", Role: sundial.RoleAdmin, Hash: []byte{9}, CreatedAt: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	got, err := a.TokenByHash(ctx, []byte{1, 2, 3})
	if err != nil || got.ID != "t1" || got.Role != sundial.RoleOperator || got.Name != "ci" || !got.CreatedAt.Equal(t0) || got.CreatedBy != "system" {
		t.Errorf("TokenByHash = %+v, %v", got, err)
	}
	if _, err := a.TokenByHash(ctx, []byte{7}); !errors.Is(err, sundial.ErrTokenNotFound) {
		t.Errorf("unknown hash: %v, want ErrTokenNotFound", err)
	}
	if err := a.TouchToken(ctx, "t1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeToken(ctx, "t1", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeToken(ctx, "t1", t0.Add(3*time.Hour)); !errors.Is(err, sundial.ErrTokenNotFound) {
		t.Errorf("second revoke: %v, want ErrTokenNotFound", err)
	}
	if _, err := a.TokenByHash(ctx, []byte{1, 2, 3}); !errors.Is(err, sundial.ErrTokenNotFound) {
		t.Errorf("revoked token still found: %v", err)
	}
	list := must(a.ListTokens(ctx))
	if len(list) != 2 || list[0].ID != "t1" || !list[0].LastUsedAt.Equal(t0.Add(time.Hour)) ||
		!list[0].RevokedAt.Equal(t0.Add(2*time.Hour)) || !bytes.Equal(list[0].Hash, []byte{1, 2, 3}) || list[1].ID != "t2" {
		t.Errorf("ListTokens = %+v", list)
	}

	for i := range 5 {
		target := "job-a"
		if i%2 == 1 {
			target = "job-b"
		}
		e, err := a.AppendAudit(ctx, sundial.AuditEntry{At: t0.Add(time.Duration(i) * time.Second), Actor: "token:t2 (ops)",
			Action: "job.update", Target: target, Detail: []byte(fmt.Sprintf(`{"n":%d}`, i))})
		if err != nil || e.ID == 0 {
			t.Fatalf("AppendAudit = %+v, %v", e, err)
		}
	}
	all := must(a.ListAudit(ctx, sundial.AuditFilter{}))
	if len(all) != 5 || string(all[0].Detail) != `{"n":4}` || string(all[4].Detail) != `{"n":0}` || all[0].Actor != "token:t2 (ops)" || !all[0].At.Equal(t0.Add(4*time.Second)) {
		t.Fatalf("ListAudit = %+v", all)
	}
	page := must(a.ListAudit(ctx, sundial.AuditFilter{Target: "job-a", BeforeID: all[0].ID, Limit: 1}))
	if len(page) != 1 || string(page[0].Detail) != `{"n":2}` {
		t.Errorf("job-a before the newest, limit 1 = %+v, want n=2", page)
	}
}

func testExitAndLiveOutput(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	r := sundial.Run{ID: "r", JobID: "a", Task: "task", ScheduledAt: t0, Status: sundial.StatusRunning, Attempt: 1, Incarnation: "inc-1"}
	if err := s.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if w, ok := s.(sundial.RunOutputWriter); ok {
		if err := w.UpdateRunOutput(ctx, "r", "inc-1", "so far\n"); err != nil {
			t.Fatal(err)
		}
		// Another incarnation's flush is fenced off.
		if err := w.UpdateRunOutput(ctx, "r", "inc-0", "a zombie's output\n"); err != nil {
			t.Fatal(err)
		}
		if got := must(s.GetRun(ctx, "r")); got.Output != "so far\n" || got.Status != sundial.StatusRunning {
			t.Errorf("after UpdateRunOutput: %q %s", got.Output, got.Status)
		}
	}
	r.Status, r.EndedAt, r.Output = sundial.StatusFailed, t0.Add(time.Second), "all of it\n"
	r.Exit = &sundial.ExitStatus{Code: -1, Signal: "killed"}
	if err := s.UpdateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if w, ok := s.(sundial.RunOutputWriter); ok {
		w.UpdateRunOutput(ctx, "r", "inc-1", "late flush\n") // the run has ended: changes nothing
	}
	got := must(s.GetRun(ctx, "r"))
	if got.Output != "all of it\n" || got.Exit == nil || *got.Exit != *r.Exit {
		t.Errorf("ended run: output %q, exit %+v", got.Output, got.Exit)
	}
}

func testScriptsAndSecrets(t *testing.T, s sundial.Store) {
	a, ok := s.(sundial.AdminStore)
	if !ok {
		t.Skip("store does not implement sundial.AdminStore")
	}
	ctx := context.Background()
	if _, err := a.GetScript(ctx, "report", 0); !errors.Is(err, sundial.ErrScriptNotFound) {
		t.Errorf("GetScript of nothing: %v", err)
	}
	for i, src := range []string{"def run(): return 1\n", "def run(): return 2\n", "def run(): return 1\n"} {
		sc, err := a.AddScriptVersion(ctx, sundial.Script{Name: "report", Lang: "python", Source: src, Checksum: fmt.Sprint("c", i),
			Author: "token:x (ops)", CreatedAt: t0.Add(time.Duration(i) * time.Minute)})
		if err != nil || sc.Version != i+1 {
			t.Fatalf("AddScriptVersion %d = %+v, %v", i, sc, err)
		}
	}
	a.AddScriptVersion(ctx, sundial.Script{Name: "cleanup", Lang: "sh", Source: "echo hi\n", Checksum: "x", CreatedAt: t0})
	latest := must(a.GetScript(ctx, "report", 0))
	v2 := must(a.GetScript(ctx, "report", 2))
	if latest.Version != 3 || latest.Source != "def run(): return 1\n" || v2.Source != "def run(): return 2\n" || !v2.CreatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("latest %+v, v2 %+v", latest, v2)
	}
	if _, err := a.GetScript(ctx, "report", 9); !errors.Is(err, sundial.ErrScriptNotFound) {
		t.Errorf("GetScript of a missing version: %v", err)
	}
	list := must(a.ListScripts(ctx))
	if len(list) != 2 || list[0].Name != "cleanup" || list[1].Name != "report" || list[1].Version != 3 || list[1].Source != "" {
		t.Errorf("ListScripts = %+v", list)
	}
	versions := must(a.ScriptVersions(ctx, "report"))
	if len(versions) != 3 || versions[0].Version != 3 || versions[2].Version != 1 || versions[0].Author != "token:x (ops)" {
		t.Errorf("ScriptVersions = %+v", versions)
	}
	// Concurrent uploads each get a version of their own.
	var wg sync.WaitGroup
	seen := make(chan int, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc, err := a.AddScriptVersion(ctx, sundial.Script{Name: "busy", Lang: "sh", Source: "true", Checksum: "x", CreatedAt: t0})
			if err != nil {
				t.Error(err)
				return
			}
			seen <- sc.Version
		}()
	}
	wg.Wait()
	close(seen)
	got := map[int]bool{}
	for v := range seen {
		got[v] = true
	}
	if len(got) != 8 {
		t.Errorf("8 concurrent uploads got versions %v", got)
	}

	if err := a.PutSecret(ctx, sundial.SealedSecret{Name: "DB_PASSWORD", Sealed: []byte{1, 2}, UpdatedAt: t0, UpdatedBy: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := a.PutSecret(ctx, sundial.SealedSecret{Name: "DB_PASSWORD", Sealed: []byte{3}, UpdatedAt: t0.Add(time.Hour), UpdatedBy: "b"}); err != nil {
		t.Fatal(err)
	}
	a.PutSecret(ctx, sundial.SealedSecret{Name: "API_KEY", Sealed: []byte{4}, UpdatedAt: t0, UpdatedBy: "a"})
	sec := must(a.GetSecret(ctx, "DB_PASSWORD"))
	if !bytes.Equal(sec.Sealed, []byte{3}) || sec.UpdatedBy != "b" || !sec.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("GetSecret after replace = %+v", sec)
	}
	if all := must(a.ListSecrets(ctx)); len(all) != 2 || all[0].Name != "API_KEY" {
		t.Errorf("ListSecrets = %+v", all)
	}
	if err := a.DeleteSecret(ctx, "API_KEY"); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteSecret(ctx, "API_KEY"); !errors.Is(err, sundial.ErrSecretNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := a.GetSecret(ctx, "API_KEY"); !errors.Is(err, sundial.ErrSecretNotFound) {
		t.Errorf("get deleted: %v", err)
	}
}
