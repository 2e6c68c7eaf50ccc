package memstore

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/sundialhq/sundial"
)

// adminState holds tokens and the audit log, under Store.mu.
type adminState struct {
	tokens []sundial.Token
	audit  []sundial.AuditEntry
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
