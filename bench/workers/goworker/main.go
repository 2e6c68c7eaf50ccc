// Command goworker is the Go worker of the workers benchmark
// (bench/workers): a process of its own, as a user's Go service would be,
// that serves the task "noop" — it returns at once, with no result — to a
// Sundial server through package worker.
//
//	SUNDIAL_TOKEN=sdl_… goworker -url http://127.0.0.1:8080 -name bench-go -capacity 8
//
// Its logs are JSON lines on stderr at the debug level, so that the
// benchmark reads when each run started and when its report was accepted
// ("run started", "run ended") with nanosecond times.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/worker"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "the server's base URL")
	name := flag.String("name", "", "the worker's name (default host-pid)")
	capacity := flag.Int("capacity", 8, "runs at once")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, err := worker.New(worker.Config{URL: *url, Token: os.Getenv("SUNDIAL_TOKEN"), Name: *name, Capacity: *capacity, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	noop := func(context.Context, sundial.Run) (any, error) { return nil, nil }
	if err := w.Register("noop", noop); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := w.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
