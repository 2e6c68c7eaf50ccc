// Package admin is the server's own domain, beside the scheduling domain of
// the root package: API tokens and their roles, the web UI's sessions, the audit log, uploaded
// scripts, sealed secrets, and the sources of the jobs the server manages.
// A program that only schedules jobs never needs it.
//
// Store is what the server keeps of these. The server (internal/server)
// builds the store beside the scheduling store, over the same database
// (internal/sqlstore.Admin), and hands it to the API, the web UI, the
// secrets vault and the script task kind; nothing else touches it.
// NewMemory is an in-memory Store, for tests and embedding.
package admin

// Job sources: the values of sundial.Job.Source for the jobs the server
// manages ("" is a job of a program using the library).
const (
	// SourceAPI marks a job created through the server's API or CLI.
	SourceAPI = "api"
	// SourceConfig marks a job declared in the server's config file.
	SourceConfig = "config"
)
