package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sundialhq/sundial"
)

var _ sundial.AdminStore = (*Store)(nil)

const tokenCols = `id, name, role, hash, created_at, created_by, last_used_at, revoked_at`

func scanToken(row scanner) (sundial.Token, error) {
	var t sundial.Token
	var role string
	var created int64
	var used, revoked sql.NullInt64
	if err := row.Scan(&t.ID, &t.Name, &role, &t.Hash, &created, &t.CreatedBy, &used, &revoked); err != nil {
		return sundial.Token{}, err
	}
	t.Role = sundial.Role(role)
	t.CreatedAt = time.UnixMicro(created).UTC()
	t.LastUsedAt, t.RevokedAt = fromMicros(used), fromMicros(revoked)
	return t, nil
}

// CreateToken implements sundial.AdminStore.
func (s *Store) CreateToken(ctx context.Context, t sundial.Token) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO sundial_tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		t.ID, t.Name, string(t.Role), t.Hash, t.CreatedAt.UnixMicro(), t.CreatedBy, micros(t.LastUsedAt), micros(t.RevokedAt))
	if err != nil {
		return fmt.Errorf("%s: create token %q: %w", s.d.Name, t.ID, err)
	}
	return nil
}

// TokenByHash implements sundial.AdminStore.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (sundial.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, s.rebind(`SELECT `+tokenCols+` FROM sundial_tokens WHERE hash = ? AND revoked_at IS NULL`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return sundial.Token{}, sundial.ErrTokenNotFound
	}
	if err != nil {
		return sundial.Token{}, fmt.Errorf("%s: find token: %w", s.d.Name, err)
	}
	return t, nil
}

// ListTokens implements sundial.AdminStore.
func (s *Store) ListTokens(ctx context.Context) ([]sundial.Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenCols+` FROM sundial_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("%s: list tokens: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []sundial.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: list tokens: %w", s.d.Name, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken implements sundial.AdminStore.
func (s *Store) RevokeToken(ctx context.Context, id string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE sundial_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`), now.UnixMicro(), id)
	if err != nil {
		return fmt.Errorf("%s: revoke token %q: %w", s.d.Name, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sundial.ErrTokenNotFound
	}
	return nil
}

// TouchToken implements sundial.AdminStore.
func (s *Store) TouchToken(ctx context.Context, id string, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`UPDATE sundial_tokens SET last_used_at = ? WHERE id = ?`), now.UnixMicro(), id); err != nil {
		return fmt.Errorf("%s: touch token %q: %w", s.d.Name, id, err)
	}
	return nil
}

// AppendAudit implements sundial.AdminStore.
func (s *Store) AppendAudit(ctx context.Context, e sundial.AuditEntry) (sundial.AuditEntry, error) {
	err := s.db.QueryRowContext(ctx, s.rebind(`INSERT INTO sundial_audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?) RETURNING id`),
		e.At.UnixMicro(), e.Actor, e.Action, e.Target, rawText(e.Detail)).Scan(&e.ID)
	if err != nil {
		return sundial.AuditEntry{}, fmt.Errorf("%s: append audit entry: %w", s.d.Name, err)
	}
	e.At = asStored(e.At)
	return e, nil
}

// ListAudit implements sundial.AdminStore.
func (s *Store) ListAudit(ctx context.Context, f sundial.AuditFilter) ([]sundial.AuditEntry, error) {
	q := `SELECT id, at, actor, action, target, detail FROM sundial_audit WHERE 1 = 1`
	var args []any
	if f.Target != "" {
		q, args = q+` AND target = ?`, append(args, f.Target)
	}
	if f.BeforeID > 0 {
		q, args = q+` AND id < ?`, append(args, f.BeforeID)
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ` + strconv.Itoa(f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: list audit: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []sundial.AuditEntry
	for rows.Next() {
		var e sundial.AuditEntry
		var at int64
		var detail sql.NullString
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &detail); err != nil {
			return nil, fmt.Errorf("%s: list audit: %w", s.d.Name, err)
		}
		e.At = time.UnixMicro(at).UTC()
		if detail.Valid {
			e.Detail = []byte(detail.String)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
