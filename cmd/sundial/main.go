// Command sundial is the Sundial command line; see internal/cli.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
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
	// otherwise ignore the second Ctrl-C. The tasks' processes, in process
	// groups of their own, are killed first, so that none runs on beside
	// the retry of its run.
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	// exiting is held by whoever ends the process: killing the tasks can
	// let the graceful stop finish meanwhile, and its exit must not win.
	var exiting sync.Mutex
	go func() {
		<-signals
		cancel()
		sig := <-signals
		exiting.Lock()
		n := killChildren()
		fmt.Fprintf(os.Stderr, "sundial: second signal (%v): exiting at once; killed %d task process(es); their runs are left to their leases\n", sig, n)
		os.Exit(128 + int(sig.(syscall.Signal)))
	}()
	code := cli.Run(ctx, os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr})
	cancel()
	exiting.Lock()
	// A server whose scheduler did not stop in time (its store hung) may
	// leave tasks running; they must not outlive it.
	if n := killChildren(); n > 0 {
		fmt.Fprintf(os.Stderr, "sundial: killed %d task process(es) still running at exit; their runs are left to their leases\n", n)
	}
	os.Exit(code)
}
