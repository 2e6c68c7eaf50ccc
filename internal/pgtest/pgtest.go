// Package pgtest gives tests a PostgreSQL schema of their own: the
// database is the one SUNDIAL_TEST_POSTGRES names, and each test works in
// a fresh schema that is dropped when it ends, so tests in many packages
// can share one server side by side. It is for tests only.
package pgtest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvVar names the environment variable with the test database's URL.
const EnvVar = "SUNDIAL_TEST_POSTGRES"

// SchemaDSN returns the test database's URL with its search_path set to a
// fresh schema, dropped after the test, or skips the test with a message
// saying how to run it when SUNDIAL_TEST_POSTGRES is not set.
func SchemaDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvVar)
	if dsn == "" {
		t.Skip("set " + EnvVar + " (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests")
	}
	ctx := context.Background()
	admin, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := "sundial_test_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
