package pgstore_test

import (
	"context"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/pgstore"
)

// Every replica opens a pool on the same database and starts a scheduler
// over it; the store migrates the schema once, however many replicas start
// together, and each fire runs on one of them.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close() // the pool is the caller's
	store, err := pgstore.New(ctx, pool)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	s, err := sundial.New(sundial.Config{Store: store, NodeID: os.Getenv("HOSTNAME")})
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer s.Shutdown(ctx)
}
