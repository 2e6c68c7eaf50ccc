// Package secrets keeps named secrets for the server: sealed with the
// server's key (AES-256-GCM, key from SUNDIAL_SECRET_KEY) before they reach
// the store, revealed only to the runs of jobs granted them, and masked
// wherever their values would otherwise be shown: run output, results,
// errors and logs.
package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sundialhq/sundial/internal/admin"
)

// ErrNoKey: the server was started without SUNDIAL_SECRET_KEY or a key
// file.
var ErrNoKey = errors.New("secrets need a key: set SUNDIAL_SECRET_KEY, or secret_key_file (SUNDIAL_SECRET_KEY_FILE), to 32 random bytes in base64 (openssl rand -base64 32)")

// Vault seals, stores and reveals secrets. Every value it has seen is
// added to its Masker.
type Vault struct {
	store  admin.Store
	aead   cipher.AEAD
	masker *Masker
	now    func() time.Time
}

// ParseKey reads a key: 32 bytes in standard or URL-safe base64.
func ParseKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(text); err == nil && len(key) == 32 {
			return key, nil
		}
	}
	return nil, errors.New("SUNDIAL_SECRET_KEY must be 32 random bytes in base64 (openssl rand -base64 32)")
}

// NewVault returns a vault over store. A nil key gives a vault that lists
// and deletes but refuses to seal or reveal (ErrNoKey).
func NewVault(store admin.Store, key []byte, masker *Masker) (*Vault, error) {
	v := &Vault{store: store, masker: masker, now: time.Now}
	if key != nil {
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		if v.aead, err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Masker returns the vault's masker.
func (v *Vault) Masker() *Masker { return v.masker }

var nameRE = regexp.MustCompile(`^[A-Z_][A-Z0-9_]{0,99}$`)

// CheckName refuses names that are not environment variable names.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("secret name %q must look like an environment variable: A-Z, 0-9 and _, not starting with a digit", name)
	}
	return nil
}

// Put seals value under name and stores it.
func (v *Vault) Put(ctx context.Context, name, value, by string) error {
	if v.aead == nil {
		return ErrNoKey
	}
	if err := CheckName(name); err != nil {
		return err
	}
	if value == "" {
		return errors.New("a secret's value must not be empty")
	}
	nonce := make([]byte, v.aead.NonceSize())
	rand.Read(nonce)
	// The name is authenticated with the value: a sealed value copied to
	// another name does not open.
	sealed := append([]byte{1}, nonce...)
	sealed = v.aead.Seal(sealed, nonce, []byte(value), []byte(name))
	if err := v.store.PutSecret(ctx, admin.SealedSecret{Name: name, Sealed: sealed, UpdatedAt: v.now(), UpdatedBy: by}); err != nil {
		return err
	}
	v.masker.Add(value)
	return nil
}

// Reveal opens the named secrets, for a run that was granted them.
func (v *Vault) Reveal(ctx context.Context, names []string) (map[string]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if v.aead == nil {
		return nil, ErrNoKey
	}
	out := make(map[string]string, len(names))
	for _, name := range names {
		sec, err := v.store.GetSecret(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("secret %q: %w", name, err)
		}
		value, err := v.open(sec)
		if err != nil {
			return nil, err
		}
		v.masker.Add(value)
		out[name] = value
	}
	return out, nil
}

func (v *Vault) open(sec admin.SealedSecret) (string, error) {
	n := v.aead.NonceSize()
	if len(sec.Sealed) < 1+n || sec.Sealed[0] != 1 {
		return "", fmt.Errorf("secret %q: sealed value is damaged", sec.Name)
	}
	plain, err := v.aead.Open(nil, sec.Sealed[1:1+n], sec.Sealed[1+n:], []byte(sec.Name))
	if err != nil {
		return "", fmt.Errorf("secret %q: cannot open it with this SUNDIAL_SECRET_KEY (was the key changed?)", sec.Name)
	}
	return string(plain), nil
}

// LoadMasks adds every stored secret's value to the masker, so that logs
// mask them from the start.
func (v *Vault) LoadMasks(ctx context.Context) error {
	if v.aead == nil {
		return nil
	}
	all, err := v.store.ListSecrets(ctx)
	if err != nil {
		return err
	}
	for _, sec := range all {
		if value, err := v.open(sec); err == nil {
			v.masker.Add(value)
		}
	}
	return nil
}

// List returns the secrets' names and times, never their values.
func (v *Vault) List(ctx context.Context) ([]admin.SealedSecret, error) {
	all, err := v.store.ListSecrets(ctx)
	for i := range all {
		all[i].Sealed = nil
	}
	return all, err
}

// Delete removes a secret.
func (v *Vault) Delete(ctx context.Context, name string) error {
	return v.store.DeleteSecret(ctx, name)
}
