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

var _ sundial.RunOutputWriter = (*Store)(nil)

// UpdateRunOutput implements sundial.RunOutputWriter.
func (s *Store) UpdateRunOutput(ctx context.Context, runID, incarnation, output string) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE sundial_runs SET output = ? WHERE id = ? AND status IN ('pending', 'running') AND COALESCE(incarnation, '') = ?`),
		output, runID, incarnation)
	if err != nil {
		return fmt.Errorf("%s: save output of run %q: %w", s.d.Name, runID, err)
	}
	return nil
}

const scriptCols = `name, version, lang, checksum, author, created_at, note`

func scanScript(row scanner, withSource bool) (sundial.Script, error) {
	var sc sundial.Script
	var created int64
	dest := []any{&sc.Name, &sc.Version, &sc.Lang, &sc.Checksum, &sc.Author, &created, &sc.Note}
	if withSource {
		dest = append(dest, &sc.Source)
	}
	if err := row.Scan(dest...); err != nil {
		return sundial.Script{}, err
	}
	sc.CreatedAt = time.UnixMicro(created).UTC()
	return sc, nil
}

// AddScriptVersion implements sundial.AdminStore. Two uploads of one name
// at once both get a version: the loser of the primary key retries.
func (s *Store) AddScriptVersion(ctx context.Context, sc sundial.Script) (sundial.Script, error) {
	for range 10 {
		var next int
		err := s.db.QueryRowContext(ctx, s.rebind(`INSERT INTO sundial_scripts (name, version, lang, source, checksum, author, created_at, note)
			SELECT ?, COALESCE(MAX(version), 0) + 1, ?, ?, ?, ?, ?, ? FROM sundial_scripts WHERE name = ? RETURNING version`),
			sc.Name, sc.Lang, sc.Source, sc.Checksum, sc.Author, sc.CreatedAt.UnixMicro(), sc.Note, sc.Name).Scan(&next)
		if err != nil && s.d.IsUniqueViolation(err) {
			continue
		}
		if err != nil {
			return sundial.Script{}, fmt.Errorf("%s: add script %q: %w", s.d.Name, sc.Name, err)
		}
		sc.Version = next
		sc.CreatedAt = asStored(sc.CreatedAt)
		return sc, nil
	}
	return sundial.Script{}, fmt.Errorf("%s: add script %q: too many concurrent uploads", s.d.Name, sc.Name)
}

// GetScript implements sundial.AdminStore.
func (s *Store) GetScript(ctx context.Context, name string, version int) (sundial.Script, error) {
	q := `SELECT ` + scriptCols + `, source FROM sundial_scripts WHERE name = ? ORDER BY version DESC LIMIT 1`
	args := []any{name}
	if version > 0 {
		q = `SELECT ` + scriptCols + `, source FROM sundial_scripts WHERE name = ? AND version = ?`
		args = append(args, version)
	}
	sc, err := scanScript(s.db.QueryRowContext(ctx, s.rebind(q), args...), true)
	if errors.Is(err, sql.ErrNoRows) {
		return sundial.Script{}, sundial.ErrScriptNotFound
	}
	if err != nil {
		return sundial.Script{}, fmt.Errorf("%s: get script %q: %w", s.d.Name, name, err)
	}
	return sc, nil
}

func (s *Store) listScripts(ctx context.Context, q string, args ...any) ([]sundial.Script, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: list scripts: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []sundial.Script
	for rows.Next() {
		sc, err := scanScript(rows, false)
		if err != nil {
			return nil, fmt.Errorf("%s: list scripts: %w", s.d.Name, err)
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// ListScripts implements sundial.AdminStore.
func (s *Store) ListScripts(ctx context.Context) ([]sundial.Script, error) {
	return s.listScripts(ctx, `SELECT `+scriptCols+` FROM sundial_scripts s
		WHERE version = (SELECT MAX(version) FROM sundial_scripts WHERE name = s.name) ORDER BY name`)
}

// ScriptVersions implements sundial.AdminStore.
func (s *Store) ScriptVersions(ctx context.Context, name string) ([]sundial.Script, error) {
	out, err := s.listScripts(ctx, `SELECT `+scriptCols+` FROM sundial_scripts WHERE name = ? ORDER BY version DESC`, name)
	if err == nil && len(out) == 0 {
		return nil, sundial.ErrScriptNotFound
	}
	return out, err
}

// PutSecret implements sundial.AdminStore.
func (s *Store) PutSecret(ctx context.Context, sec sundial.SealedSecret) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO sundial_secrets (name, sealed, updated_at, updated_by) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at, updated_by = excluded.updated_by`),
		sec.Name, sec.Sealed, sec.UpdatedAt.UnixMicro(), sec.UpdatedBy)
	if err != nil {
		return fmt.Errorf("%s: put secret %q: %w", s.d.Name, sec.Name, err)
	}
	return nil
}

func scanSecret(row scanner) (sundial.SealedSecret, error) {
	var sec sundial.SealedSecret
	var at int64
	if err := row.Scan(&sec.Name, &sec.Sealed, &at, &sec.UpdatedBy); err != nil {
		return sundial.SealedSecret{}, err
	}
	sec.UpdatedAt = time.UnixMicro(at).UTC()
	return sec, nil
}

// GetSecret implements sundial.AdminStore.
func (s *Store) GetSecret(ctx context.Context, name string) (sundial.SealedSecret, error) {
	sec, err := scanSecret(s.db.QueryRowContext(ctx, s.rebind(`SELECT name, sealed, updated_at, updated_by FROM sundial_secrets WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return sundial.SealedSecret{}, sundial.ErrSecretNotFound
	}
	if err != nil {
		return sundial.SealedSecret{}, fmt.Errorf("%s: get secret %q: %w", s.d.Name, name, err)
	}
	return sec, nil
}

// ListSecrets implements sundial.AdminStore.
func (s *Store) ListSecrets(ctx context.Context) ([]sundial.SealedSecret, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, sealed, updated_at, updated_by FROM sundial_secrets ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("%s: list secrets: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []sundial.SealedSecret
	for rows.Next() {
		sec, err := scanSecret(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: list secrets: %w", s.d.Name, err)
		}
		out = append(out, sec)
	}
	return out, rows.Err()
}

// DeleteSecret implements sundial.AdminStore.
func (s *Store) DeleteSecret(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM sundial_secrets WHERE name = ?`), name)
	if err != nil {
		return fmt.Errorf("%s: delete secret %q: %w", s.d.Name, name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sundial.ErrSecretNotFound
	}
	return nil
}
