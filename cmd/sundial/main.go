// Command sundial is the Sundial command line; see internal/cli.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // the binary carries its own zone database, so it runs on any host

	"github.com/sundialhq/sundial/internal/cli"
)

func main() {
	// The binary is also the supervisor of every task's child process:
	// task/isolate takes over at initialisation when it is started so,
	// before main.
	ctx, cancel := context.WithCancel(context.Background())
	// The first SIGINT or SIGTERM starts a graceful stop; the second ends
	// the process at once. The signals stay caught to the end rather than
	// getting their inherited disposition back: a process started with
	// SIGINT ignored (`sundial serve &` in a non-interactive shell) would
	// otherwise ignore the second Ctrl-C. The tasks' processes need nothing
	// here: each one's supervisor kills its whole tree when this process's
	// end of their control socket closes, however it exits.
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		cancel()
		sig := <-signals
		fmt.Fprintf(os.Stderr, "sundial: second signal (%v): exiting at once; the tasks' processes are killed with it, their runs left to their leases\n", sig)
		os.Exit(128 + int(sig.(syscall.Signal)))
	}()
	code := cli.Run(ctx, os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr})
	cancel()
	os.Exit(code)
}
