// Package sundial runs background jobs on time — cron, intervals, one-off
// dates — exactly once, with a history of every run.
//
// A [Scheduler] fires the jobs kept in a [Store] and runs their tasks, Go
// functions registered by name, on a bounded pool of workers:
//
//	s, _ := sundial.New(sundial.Config{Store: memstore.New(memstore.Options{})})
//	s.Register("report", sendReport)
//	s.AddJob(ctx, sundial.Job{ID: "daily-report", Task: "report",
//		Trigger: trigger.CronExpr("0 9 * * 1-5", trigger.InZone("Europe/London"))})
//	s.Start(ctx)
//	defer s.Shutdown(ctx)
//
// The stores are in store/: memstore (in memory), sqlitestore (one file,
// one or several processes on a host) and pgstore (replicas on several
// hosts). Every one passes the conformance suite in store/storetest.
//
// # Claim, then run
//
// Any number of schedulers — goroutines, processes, hosts — may share one
// durable store, and each fire of a job runs once:
//
//  1. A job holds its trigger and NextRunAt. A scheduler's loop sleeps until
//     the earliest NextRunAt it knows of, a change, or Config.MaxSleep.
//  2. It claims due work in one atomic step of the store ([Store.Claim]):
//     for each due job the claim decision (planFires, in plan.go) settles
//     misfires, coalescing and overlap, the job's next fire is written back,
//     and every fire becomes a run row, keyed by (job, fire time, attempt)
//     so that no fire is recorded twice even if the code above were wrong.
//  3. The claimed runs execute on the worker pool; each is leased to the
//     claiming node's incarnation (its process start) until LeaseTTL, and
//     the node's heartbeat renews its leases every LeaseTTL/3.
//  4. A node that dies stops renewing; another node's heartbeat marks its
//     runs lost once their leases end ([Store.ReapLost]) and plans retries
//     where the job allows. A node restarted under the same ID marks its
//     previous incarnation's runs lost at once ([Store.RegisterNode]).
//
// Fencing keeps a run from executing where its node no longer holds it: a
// node starts a run only while its lease is fresh, stops it itself when it
// cannot renew for 3/4 of the lease (on the monotonic clock, so a frozen
// process notices on waking), and every write about a run carries the
// holder's incarnation, so that the store refuses a late writer
// ([ErrRunLost]). A task's child processes are killed by their own
// supervisor before the lease ends even when the node is frozen
// ([LeaseOf]). Due-ness and leases are judged on the store's clock when it
// has one ([Clock]).
//
// # Run states
//
// Every fire becomes a run, and every run ends in one recorded status;
// next to each transition, where it is written:
//
//	fire due ─► claim  (plan.go, inside the store's atomic Claim)
//	             ├─► missed      later than the misfire grace
//	             ├─► skipped     coalesced, or MaxInstances in flight
//	             ├─► queued ───► scheduled   promoted when a run of the job ends
//	             └─► pending ◄── scheduled   a retry after its backoff, claimed like a fire
//	                   │
//	                   ├─► missed | interrupted   not started: too late, or the lease
//	                   │                          could not be renewed (execute.go)
//	                   ▼
//	                running ─► succeeded | failed | timed_out   the task returned (execute.go)
//	                   ├─────► interrupted   shutdown, or lease not renewed in time (execute.go)
//	                   ├─────► canceled      CancelRun; stopped by its node (execute.go)
//	                   └─────► lost          its node died or restarted: a heartbeat
//	                                         elsewhere (ReapLost) or its next
//	                                         incarnation (RegisterNode), lease.go
//	queued | scheduled ─► canceled           CancelRun, in the store
//	scheduled ─► lost                        a broadcast shard whose node did not
//	                                         take it in time (ReapLost), lease.go
//
//	failed | timed_out | interrupted | lost ─► scheduled (attempt + 1)
//	                                           when the job allows another attempt
//	Backfill ─► scheduled | queued (backfill.go): past fires on request, the
//	            queued ones promoted as the backfill's runs end
//	RetryRun ─► scheduled (attempt + 1) of any ended run's fire
//
// Writes of pending and running runs and of their outcomes go through the
// recorder (record.go), which batches them and carries the holder's
// incarnation; the store refuses them once the run is no longer held.
//
// # Broadcast
//
// A broadcast job (JobOptions.Broadcast, xxl-job's sharding broadcast)
// runs each fire on every live node of its queue — seen by the store within
// a lease, not in standby — one shard each (Run.Shard), shard i on the
// i-th node in the order of their IDs, so a node's index changes as nodes
// join and leave. The claim records all the shards of a fire in its atomic
// step: the claiming node's own executes at once, each other waits,
// scheduled, for its node (Run.Node), which alone claims it, and whose
// heartbeats keep its pick-up deadline (Run.LeaseUntil) ahead; a node that
// dies or leaves before taking its shard lets the deadline pass and the
// shard is lost, then retried by any node as the job allows. Each node
// knows the others from its heartbeat, so a claim costs no extra query. A
// fire is in flight while any of its shards is (one fire at a time), and
// complete once every shard has ended for good: then its chains start,
// once, a queued fire starts whole, and a fixed delay counts from its last
// end (broadcast.go).
//
// # Files
//
// scheduler.go holds the Config and the public operations; loop.go the
// claim loop; plan.go the claim decision; execute.go the workers;
// record.go the batched writes of run records; lease.go leases, the
// heartbeat and fencing; housekeeping.go retention and output flushing;
// broadcast.go the shards of broadcast fires and their completion.
package sundial
