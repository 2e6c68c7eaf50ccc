package admin

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Role is what an API token may do.
type Role string

// Roles, each allowed everything the one before it is.
const (
	// RoleViewer reads jobs, runs and the scheduler's status.
	RoleViewer Role = "viewer"
	// RoleOperator also pauses, resumes and runs jobs now.
	RoleOperator Role = "operator"
	// RoleAdmin also creates, changes and deletes jobs, code and tokens.
	RoleAdmin Role = "admin"
	// RoleWorker runs a worker (docs/workers.md): it opens worker sessions
	// and claims, renews and reports runs, in the queues its token names,
	// and nothing else — not even reading jobs. It stands outside the
	// ladder of the others; an admin may do what it does.
	RoleWorker Role = "worker"
)

// Allows reports whether the role includes need.
func (r Role) Allows(need Role) bool {
	if need == RoleWorker {
		return r == RoleWorker || r == RoleAdmin
	}
	return r.rank() >= need.rank() && need.rank() > 0
}

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r.rank() > 0 || r == RoleWorker }

// Token is an API token as the store keeps it: only the SHA-256 hash of its
// secret, never the secret.
type Token struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Role       Role      `json:"role"`
	Hash       []byte    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	CreatedBy  string    `json:"created_by,omitempty"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// RevokedAt is set when the token was revoked; it no longer works.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// ExpiresAt, when set, is when the token stops working.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Queues hold a worker token to the runs of these queues; empty
	// means all.
	Queues []string `json:"queues,omitempty"`
}

// Expired reports whether the token has an end and now is past it.
func (t Token) Expired(now time.Time) bool { return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) }

// Session is a browser's login as the store keeps it: only the SHA-256
// hash of the cookie's secret, never the secret, and who it acts as.
// It is kept apart from the token that opened it, so that the cookie
// never carries an API token; revoking that token ends the session.
type Session struct {
	ID   string `json:"id"`
	Hash []byte `json:"-"`
	// TokenID is the token the session was opened with ("" when it was
	// opened some other way).
	TokenID string `json:"token_id,omitempty"`
	// Name and Role are who the session acts as.
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	// LastSeenAt is when the session was last used, to the minute: a
	// session unused for its idle timeout ends.
	LastSeenAt time.Time `json:"last_seen_at"`
	// ExpiresAt is when the session ends however much it is used.
	ExpiresAt time.Time `json:"expires_at"`
	// RevokedAt is set when the session was logged out.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// AuditEntry records one change made through the server: who, when, what.
type AuditEntry struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// Actor is the token that made the change ("token:ID (name)"), or
	// "config" for the config file, "system" for the server itself.
	Actor string `json:"actor"`
	// Action is what was done, such as "job.create" or "token.revoke".
	Action string `json:"action"`
	// Target is what it was done to, such as a job or token ID.
	Target string `json:"target"`
	// Detail is the change, as JSON (a job's new definition, say).
	Detail json.RawMessage `json:"detail,omitempty"`
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	// Target selects the entries about one thing.
	Target string
	// BeforeID selects entries older than this ID: the cursor of a paged
	// listing.
	BeforeID int64
	// Limit caps the entries returned; zero means no cap.
	Limit int
}

// ErrTokenNotFound: no live token has the ID or hash.
var ErrTokenNotFound = errors.New("token not found")

// ErrSessionNotFound: no live session has the ID or hash.
var ErrSessionNotFound = errors.New("session not found")

// ErrScriptNotFound: no script has the name, or not the version.
var ErrScriptNotFound = errors.New("script not found")

// ErrSecretNotFound: no secret has the name.
var ErrSecretNotFound = errors.New("secret not found")

// Script is one version of source code uploaded to the server; every
// version is kept.
type Script struct {
	Name string `json:"name"`
	// Version counts from 1 per name.
	Version int `json:"version"`
	// Lang is python, sh, bash or node.
	Lang   string `json:"lang"`
	Source string `json:"source,omitempty"`
	// Checksum is the SHA-256 of Source, in hex.
	Checksum  string    `json:"checksum"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
	// Note says why the version exists, such as "rollback to 3".
	Note string `json:"note,omitempty"`
}

// SealedSecret is a named secret as the store keeps it: encrypted, by a
// key the store never sees.
type SealedSecret struct {
	Name      string    `json:"name"`
	Sealed    []byte    `json:"-"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// Store keeps the server's own records: API tokens, the web UI's
// sessions, the audit log, uploaded scripts and sealed secrets. internal/sqlstore.Admin keeps them
// in the scheduling store's database; Memory keeps them in memory.
type Store interface {
	// CreateToken stores a new token.
	CreateToken(ctx context.Context, t Token) error
	// TokenByHash returns the unrevoked token with the hash, or
	// ErrTokenNotFound.
	TokenByHash(ctx context.Context, hash []byte) (Token, error)
	// ListTokens returns every token, revoked ones included, by creation.
	ListTokens(ctx context.Context) ([]Token, error)
	// RevokeToken marks a token revoked at now, and with it the sessions
	// opened with it, or returns ErrTokenNotFound when no unrevoked token
	// has the ID.
	RevokeToken(ctx context.Context, id string, now time.Time) error
	// TouchToken records that a token was used at now.
	TouchToken(ctx context.Context, id string, now time.Time) error

	// CreateSession stores a new session.
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns the unrevoked session with the hash, or
	// ErrSessionNotFound. Whether it has expired is the caller's to judge,
	// on its clock.
	SessionByHash(ctx context.Context, hash []byte) (Session, error)
	// TouchSession records that a session was used at now.
	TouchSession(ctx context.Context, id string, now time.Time) error
	// RevokeSession marks a session revoked at now, or returns
	// ErrSessionNotFound when no unrevoked session has the ID.
	RevokeSession(ctx context.Context, id string, now time.Time) error
	// PruneSessions deletes the sessions that can no longer be used:
	// revoked, past their ExpiresAt at now, or last seen before idleSince.
	// It returns how many it deleted.
	PruneSessions(ctx context.Context, now, idleSince time.Time) (int, error)
	// AppendAudit stores an entry and returns it with its ID set.
	AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// ListAudit returns the entries that pass the filter, newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)

	// AddScriptVersion stores s as the next version of its name (1 for a
	// new name) and returns it with Version set.
	AddScriptVersion(ctx context.Context, s Script) (Script, error)
	// GetScript returns a version of a script, the latest when version is
	// 0, or ErrScriptNotFound.
	GetScript(ctx context.Context, name string, version int) (Script, error)
	// ListScripts returns the latest version of every script, without
	// source, ordered by name.
	ListScripts(ctx context.Context) ([]Script, error)
	// ScriptVersions returns every version of a script, newest first,
	// without source; ErrScriptNotFound when there is none.
	ScriptVersions(ctx context.Context, name string) ([]Script, error)

	// PutSecret creates or replaces a secret.
	PutSecret(ctx context.Context, s SealedSecret) error
	// GetSecret returns a secret, or ErrSecretNotFound.
	GetSecret(ctx context.Context, name string) (SealedSecret, error)
	// ListSecrets returns every secret, ordered by name.
	ListSecrets(ctx context.Context) ([]SealedSecret, error)
	// DeleteSecret removes a secret, or returns ErrSecretNotFound.
	DeleteSecret(ctx context.Context, name string) error
}
