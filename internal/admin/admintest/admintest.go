// Package admintest is the conformance suite of admin.Store: every
// implementation (admin.Memory, internal/sqlstore.Admin on SQLite and on
// PostgreSQL) passes it.
package admintest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/admin"
)

var t0 = time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)

// Run runs every case against a fresh store from newStore.
func Run(t *testing.T, newStore func(t *testing.T) admin.Store) {
	for _, c := range []struct {
		name string
		test func(*testing.T, admin.Store)
	}{
		{"TokensAndAudit", testTokensAndAudit},
		{"Sessions", testSessions},
		{"ScriptsAndSecrets", testScriptsAndSecrets},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, newStore(t)) })
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// testTokensAndAudit checks tokens (found by hash only while unrevoked) and the
// audit log (newest first, paged, filtered by target).
func testTokensAndAudit(t *testing.T, a admin.Store) {
	ctx := context.Background()
	tok := admin.Token{ID: "t1", Name: "ci", Role: admin.RoleOperator, Hash: []byte{1, 2, 3}, CreatedAt: t0, CreatedBy: "system"}
	if err := a.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateToken(ctx, admin.Token{ID: "t2", Name: "ops", Role: admin.RoleAdmin, Hash: []byte{9}, CreatedAt: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	got, err := a.TokenByHash(ctx, []byte{1, 2, 3})
	if err != nil || got.ID != "t1" || got.Role != admin.RoleOperator || got.Name != "ci" || !got.CreatedAt.Equal(t0) || got.CreatedBy != "system" {
		t.Errorf("TokenByHash = %+v, %v", got, err)
	}
	if _, err := a.TokenByHash(ctx, []byte{7}); !errors.Is(err, admin.ErrTokenNotFound) {
		t.Errorf("unknown hash: %v, want ErrTokenNotFound", err)
	}
	if err := a.TouchToken(ctx, "t1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeToken(ctx, "t1", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeToken(ctx, "t1", t0.Add(3*time.Hour)); !errors.Is(err, admin.ErrTokenNotFound) {
		t.Errorf("second revoke: %v, want ErrTokenNotFound", err)
	}
	if _, err := a.TokenByHash(ctx, []byte{1, 2, 3}); !errors.Is(err, admin.ErrTokenNotFound) {
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
		e, err := a.AppendAudit(ctx, admin.AuditEntry{At: t0.Add(time.Duration(i) * time.Second), Actor: "token:t2 (ops)",
			Action: "job.update", Target: target, Detail: []byte(fmt.Sprintf(`{"n":%d}`, i))})
		if err != nil || e.ID == 0 {
			t.Fatalf("AppendAudit = %+v, %v", e, err)
		}
	}
	all := must(a.ListAudit(ctx, admin.AuditFilter{}))
	if len(all) != 5 || string(all[0].Detail) != `{"n":4}` || string(all[4].Detail) != `{"n":0}` || all[0].Actor != "token:t2 (ops)" || !all[0].At.Equal(t0.Add(4*time.Second)) {
		t.Fatalf("ListAudit = %+v", all)
	}
	page := must(a.ListAudit(ctx, admin.AuditFilter{Target: "job-a", BeforeID: all[0].ID, Limit: 1}))
	if len(page) != 1 || string(page[0].Detail) != `{"n":2}` {
		t.Errorf("job-a before the newest, limit 1 = %+v, want n=2", page)
	}
}

// testSessions checks sessions: found by hash while unrevoked, touched,
// revoked one by one and with the token that opened them, and pruned
// when revoked, past their end or idle; and a token's expiry kept.
func testSessions(t *testing.T, a admin.Store) {
	ctx := context.Background()
	end := t0.Add(24 * time.Hour)
	if err := a.CreateToken(ctx, admin.Token{ID: "t1", Name: "ci", Role: admin.RoleAdmin, Hash: []byte{1}, CreatedAt: t0, ExpiresAt: end}); err != nil {
		t.Fatal(err)
	}
	if tok := must(a.TokenByHash(ctx, []byte{1})); !tok.ExpiresAt.Equal(end) || tok.Expired(end.Add(-time.Second)) || !tok.Expired(end) {
		t.Errorf("token expiry = %v, want %v", tok.ExpiresAt, end)
	}
	session := func(id string, hash byte, tokenID string, lastSeen, expires time.Time) admin.Session {
		return admin.Session{ID: id, Hash: []byte{hash}, TokenID: tokenID, Name: "ci", Role: admin.RoleOperator,
			CreatedAt: t0, LastSeenAt: lastSeen, ExpiresAt: expires}
	}
	for _, s := range []admin.Session{
		session("s1", 1, "t1", t0, end),
		session("s2", 2, "t1", t0, end),
		session("s3", 3, "", t0, end),
		session("s4", 4, "", t0, t0.Add(time.Hour)),
		session("s5", 5, "", t0.Add(-time.Hour), end),
	} {
		if err := a.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := a.SessionByHash(ctx, []byte{1})
	if err != nil || got.ID != "s1" || got.TokenID != "t1" || got.Name != "ci" || got.Role != admin.RoleOperator ||
		!got.CreatedAt.Equal(t0) || !got.LastSeenAt.Equal(t0) || !got.ExpiresAt.Equal(end) || !bytes.Equal(got.Hash, []byte{1}) {
		t.Errorf("SessionByHash = %+v, %v", got, err)
	}
	if _, err := a.SessionByHash(ctx, []byte{9}); !errors.Is(err, admin.ErrSessionNotFound) {
		t.Errorf("unknown hash: %v, want ErrSessionNotFound", err)
	}
	if err := a.TouchSession(ctx, "s3", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := must(a.SessionByHash(ctx, []byte{3})); !got.LastSeenAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("touched session last seen %v", got.LastSeenAt)
	}
	if err := a.RevokeSession(ctx, "s2", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeSession(ctx, "s2", t0.Add(time.Minute)); !errors.Is(err, admin.ErrSessionNotFound) {
		t.Errorf("second revoke: %v, want ErrSessionNotFound", err)
	}
	if _, err := a.SessionByHash(ctx, []byte{2}); !errors.Is(err, admin.ErrSessionNotFound) {
		t.Errorf("revoked session still found: %v", err)
	}
	// Revoking a token ends the sessions it opened, and no other.
	if err := a.RevokeToken(ctx, "t1", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SessionByHash(ctx, []byte{1}); !errors.Is(err, admin.ErrSessionNotFound) {
		t.Errorf("session of a revoked token still found: %v", err)
	}
	if _, err := a.SessionByHash(ctx, []byte{3}); err != nil {
		t.Errorf("session of no token: %v", err)
	}
	// At t0+2h with an idle limit of 30 minutes: s1 and s2 are revoked, s4
	// has ended, s5 was last seen before t0-30m; s3 stays.
	n, err := a.PruneSessions(ctx, t0.Add(2*time.Hour), t0.Add(-30*time.Minute))
	if err != nil || n != 4 {
		t.Errorf("PruneSessions = %d, %v; want 4", n, err)
	}
	for hash, want := range map[byte]bool{3: true, 4: false, 5: false} {
		if _, err := a.SessionByHash(ctx, []byte{hash}); (err == nil) != want {
			t.Errorf("after pruning, session %d found: %v, want %v", hash, err, want)
		}
	}
}

// testScriptsAndSecrets checks script versions (kept, listed, numbered
// once each under concurrent uploads) and secrets (replaced, listed,
// deleted).
func testScriptsAndSecrets(t *testing.T, a admin.Store) {
	ctx := context.Background()
	if _, err := a.GetScript(ctx, "report", 0); !errors.Is(err, admin.ErrScriptNotFound) {
		t.Errorf("GetScript of nothing: %v", err)
	}
	for i, src := range []string{"def run(): return 1\n", "def run(): return 2\n", "def run(): return 1\n"} {
		sc, err := a.AddScriptVersion(ctx, admin.Script{Name: "report", Lang: "python", Source: src, Checksum: fmt.Sprint("c", i),
			Author: "token:x (ops)", CreatedAt: t0.Add(time.Duration(i) * time.Minute)})
		if err != nil || sc.Version != i+1 {
			t.Fatalf("AddScriptVersion %d = %+v, %v", i, sc, err)
		}
	}
	a.AddScriptVersion(ctx, admin.Script{Name: "cleanup", Lang: "sh", Source: "echo hi\n", Checksum: "x", CreatedAt: t0})
	latest := must(a.GetScript(ctx, "report", 0))
	v2 := must(a.GetScript(ctx, "report", 2))
	if latest.Version != 3 || latest.Source != "def run(): return 1\n" || v2.Source != "def run(): return 2\n" || !v2.CreatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("latest %+v, v2 %+v", latest, v2)
	}
	if _, err := a.GetScript(ctx, "report", 9); !errors.Is(err, admin.ErrScriptNotFound) {
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
			sc, err := a.AddScriptVersion(ctx, admin.Script{Name: "busy", Lang: "sh", Source: "true", Checksum: "x", CreatedAt: t0})
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

	if err := a.PutSecret(ctx, admin.SealedSecret{Name: "DB_PASSWORD", Sealed: []byte{1, 2}, UpdatedAt: t0, UpdatedBy: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := a.PutSecret(ctx, admin.SealedSecret{Name: "DB_PASSWORD", Sealed: []byte{3}, UpdatedAt: t0.Add(time.Hour), UpdatedBy: "b"}); err != nil {
		t.Fatal(err)
	}
	a.PutSecret(ctx, admin.SealedSecret{Name: "API_KEY", Sealed: []byte{4}, UpdatedAt: t0, UpdatedBy: "a"})
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
	if err := a.DeleteSecret(ctx, "API_KEY"); !errors.Is(err, admin.ErrSecretNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := a.GetSecret(ctx, "API_KEY"); !errors.Is(err, admin.ErrSecretNotFound) {
		t.Errorf("get deleted: %v", err)
	}
}
