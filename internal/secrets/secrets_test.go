package secrets

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/sundialhq/sundial/internal/admin"
)

func newKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func TestSealRevealAndMask(t *testing.T) {
	ctx := context.Background()
	store := admin.NewMemory()
	key, err := ParseKey(newKey())
	if err != nil {
		t.Fatal(err)
	}
	v, _ := NewVault(store, key, NewMasker())
	canary := "hunter2-canary-value"
	if err := v.Put(ctx, "DB_PASSWORD", canary, "test"); err != nil {
		t.Fatal(err)
	}
	sealed, _ := store.GetSecret(ctx, "DB_PASSWORD")
	if bytes.Contains(sealed.Sealed, []byte(canary)) {
		t.Fatal("the store holds the value in clear")
	}
	got, err := v.Reveal(ctx, []string{"DB_PASSWORD"})
	if err != nil || got["DB_PASSWORD"] != canary {
		t.Fatalf("Reveal = %v, %v", got, err)
	}
	// A sealed value moved to another name does not open.
	store.PutSecret(ctx, admin.SealedSecret{Name: "OTHER", Sealed: sealed.Sealed})
	if _, err := v.Reveal(ctx, []string{"OTHER"}); err == nil {
		t.Error("a sealed value opened under another name")
	}
	// Another key cannot open it; a fresh vault learns the masks from the store.
	key2, _ := ParseKey(newKey())
	other, _ := NewVault(store, key2, NewMasker())
	if _, err := other.Reveal(ctx, []string{"DB_PASSWORD"}); err == nil || !strings.Contains(err.Error(), "SUNDIAL_SECRET_KEY") {
		t.Errorf("wrong key: %v", err)
	}
	fresh, _ := NewVault(store, key, NewMasker())
	fresh.LoadMasks(ctx)
	if got := fresh.Masker().Mask("pw=" + canary + "!"); got != "pw=****!" {
		t.Errorf("Mask = %q", got)
	}
	for _, list := range [][]admin.SealedSecret{must(v.List(ctx))} {
		for _, s := range list {
			if s.Sealed != nil {
				t.Error("List returned sealed bytes")
			}
		}
	}
	noKey, _ := NewVault(store, nil, NewMasker())
	if err := noKey.Put(ctx, "X_Y", "value", "t"); !errors.Is(err, ErrNoKey) {
		t.Errorf("Put without a key: %v", err)
	}
	for _, bad := range []string{"lower", "1ABC", "A-B", ""} {
		if err := v.Put(ctx, bad, "value", "t"); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	if _, err := ParseKey("too-short"); err == nil {
		t.Error("a short key was accepted")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
