// Package chaos holds Sundial's chaos suite (issue #11): it proves, with
// real `sundial serve` processes on SQLite and on PostgreSQL, that a run
// executes only while its node holds it.
//
// Three replicas run jobs whose task is a shell command that appends
// witness lines (start, a tick every 100 ms, end) to a file of its own.
// Nemeses strike one replica at a time — kill -9 of the server, kill -9 of
// its whole process tree, SIGSTOP past its lease, a restart with the same
// node ID, a restart of PostgreSQL — and a checker compares the witness
// files with the store's run records: no silent loss, no duplicate or
// overlapping execution of a fire, nothing running after its lease ended,
// every retry preceded by a recorded loss, recovery within a bound.
//
// The suite is opt-in, because it takes minutes:
//
//	SUNDIAL_CHAOS=short go test -count=1 -timeout 15m ./test/chaos/
//	SUNDIAL_CHAOS=long  go test -count=1 -timeout 60m -v ./test/chaos/
//
// The checker's own unit tests run in every `go test ./...`.
package chaos
