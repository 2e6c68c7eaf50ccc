package admin

import (
	"bytes"
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// Memory is a Store in memory, for tests and for programs that embed the
// server's API without a database. Its records end with the process.
type Memory struct {
	mu       sync.Mutex
	tokens   []Token
	sessions []Session
	audit    []AuditEntry
	scripts  map[string][]Script // by name, oldest version first
	secrets  map[string]SealedSecret
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory.
func NewMemory() *Memory { return &Memory{} }

// CreateToken implements Store.
func (s *Memory) CreateToken(_ context.Context, t Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Hash = slices.Clone(t.Hash)
	s.tokens = append(s.tokens, t)
	return nil
}

// TokenByHash implements Store.
func (s *Memory) TokenByHash(_ context.Context, hash []byte) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if t.RevokedAt.IsZero() && bytes.Equal(t.Hash, hash) {
			t.Hash = slices.Clone(t.Hash)
			return t, nil
		}
	}
	return Token{}, ErrTokenNotFound
}

// ListTokens implements Store.
func (s *Memory) ListTokens(context.Context) ([]Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Token, len(s.tokens))
	for i, t := range s.tokens {
		t.Hash = slices.Clone(t.Hash)
		out[i] = t
	}
	return out, nil
}

// RevokeToken implements Store.
func (s *Memory) RevokeToken(_ context.Context, id string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.tokens {
		if t := &s.tokens[i]; t.ID == id && t.RevokedAt.IsZero() {
			t.RevokedAt = now
			for j := range s.sessions {
				if se := &s.sessions[j]; se.TokenID == id && se.RevokedAt.IsZero() {
					se.RevokedAt = now
				}
			}
			return nil
		}
	}
	return ErrTokenNotFound
}

// TouchToken implements Store.
func (s *Memory) TouchToken(_ context.Context, id string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.tokens {
		if t := &s.tokens[i]; t.ID == id {
			t.LastUsedAt = now
		}
	}
	return nil
}

// CreateSession implements Store.
func (s *Memory) CreateSession(_ context.Context, se Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	se.Hash = slices.Clone(se.Hash)
	s.sessions = append(s.sessions, se)
	return nil
}

// SessionByHash implements Store.
func (s *Memory) SessionByHash(_ context.Context, hash []byte) (Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, se := range s.sessions {
		if se.RevokedAt.IsZero() && bytes.Equal(se.Hash, hash) {
			se.Hash = slices.Clone(se.Hash)
			return se, nil
		}
	}
	return Session{}, ErrSessionNotFound
}

// TouchSession implements Store.
func (s *Memory) TouchSession(_ context.Context, id string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.sessions {
		if se := &s.sessions[i]; se.ID == id {
			se.LastSeenAt = now
		}
	}
	return nil
}

// RevokeSession implements Store.
func (s *Memory) RevokeSession(_ context.Context, id string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.sessions {
		if se := &s.sessions[i]; se.ID == id && se.RevokedAt.IsZero() {
			se.RevokedAt = now
			return nil
		}
	}
	return ErrSessionNotFound
}

// PruneSessions implements Store.
func (s *Memory) PruneSessions(_ context.Context, now, idleSince time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.sessions)
	s.sessions = slices.DeleteFunc(s.sessions, func(se Session) bool {
		return !se.RevokedAt.IsZero() || !now.Before(se.ExpiresAt) || se.LastSeenAt.Before(idleSince)
	})
	return n - len(s.sessions), nil
}

// AppendAudit implements Store.
func (s *Memory) AppendAudit(_ context.Context, e AuditEntry) (AuditEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.ID = int64(len(s.audit) + 1)
	e.Detail = slices.Clone(e.Detail)
	s.audit = append(s.audit, e)
	return e, nil
}

// ListAudit implements Store.
func (s *Memory) ListAudit(_ context.Context, f AuditFilter) ([]AuditEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []AuditEntry
	for i := len(s.audit) - 1; i >= 0; i-- {
		e := s.audit[i]
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

// AddScriptVersion implements Store.
func (s *Memory) AddScriptVersion(_ context.Context, sc Script) (Script, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scripts == nil {
		s.scripts = map[string][]Script{}
	}
	sc.Version = len(s.scripts[sc.Name]) + 1
	s.scripts[sc.Name] = append(s.scripts[sc.Name], sc)
	return sc, nil
}

// GetScript implements Store.
func (s *Memory) GetScript(_ context.Context, name string, version int) (Script, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	versions := s.scripts[name]
	switch {
	case len(versions) == 0 || version > len(versions) || version < 0:
		return Script{}, ErrScriptNotFound
	case version == 0:
		return versions[len(versions)-1], nil
	}
	return versions[version-1], nil
}

// ListScripts implements Store.
func (s *Memory) ListScripts(context.Context) ([]Script, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Script
	for _, name := range slices.Sorted(maps.Keys(s.scripts)) {
		latest := s.scripts[name][len(s.scripts[name])-1]
		latest.Source = ""
		out = append(out, latest)
	}
	return out, nil
}

// ScriptVersions implements Store.
func (s *Memory) ScriptVersions(_ context.Context, name string) ([]Script, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	versions := s.scripts[name]
	if len(versions) == 0 {
		return nil, ErrScriptNotFound
	}
	out := make([]Script, 0, len(versions))
	for i := len(versions) - 1; i >= 0; i-- {
		v := versions[i]
		v.Source = ""
		out = append(out, v)
	}
	return out, nil
}

// PutSecret implements Store.
func (s *Memory) PutSecret(_ context.Context, sec SealedSecret) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secrets == nil {
		s.secrets = map[string]SealedSecret{}
	}
	sec.Sealed = slices.Clone(sec.Sealed)
	s.secrets[sec.Name] = sec
	return nil
}

// GetSecret implements Store.
func (s *Memory) GetSecret(_ context.Context, name string) (SealedSecret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, ok := s.secrets[name]
	if !ok {
		return SealedSecret{}, ErrSecretNotFound
	}
	sec.Sealed = slices.Clone(sec.Sealed)
	return sec, nil
}

// ListSecrets implements Store.
func (s *Memory) ListSecrets(context.Context) ([]SealedSecret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Collect(maps.Values(s.secrets))
	slices.SortFunc(out, func(a, b SealedSecret) int { return cmp.Compare(a.Name, b.Name) })
	for i := range out {
		out[i].Sealed = slices.Clone(out[i].Sealed)
	}
	return out, nil
}

// DeleteSecret implements Store.
func (s *Memory) DeleteSecret(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.secrets[name]; !ok {
		return ErrSecretNotFound
	}
	delete(s.secrets, name)
	return nil
}
