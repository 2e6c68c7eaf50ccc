package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sundialhq/sundial/internal/admin"
)

// Admin is the server's admin.Store — tokens, the audit log, scripts and
// secrets — in the tables of a Store's database. It is a type of its own
// so that the SQL stores, which embed Store, offer library users the
// scheduling methods only.
type Admin struct{ s *Store }

var _ admin.Store = (*Admin)(nil)

// NewAdmin returns the admin store over s's database and dialect. The
// schema is s's: migrating s migrates both.
func NewAdmin(s *Store) *Admin { return &Admin{s: s} }

const tokenCols = `id, name, role, hash, created_at, created_by, last_used_at, revoked_at, expires_at, queues`

func scanToken(row scanner) (admin.Token, error) {
	var t admin.Token
	var role string
	var created int64
	var used, revoked, expires sql.NullInt64
	var queues sql.NullString
	if err := row.Scan(&t.ID, &t.Name, &role, &t.Hash, &created, &t.CreatedBy, &used, &revoked, &expires, &queues); err != nil {
		return admin.Token{}, err
	}
	if queues.Valid {
		if err := json.Unmarshal([]byte(queues.String), &t.Queues); err != nil {
			return admin.Token{}, fmt.Errorf("token %q: queues: %w", t.ID, err)
		}
	}
	t.Role = admin.Role(role)
	t.CreatedAt = time.UnixMicro(created).UTC()
	t.LastUsedAt, t.RevokedAt, t.ExpiresAt = fromMicros(used), fromMicros(revoked), fromMicros(expires)
	return t, nil
}

// CreateToken implements admin.Store.
func (a *Admin) CreateToken(ctx context.Context, t admin.Token) error {
	queues, err := jsonText(t.Queues, len(t.Queues) == 0)
	if err != nil {
		return err
	}
	_, err = a.s.db.ExecContext(ctx, a.s.rebind(`INSERT INTO sundial_tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		t.ID, t.Name, string(t.Role), t.Hash, t.CreatedAt.UnixMicro(), t.CreatedBy, micros(t.LastUsedAt), micros(t.RevokedAt), micros(t.ExpiresAt), queues)
	if err != nil {
		return fmt.Errorf("%s: create token %q: %w", a.s.d.Name, t.ID, err)
	}
	return nil
}

// TokenByHash implements admin.Store.
func (a *Admin) TokenByHash(ctx context.Context, hash []byte) (admin.Token, error) {
	t, err := scanToken(a.s.db.QueryRowContext(ctx, a.s.rebind(`SELECT `+tokenCols+` FROM sundial_tokens WHERE hash = ? AND revoked_at IS NULL`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return admin.Token{}, admin.ErrTokenNotFound
	}
	if err != nil {
		return admin.Token{}, fmt.Errorf("%s: find token: %w", a.s.d.Name, err)
	}
	return t, nil
}

// ListTokens implements admin.Store.
func (a *Admin) ListTokens(ctx context.Context) ([]admin.Token, error) {
	rows, err := a.s.db.QueryContext(ctx, `SELECT `+tokenCols+` FROM sundial_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("%s: list tokens: %w", a.s.d.Name, err)
	}
	defer rows.Close()
	var out []admin.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: list tokens: %w", a.s.d.Name, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken implements admin.Store. The token and its sessions are
// revoked in one transaction: a session never outlives its token.
func (a *Admin) RevokeToken(ctx context.Context, id string, now time.Time) error {
	tx, err := a.s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: revoke token %q: %w", a.s.d.Name, id, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, a.s.rebind(`UPDATE sundial_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`), now.UnixMicro(), id)
	if err != nil {
		return fmt.Errorf("%s: revoke token %q: %w", a.s.d.Name, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return admin.ErrTokenNotFound
	}
	if _, err := tx.ExecContext(ctx, a.s.rebind(`UPDATE sundial_sessions SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL`), now.UnixMicro(), id); err != nil {
		return fmt.Errorf("%s: revoke the sessions of token %q: %w", a.s.d.Name, id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: revoke token %q: %w", a.s.d.Name, id, err)
	}
	return nil
}

// TouchToken implements admin.Store.
func (a *Admin) TouchToken(ctx context.Context, id string, now time.Time) error {
	if _, err := a.s.db.ExecContext(ctx, a.s.rebind(`UPDATE sundial_tokens SET last_used_at = ? WHERE id = ?`), now.UnixMicro(), id); err != nil {
		return fmt.Errorf("%s: touch token %q: %w", a.s.d.Name, id, err)
	}
	return nil
}

const sessionCols = `id, hash, token_id, name, role, created_at, last_seen_at, expires_at, revoked_at`

// CreateSession implements admin.Store.
func (a *Admin) CreateSession(ctx context.Context, se admin.Session) error {
	_, err := a.s.db.ExecContext(ctx, a.s.rebind(`INSERT INTO sundial_sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		se.ID, se.Hash, se.TokenID, se.Name, string(se.Role), se.CreatedAt.UnixMicro(), se.LastSeenAt.UnixMicro(), se.ExpiresAt.UnixMicro(), micros(se.RevokedAt))
	if err != nil {
		return fmt.Errorf("%s: create session: %w", a.s.d.Name, err)
	}
	return nil
}

// SessionByHash implements admin.Store.
func (a *Admin) SessionByHash(ctx context.Context, hash []byte) (admin.Session, error) {
	var se admin.Session
	var role string
	var created, seen, expires int64
	var revoked sql.NullInt64
	err := a.s.db.QueryRowContext(ctx, a.s.rebind(`SELECT `+sessionCols+` FROM sundial_sessions WHERE hash = ? AND revoked_at IS NULL`), hash).
		Scan(&se.ID, &se.Hash, &se.TokenID, &se.Name, &role, &created, &seen, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return admin.Session{}, admin.ErrSessionNotFound
	}
	if err != nil {
		return admin.Session{}, fmt.Errorf("%s: find session: %w", a.s.d.Name, err)
	}
	se.Role = admin.Role(role)
	se.CreatedAt, se.LastSeenAt, se.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(seen).UTC(), time.UnixMicro(expires).UTC()
	se.RevokedAt = fromMicros(revoked)
	return se, nil
}

// TouchSession implements admin.Store.
func (a *Admin) TouchSession(ctx context.Context, id string, now time.Time) error {
	if _, err := a.s.db.ExecContext(ctx, a.s.rebind(`UPDATE sundial_sessions SET last_seen_at = ? WHERE id = ?`), now.UnixMicro(), id); err != nil {
		return fmt.Errorf("%s: touch session: %w", a.s.d.Name, err)
	}
	return nil
}

// RevokeSession implements admin.Store.
func (a *Admin) RevokeSession(ctx context.Context, id string, now time.Time) error {
	res, err := a.s.db.ExecContext(ctx, a.s.rebind(`UPDATE sundial_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`), now.UnixMicro(), id)
	if err != nil {
		return fmt.Errorf("%s: revoke session: %w", a.s.d.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return admin.ErrSessionNotFound
	}
	return nil
}

// PruneSessions implements admin.Store.
func (a *Admin) PruneSessions(ctx context.Context, now, idleSince time.Time) (int, error) {
	res, err := a.s.db.ExecContext(ctx, a.s.rebind(`DELETE FROM sundial_sessions WHERE revoked_at IS NOT NULL OR expires_at <= ? OR last_seen_at < ?`),
		now.UnixMicro(), idleSince.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("%s: prune sessions: %w", a.s.d.Name, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// AppendAudit implements admin.Store.
func (a *Admin) AppendAudit(ctx context.Context, e admin.AuditEntry) (admin.AuditEntry, error) {
	err := a.s.db.QueryRowContext(ctx, a.s.rebind(`INSERT INTO sundial_audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?) RETURNING id`),
		e.At.UnixMicro(), e.Actor, e.Action, e.Target, rawText(e.Detail)).Scan(&e.ID)
	if err != nil {
		return admin.AuditEntry{}, fmt.Errorf("%s: append audit entry: %w", a.s.d.Name, err)
	}
	e.At = asStored(e.At)
	return e, nil
}

// ListAudit implements admin.Store.
func (a *Admin) ListAudit(ctx context.Context, f admin.AuditFilter) ([]admin.AuditEntry, error) {
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
	rows, err := a.s.db.QueryContext(ctx, a.s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: list audit: %w", a.s.d.Name, err)
	}
	defer rows.Close()
	var out []admin.AuditEntry
	for rows.Next() {
		var e admin.AuditEntry
		var at int64
		var detail sql.NullString
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &detail); err != nil {
			return nil, fmt.Errorf("%s: list audit: %w", a.s.d.Name, err)
		}
		e.At = time.UnixMicro(at).UTC()
		if detail.Valid {
			e.Detail = []byte(detail.String)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

const scriptCols = `name, version, lang, checksum, author, created_at, note`

func scanScript(row scanner, withSource bool) (admin.Script, error) {
	var sc admin.Script
	var created int64
	dest := []any{&sc.Name, &sc.Version, &sc.Lang, &sc.Checksum, &sc.Author, &created, &sc.Note}
	if withSource {
		dest = append(dest, &sc.Source)
	}
	if err := row.Scan(dest...); err != nil {
		return admin.Script{}, err
	}
	sc.CreatedAt = time.UnixMicro(created).UTC()
	return sc, nil
}

// AddScriptVersion implements admin.Store. Two uploads of one name
// at once both get a version: the loser of the primary key retries.
func (a *Admin) AddScriptVersion(ctx context.Context, sc admin.Script) (admin.Script, error) {
	for range 10 {
		var next int
		err := a.s.db.QueryRowContext(ctx, a.s.rebind(`INSERT INTO sundial_scripts (name, version, lang, source, checksum, author, created_at, note)
			SELECT ?, COALESCE(MAX(version), 0) + 1, ?, ?, ?, ?, ?, ? FROM sundial_scripts WHERE name = ? RETURNING version`),
			sc.Name, sc.Lang, sc.Source, sc.Checksum, sc.Author, sc.CreatedAt.UnixMicro(), sc.Note, sc.Name).Scan(&next)
		if err != nil && a.s.d.IsUniqueViolation(err) {
			continue
		}
		if err != nil {
			return admin.Script{}, fmt.Errorf("%s: add script %q: %w", a.s.d.Name, sc.Name, err)
		}
		sc.Version = next
		sc.CreatedAt = asStored(sc.CreatedAt)
		return sc, nil
	}
	return admin.Script{}, fmt.Errorf("%s: add script %q: too many concurrent uploads", a.s.d.Name, sc.Name)
}

// GetScript implements admin.Store.
func (a *Admin) GetScript(ctx context.Context, name string, version int) (admin.Script, error) {
	q := `SELECT ` + scriptCols + `, source FROM sundial_scripts WHERE name = ? ORDER BY version DESC LIMIT 1`
	args := []any{name}
	if version > 0 {
		q = `SELECT ` + scriptCols + `, source FROM sundial_scripts WHERE name = ? AND version = ?`
		args = append(args, version)
	}
	sc, err := scanScript(a.s.db.QueryRowContext(ctx, a.s.rebind(q), args...), true)
	if errors.Is(err, sql.ErrNoRows) {
		return admin.Script{}, admin.ErrScriptNotFound
	}
	if err != nil {
		return admin.Script{}, fmt.Errorf("%s: get script %q: %w", a.s.d.Name, name, err)
	}
	return sc, nil
}

func (a *Admin) listScripts(ctx context.Context, q string, args ...any) ([]admin.Script, error) {
	rows, err := a.s.db.QueryContext(ctx, a.s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: list scripts: %w", a.s.d.Name, err)
	}
	defer rows.Close()
	var out []admin.Script
	for rows.Next() {
		sc, err := scanScript(rows, false)
		if err != nil {
			return nil, fmt.Errorf("%s: list scripts: %w", a.s.d.Name, err)
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// ListScripts implements admin.Store.
func (a *Admin) ListScripts(ctx context.Context) ([]admin.Script, error) {
	return a.listScripts(ctx, `SELECT `+scriptCols+` FROM sundial_scripts s
		WHERE version = (SELECT MAX(version) FROM sundial_scripts WHERE name = s.name) ORDER BY name`)
}

// ScriptVersions implements admin.Store.
func (a *Admin) ScriptVersions(ctx context.Context, name string) ([]admin.Script, error) {
	out, err := a.listScripts(ctx, `SELECT `+scriptCols+` FROM sundial_scripts WHERE name = ? ORDER BY version DESC`, name)
	if err == nil && len(out) == 0 {
		return nil, admin.ErrScriptNotFound
	}
	return out, err
}

// PutSecret implements admin.Store.
func (a *Admin) PutSecret(ctx context.Context, sec admin.SealedSecret) error {
	_, err := a.s.db.ExecContext(ctx, a.s.rebind(`INSERT INTO sundial_secrets (name, sealed, updated_at, updated_by) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at, updated_by = excluded.updated_by`),
		sec.Name, sec.Sealed, sec.UpdatedAt.UnixMicro(), sec.UpdatedBy)
	if err != nil {
		return fmt.Errorf("%s: put secret %q: %w", a.s.d.Name, sec.Name, err)
	}
	return nil
}

func scanSecret(row scanner) (admin.SealedSecret, error) {
	var sec admin.SealedSecret
	var at int64
	if err := row.Scan(&sec.Name, &sec.Sealed, &at, &sec.UpdatedBy); err != nil {
		return admin.SealedSecret{}, err
	}
	sec.UpdatedAt = time.UnixMicro(at).UTC()
	return sec, nil
}

// GetSecret implements admin.Store.
func (a *Admin) GetSecret(ctx context.Context, name string) (admin.SealedSecret, error) {
	sec, err := scanSecret(a.s.db.QueryRowContext(ctx, a.s.rebind(`SELECT name, sealed, updated_at, updated_by FROM sundial_secrets WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return admin.SealedSecret{}, admin.ErrSecretNotFound
	}
	if err != nil {
		return admin.SealedSecret{}, fmt.Errorf("%s: get secret %q: %w", a.s.d.Name, name, err)
	}
	return sec, nil
}

// ListSecrets implements admin.Store.
func (a *Admin) ListSecrets(ctx context.Context) ([]admin.SealedSecret, error) {
	rows, err := a.s.db.QueryContext(ctx, `SELECT name, sealed, updated_at, updated_by FROM sundial_secrets ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("%s: list secrets: %w", a.s.d.Name, err)
	}
	defer rows.Close()
	var out []admin.SealedSecret
	for rows.Next() {
		sec, err := scanSecret(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: list secrets: %w", a.s.d.Name, err)
		}
		out = append(out, sec)
	}
	return out, rows.Err()
}

// DeleteSecret implements admin.Store.
func (a *Admin) DeleteSecret(ctx context.Context, name string) error {
	res, err := a.s.db.ExecContext(ctx, a.s.rebind(`DELETE FROM sundial_secrets WHERE name = ?`), name)
	if err != nil {
		return fmt.Errorf("%s: delete secret %q: %w", a.s.d.Name, name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return admin.ErrSecretNotFound
	}
	return nil
}
