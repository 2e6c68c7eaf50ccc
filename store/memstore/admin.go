package memstore

import (
	"bytes"
	"cmp"
	"context"
	"maps"
	"slices"
	"time"

	"github.com/sundialhq/sundial"
)

// adminState holds tokens, the audit log, scripts and secrets, under
// Store.mu.
type adminState struct {
	tokens  []sundial.Token
	audit   []sundial.AuditEntry
	scripts map[string][]sundial.Script // by name, oldest version first
	secrets map[string]sundial.SealedSecret
}

// CreateToken implements sundial.AdminStore.
func (s *Store) CreateToken(_ context.Context, t sundial.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Hash = slices.Clone(t.Hash)
	s.admin.tokens = append(s.admin.tokens, t)
	return nil
}

// TokenByHash implements sundial.AdminStore.
func (s *Store) TokenByHash(_ context.Context, hash []byte) (sundial.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.admin.tokens {
		if t.RevokedAt.IsZero() && bytes.Equal(t.Hash, hash) {
			t.Hash = slices.Clone(t.Hash)
			return t, nil
		}
	}
	return sundial.Token{}, sundial.ErrTokenNotFound
}

// ListTokens implements sundial.AdminStore.
func (s *Store) ListTokens(context.Context) ([]sundial.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]sundial.Token, len(s.admin.tokens))
	for i, t := range s.admin.tokens {
		t.Hash = slices.Clone(t.Hash)
		out[i] = t
	}
	return out, nil
}

// RevokeToken implements sundial.AdminStore.
func (s *Store) RevokeToken(_ context.Context, id string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.admin.tokens {
		if t := &s.admin.tokens[i]; t.ID == id && t.RevokedAt.IsZero() {
			t.RevokedAt = now
			return nil
		}
	}
	return sundial.ErrTokenNotFound
}

// TouchToken implements sundial.AdminStore.
func (s *Store) TouchToken(_ context.Context, id string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.admin.tokens {
		if t := &s.admin.tokens[i]; t.ID == id {
			t.LastUsedAt = now
		}
	}
	return nil
}

// AppendAudit implements sundial.AdminStore.
func (s *Store) AppendAudit(_ context.Context, e sundial.AuditEntry) (sundial.AuditEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.ID = int64(len(s.admin.audit) + 1)
	e.Detail = slices.Clone(e.Detail)
	s.admin.audit = append(s.admin.audit, e)
	return e, nil
}

// ListAudit implements sundial.AdminStore.
func (s *Store) ListAudit(_ context.Context, f sundial.AuditFilter) ([]sundial.AuditEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sundial.AuditEntry
	for i := len(s.admin.audit) - 1; i >= 0; i-- {
		e := s.admin.audit[i]
		if (f.Target != "" && e.Target != f.Target) || (f.BeforeID > 0 && e.ID >= f.BeforeID) {
			continue
		}
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
		e.Detail = slices.Clone(e.Detail)
		out = append(out, e)
	}
	return out, nil
}

var _ sundial.RunOutputWriter = (*Store)(nil)

// UpdateRunOutput implements sundial.RunOutputWriter.
func (s *Store) UpdateRunOutput(_ context.Context, runID, incarnation, output string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.runs[runID]; ok && e.run.Status.Executing() && e.run.Incarnation == incarnation {
		e.run.Output = output
	}
	return nil
}

// AddScriptVersion implements sundial.AdminStore.
func (s *Store) AddScriptVersion(_ context.Context, sc sundial.Script) (sundial.Script, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin.scripts == nil {
		s.admin.scripts = map[string][]sundial.Script{}
	}
	sc.Version = len(s.admin.scripts[sc.Name]) + 1
	s.admin.scripts[sc.Name] = append(s.admin.scripts[sc.Name], sc)
	return sc, nil
}

// GetScript implements sundial.AdminStore.
func (s *Store) GetScript(_ context.Context, name string, version int) (sundial.Script, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	versions := s.admin.scripts[name]
	switch {
	case len(versions) == 0 || version > len(versions) || version < 0:
		return sundial.Script{}, sundial.ErrScriptNotFound
	case version == 0:
		return versions[len(versions)-1], nil
	}
	return versions[version-1], nil
}

// ListScripts implements sundial.AdminStore.
func (s *Store) ListScripts(context.Context) ([]sundial.Script, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sundial.Script
	for _, name := range slices.Sorted(maps.Keys(s.admin.scripts)) {
		latest := s.admin.scripts[name][len(s.admin.scripts[name])-1]
		latest.Source = ""
		out = append(out, latest)
	}
	return out, nil
}

// ScriptVersions implements sundial.AdminStore.
func (s *Store) ScriptVersions(_ context.Context, name string) ([]sundial.Script, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	versions := s.admin.scripts[name]
	if len(versions) == 0 {
		return nil, sundial.ErrScriptNotFound
	}
	out := make([]sundial.Script, 0, len(versions))
	for i := len(versions) - 1; i >= 0; i-- {
		v := versions[i]
		v.Source = ""
		out = append(out, v)
	}
	return out, nil
}

// PutSecret implements sundial.AdminStore.
func (s *Store) PutSecret(_ context.Context, sec sundial.SealedSecret) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin.secrets == nil {
		s.admin.secrets = map[string]sundial.SealedSecret{}
	}
	sec.Sealed = slices.Clone(sec.Sealed)
	s.admin.secrets[sec.Name] = sec
	return nil
}

// GetSecret implements sundial.AdminStore.
func (s *Store) GetSecret(_ context.Context, name string) (sundial.SealedSecret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, ok := s.admin.secrets[name]
	if !ok {
		return sundial.SealedSecret{}, sundial.ErrSecretNotFound
	}
	sec.Sealed = slices.Clone(sec.Sealed)
	return sec, nil
}

// ListSecrets implements sundial.AdminStore.
func (s *Store) ListSecrets(context.Context) ([]sundial.SealedSecret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Collect(maps.Values(s.admin.secrets))
	slices.SortFunc(out, func(a, b sundial.SealedSecret) int { return cmp.Compare(a.Name, b.Name) })
	for i := range out {
		out[i].Sealed = slices.Clone(out[i].Sealed)
	}
	return out, nil
}

// DeleteSecret implements sundial.AdminStore.
func (s *Store) DeleteSecret(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.admin.secrets[name]; !ok {
		return sundial.ErrSecretNotFound
	}
	delete(s.admin.secrets, name)
	return nil
}
