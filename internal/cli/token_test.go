package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/httpapi"
	"github.com/sundialhq/sundial/internal/server"
)

func TestTokenCreateExpires(t *testing.T) {
	a := newAPIServer(t)
	before := time.Now()
	var tok httpapi.NewTokenView
	if err := json.Unmarshal([]byte(a.mustCLI(admin.RoleAdmin, "token", "create", "--name", "ci", "--role", "viewer", "--expires", "720h", "--json")), &tok); err != nil {
		t.Fatal(err)
	}
	if d := tok.ExpiresAt.Sub(before); d < 720*time.Hour || d > 721*time.Hour {
		t.Errorf("--expires 720h: the token expires at %s, %s from its creation", tok.ExpiresAt, d)
	}
	if out := a.mustCLI(admin.RoleAdmin, "token", "list"); !strings.Contains(out, "active, expires ") {
		t.Errorf("list does not show the end:\n%s", out)
	}
	// Rotating goes through a POST without a body, sent as JSON.
	if out := a.mustCLI(admin.RoleAdmin, "token", "rotate", tok.ID); !strings.Contains(out, ", expires ") {
		t.Errorf("rotate = %s", out)
	}
	if code, _, errOut := a.cli(admin.RoleAdmin, "token", "create", "--name", "x", "--role", "viewer", "--expires", "-1h"); code != ExitUsage || !strings.Contains(errOut, "--expires") {
		t.Errorf("a negative --expires: exit %d, %s", code, errOut)
	}

	// Straight into the store, too.
	db := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	code, out, errOut := run(t, "token", "create", "--db", db, "--name", "rescue", "--role", "admin", "--expires", "1h", "--json")
	if code != ExitOK {
		t.Fatalf("create --db: exit %d %s", code, errOut)
	}
	json.Unmarshal([]byte(out), &tok)
	_, records, closeStore, err := server.OpenStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	list, _ := records.ListTokens(context.Background())
	if len(list) != 1 || !list[0].ExpiresAt.Equal(time.Date(2026, 3, 7, 13, 0, 0, 0, time.UTC)) {
		t.Errorf("stored tokens %+v, want one ending at 13:00", list)
	}
}
