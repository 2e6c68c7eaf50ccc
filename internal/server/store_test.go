package server

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sundialhq/sundial/internal/pgtest"

	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/admin/admintest"
)

// TestAdminStoreConformance runs the admin.Store suite on the admin store
// OpenStore builds beside the scheduling store, on SQLite and PostgreSQL.
func TestAdminStoreConformance(t *testing.T) {
	open := func(t *testing.T, dsn string) admin.Store {
		_, records, closeStore, err := OpenStore(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(closeStore)
		return records
	}
	t.Run("SQLite", func(t *testing.T) {
		admintest.Run(t, func(t *testing.T) admin.Store { return open(t, "sqlite:"+filepath.Join(t.TempDir(), "s.db")) })
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		admintest.Run(t, func(t *testing.T) admin.Store { return open(t, pgtest.SchemaDSN(t)) })
	})
}
