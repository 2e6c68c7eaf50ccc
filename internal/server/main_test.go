package server

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// The servers under test live outside synctest bubbles: every goroutine
// they start (scheduler, listeners, notifiers, child-process watchers)
// must be gone when the tests end. Idle keep-alive connections of the
// tests' own HTTP clients are not the servers'.
func TestMain(m *testing.M) {
	if os.Getenv(forgetHelperEnv) != "" {
		os.Exit(forgetHelper())
	}
	if os.Getenv(goWorkerEnv) != "" {
		os.Exit(goWorkerHelper())
	}
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
}
