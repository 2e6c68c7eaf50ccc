// Command sundial is the Sundial command line; see internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // the binary carries its own zone database, so it runs on any host

	"github.com/sundialhq/sundial/internal/cli"
	"github.com/sundialhq/sundial/task/isolate"
)

func main() {
	// The binary is also the shim that starts a task's child process with
	// its limits set (see task/isolate).
	if len(os.Args) > 1 && os.Args[1] == isolate.ShimArg {
		os.Exit(isolate.ShimMain(os.Args[2:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal starts a graceful stop; then the signals get their
	// default action back, so that a second one ends the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := cli.Run(ctx, os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
