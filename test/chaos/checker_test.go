package chaos

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sundialhq/sundial"
)

// The checker compares what ran (executions, read from witness files)
// with what the store recorded (runs), and with the faults the suite
// caused. It is a pure function of its input, so that its own unit test
// can feed it synthetic data with known defects.

// Exec is one execution of a run's task: one process, from its witness file.
type Exec struct {
	File    string
	Job     string
	Sched   time.Time // SUNDIAL_SCHEDULED_AT: the fire
	RunID   string
	Attempt int
	PID     int
	PPID    int    // the server that started it
	Inc     int    // the server's incarnation (-1 when unknown)
	Node    string // that incarnation's node ID
	Start   time.Time
	Last    time.Time // the last line: start, a tick or end
	Ticks   int
	Ended   bool // wrote its end line
	// times of every line after start, for the lease check
	lines []time.Time
}

// JobPlan is a job the suite created: an interval trigger firing at
// First, First+Every, … while before Until.
type JobPlan struct {
	ID          string
	Every       time.Duration
	First       time.Time
	Until       time.Time
	MaxAttempts int
}

// Fault is one nemesis strike.
type Fault struct {
	Store   string
	Nemesis string
	Target  string // the replica's slot, or "postgres"
	// Incs are the incarnations it hit and Nodes their node IDs; nil Incs
	// means every node (a store restart).
	Incs  []int
	Nodes []string
	At    time.Time
}

// Invariants, by name.
const (
	InvSilentLoss    = "silent-loss"       // a fire due in the window with no execution and no run record
	InvDuplicate     = "duplicate"         // two executions of one attempt of a fire
	InvOverlap       = "overlap"           // two executions of one fire alive at once
	InvStartAfter    = "start-after-lease" // an execution started after its attempt's record ended
	InvTickAfter     = "tick-after-lease"  // an execution still running after its attempt's record ended
	InvRetryNoLoss   = "retry-without-loss"
	InvUnrecorded    = "unrecorded"      // an execution whose attempt has no run record
	InvForeign       = "foreign-node"    // executed by a node other than the one the record names
	InvStuck         = "stuck"           // a run record still not ended after the drain
	InvSlowRecovery  = "slow-recovery"   // a fault's affected jobs took longer than the bound to run again
	InvNeverRecovers = "never-recovered" // … or never did
)

// invariants lists them in the order of the report's columns.
var invariants = []string{InvSilentLoss, InvDuplicate, InvOverlap, InvStartAfter, InvTickAfter, InvRetryNoLoss,
	InvUnrecorded, InvForeign, InvStuck, InvSlowRecovery, InvNeverRecovers}

// CheckInput is everything the checker looks at.
type CheckInput struct {
	Jobs   []JobPlan
	Execs  []Exec
	Runs   []sundial.Run // every run record, read after the drain
	Faults []Fault
	// Tolerance absorbs clock resolution when comparing a witness time
	// with a recorded one (both from this host's wall clock).
	Tolerance time.Duration
	// RecoveryBound is the longest allowed time from a fault to the next
	// successful start of every job it affected.
	RecoveryBound time.Duration
}

// Violation is one broken invariant.
type Violation struct {
	Invariant string
	Fire      string // job@time
	At        time.Time
	Detail    string
	Fault     int // index of the last fault at or before At, -1 for none
}

// FaultFigure is what one fault did.
type FaultFigure struct {
	Fault
	Affected  []string // jobs with a run on the victim when it struck
	Slowest   string   // the affected job that took longest to run again
	Recovery  time.Duration
	Recovered bool // every affected job started a successful run after it
}

// Report is the checker's answer.
type Report struct {
	Fires      int // fires due in the window
	Execs      int
	Runs       int
	Retries    int // executions of attempt > 1
	Lost       int // run records marked lost
	Violations []Violation
	Faults     []FaultFigure
}

// Count returns the number of violations of inv.
func (r Report) Count(inv string) int {
	n := 0
	for _, v := range r.Violations {
		if v.Invariant == inv {
			n++
		}
	}
	return n
}

type fireKey struct {
	job string
	at  int64 // µs, as the stores keep it
}

func keyOf(job string, at time.Time) fireKey { return fireKey{job, at.UnixMicro()} }

func (k fireKey) String() string {
	return k.job + "@" + time.UnixMicro(k.at).UTC().Format("15:04:05.000000")
}

type attemptKey struct {
	fireKey
	attempt int
}

// Check applies every invariant.
func Check(in CheckInput) Report {
	rep := Report{Execs: len(in.Execs), Runs: len(in.Runs)}
	tol := in.Tolerance
	records := map[attemptKey]sundial.Run{}
	fires := map[fireKey]bool{} // fires with a record
	for _, r := range in.Runs {
		if r.Manual {
			continue
		}
		k := attemptKey{keyOf(r.JobID, r.ScheduledAt), r.Attempt}
		records[k] = r
		fires[k.fireKey] = true
		if r.Status == sundial.StatusLost {
			rep.Lost++
		}
	}
	byFire := map[fireKey][]*Exec{}
	byAttempt := map[attemptKey][]*Exec{}
	for i := range in.Execs {
		e := &in.Execs[i]
		k := keyOf(e.Job, e.Sched)
		byFire[k] = append(byFire[k], e)
		byAttempt[attemptKey{k, e.Attempt}] = append(byAttempt[attemptKey{k, e.Attempt}], e)
		if e.Attempt > 1 {
			rep.Retries++
		}
	}
	add := func(inv string, k fireKey, at time.Time, format string, a ...any) {
		rep.Violations = append(rep.Violations, Violation{Invariant: inv, Fire: k.String(), At: at, Detail: fmt.Sprintf(format, a...)})
	}

	// Silent losses: every fire of the window left a trace.
	for _, j := range in.Jobs {
		for at := j.First; at.Before(j.Until); at = at.Add(j.Every) {
			rep.Fires++
			k := keyOf(j.ID, at)
			if !fires[k] && len(byFire[k]) == 0 {
				add(InvSilentLoss, k, at, "no run record of any status and no execution")
			}
		}
	}

	// Duplicates: one execution per attempt.
	for k, execs := range byAttempt {
		sortExecs(execs)
		for _, e := range execs[1:] {
			add(InvDuplicate, k.fireKey, e.Start, "attempt %d executed %d times: %s", k.attempt, len(execs), describe(execs))
		}
	}

	// Overlaps: no two executions of one fire alive at once.
	for k, execs := range byFire {
		sortExecs(execs)
		for i, a := range execs {
			for _, b := range execs[i+1:] {
				if !b.Start.After(a.Last) { // b starts while a is still alive
					add(InvOverlap, k, b.Start, "%s overlaps %s by %s", describe([]*Exec{b}), describe([]*Exec{a}), a.Last.Sub(b.Start).Round(time.Millisecond))
				}
			}
		}
	}

	// Each execution against its attempt's record.
	for i := range in.Execs {
		e := &in.Execs[i]
		k := attemptKey{keyOf(e.Job, e.Sched), e.Attempt}
		r, ok := records[k]
		if !ok {
			add(InvUnrecorded, k.fireKey, e.Start, "%s has no run record", describe([]*Exec{e}))
			continue
		}
		if e.Node != "" && r.Node != "" && e.Node != r.Node {
			add(InvForeign, k.fireKey, e.Start, "%s executed on node %s; the record names %s (%s)", describe([]*Exec{e}), e.Node, r.Node, r.Status)
		}
		if !r.Status.Active() && !r.EndedAt.IsZero() {
			limit := r.EndedAt.Add(tol)
			if e.Start.After(limit) {
				add(InvStartAfter, k.fireKey, e.Start, "%s started %s after its record ended %s (%s)", describe([]*Exec{e}),
					e.Start.Sub(r.EndedAt).Round(time.Millisecond), r.Status, r.Error)
			} else if first, n := after(e.lines, limit); n > 0 {
				add(InvTickAfter, k.fireKey, first, "%s ran %s past its record's end %s (%s): %d lines after", describe([]*Exec{e}),
					e.Last.Sub(r.EndedAt).Round(time.Millisecond), r.Status, r.Error, n)
			}
		}
		if e.Attempt > 1 {
			prev, ok := records[attemptKey{k.fireKey, e.Attempt - 1}]
			switch {
			case !ok:
				add(InvRetryNoLoss, k.fireKey, e.Start, "%s: no record of attempt %d", describe([]*Exec{e}), e.Attempt-1)
			case prev.Status != sundial.StatusLost && prev.Status != sundial.StatusInterrupted:
				add(InvRetryNoLoss, k.fireKey, e.Start, "%s: attempt %d is %s, not lost or interrupted", describe([]*Exec{e}), e.Attempt-1, prev.Status)
			case prev.EndedAt.IsZero() || e.Start.Before(prev.EndedAt.Add(-tol)):
				add(InvRetryNoLoss, k.fireKey, e.Start, "%s started before attempt %d was recorded %s (at %s)", describe([]*Exec{e}),
					e.Attempt-1, prev.Status, prev.EndedAt.Format("15:04:05.000"))
			}
		}
	}

	// Stuck: nothing left unfinished after the drain. A stuck run is
	// counted at the first fault after it started: the one it outlived.
	for _, r := range in.Runs {
		if r.Status.Active() {
			at := r.StartedAt
			if at.IsZero() {
				at = r.ScheduledAt
			}
			var next time.Time
			for _, f := range in.Faults {
				if !f.At.Before(at) && (next.IsZero() || f.At.Before(next)) {
					next = f.At
				}
			}
			if !next.IsZero() {
				at = next
			}
			add(InvStuck, keyOf(r.JobID, r.ScheduledAt), at, "attempt %d still %s on %s (lease until %s)", r.Attempt, r.Status, r.Node,
				r.LeaseUntil.Format("15:04:05.000"))
		}
	}

	// Recovery after each fault.
	for _, f := range in.Faults {
		fig := recovery(f, in, records)
		rep.Faults = append(rep.Faults, fig)
		switch {
		case !fig.Recovered:
			add(InvNeverRecovers, fireKey{job: strings.Join(fig.Affected, ","), at: f.At.UnixMicro()}, f.At,
				"%s of %s: affected jobs %v did not all start a successful run afterwards (%s did not)", f.Nemesis, f.Target, fig.Affected, fig.Slowest)
		case fig.Recovery > in.RecoveryBound:
			add(InvSlowRecovery, fireKey{job: strings.Join(fig.Affected, ","), at: f.At.UnixMicro()}, f.At,
				"%s of %s: recovery took %s (%s), bound %s", f.Nemesis, f.Target, fig.Recovery.Round(time.Millisecond), fig.Slowest, in.RecoveryBound)
		}
	}

	// Attribute each violation to the last fault before it.
	faultAt := make([]time.Time, len(in.Faults))
	for i, f := range in.Faults {
		faultAt[i] = f.At
	}
	for i := range rep.Violations {
		v := &rep.Violations[i]
		v.Fault = -1
		for j, at := range faultAt {
			if !at.After(v.At) && (v.Fault < 0 || at.After(faultAt[v.Fault])) {
				v.Fault = j
			}
		}
	}
	sort.SliceStable(rep.Violations, func(i, j int) bool { return rep.Violations[i].At.Before(rep.Violations[j].At) })
	return rep
}

// after returns the first time in ts after limit, and how many are.
func after(ts []time.Time, limit time.Time) (time.Time, int) {
	var first time.Time
	n := 0
	for _, t := range ts {
		if t.After(limit) {
			if n == 0 {
				first = t
			}
			n++
		}
	}
	return first, n
}

// hits reports whether fault f struck execution e: e ran on a victim and
// was alive at the fault. A killed process's last tick comes up to a tick
// period (and some scheduling delay) before the fault.
func hits(f Fault, e *Exec) bool {
	const grace = 500 * time.Millisecond
	if f.Incs != nil && !slices.Contains(f.Incs, e.Inc) {
		return false
	}
	return !e.Start.After(f.At) && (!e.Last.Before(f.At) || (!e.Ended && e.Last.After(f.At.Add(-grace))))
}

// recovery measures one fault: the jobs it affected are those with an
// execution on a victim alive at the fault, or a run the victim held that
// ended lost or interrupted. It recovered when each of them has started,
// after the fault, an execution that succeeded — or that a later fault
// struck while it ran (a job that was running normally again when the
// next fault came has recovered from this one); it took as long as the
// slowest.
func recovery(f Fault, in CheckInput, records map[attemptKey]sundial.Run) FaultFigure {
	fig := FaultFigure{Fault: f, Recovered: true}
	victimNode := map[string]bool{}
	for _, n := range f.Nodes {
		victimNode[n] = true
	}
	all := f.Incs == nil
	affected := map[string]bool{}
	for i := range in.Execs {
		if hits(f, &in.Execs[i]) {
			affected[in.Execs[i].Job] = true
		}
	}
	for _, r := range in.Runs {
		if (all || victimNode[r.Node]) && (r.Status == sundial.StatusLost || r.Status == sundial.StatusInterrupted) &&
			!r.ScheduledAt.After(f.At) && !r.EndedAt.Before(f.At) {
			affected[r.JobID] = true
		}
	}
	for j := range affected {
		fig.Affected = append(fig.Affected, j)
	}
	slices.Sort(fig.Affected)
	for _, j := range fig.Affected {
		var first time.Time
		for i := range in.Execs {
			e := &in.Execs[i]
			if e.Job != j || !e.Start.After(f.At) || (!first.IsZero() && !e.Start.Before(first)) {
				continue
			}
			ok := false
			if r, found := records[attemptKey{keyOf(e.Job, e.Sched), e.Attempt}]; found && r.Status == sundial.StatusSucceeded {
				ok = true
			}
			for _, later := range in.Faults {
				if later.At.After(e.Start) && hits(later, e) {
					ok = true
				}
			}
			if ok {
				first = e.Start
			}
		}
		if first.IsZero() {
			fig.Recovered = false
			fig.Slowest = j
			continue
		}
		if d := first.Sub(f.At); d > fig.Recovery {
			fig.Recovery = d
			if fig.Recovered {
				fig.Slowest = j
			}
		}
	}
	return fig
}

func sortExecs(execs []*Exec) {
	sort.Slice(execs, func(i, j int) bool { return execs[i].Start.Before(execs[j].Start) })
}

func describe(execs []*Exec) string {
	var parts []string
	for _, e := range execs {
		end := "killed"
		if e.Ended {
			end = "ended"
		}
		parts = append(parts, fmt.Sprintf("[attempt %d pid %d node %s %s..%s %s]", e.Attempt, e.PID, e.Node,
			e.Start.Format("15:04:05.000"), e.Last.Format("15:04:05.000"), end))
	}
	return strings.Join(parts, " ")
}

// Table renders reports per store and nemesis: the faults, their
// recovery (the worst and the median) and the violations attributed to
// them (those before the first fault under "(none)").
func Table(reports map[string]Report) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 1, ' ', tabwriter.AlignRight)
	short := []string{"silent", "dup", "overlap", "start>lease", "tick>lease", "retry!lost", "unrecorded", "foreign", "stuck", "slow", "norecover"}
	fmt.Fprintf(w, "store\tnemesis\tfaults\taffected\trecovery max\tmedian\t%s\t\n", strings.Join(short, "\t"))
	stores := make([]string, 0, len(reports))
	for s := range reports {
		stores = append(stores, s)
	}
	slices.Sort(stores)
	for _, s := range stores {
		rep := reports[s]
		var nemeses []string
		seen := map[string]bool{}
		for _, f := range rep.Faults {
			if !seen[f.Nemesis] {
				seen[f.Nemesis] = true
				nemeses = append(nemeses, f.Nemesis)
			}
		}
		nemeses = append(nemeses, "(none)")
		for _, n := range nemeses {
			var recs []time.Duration
			faults, affected := 0, 0
			unrecovered := false
			for _, f := range rep.Faults {
				if f.Nemesis != n {
					continue
				}
				faults++
				affected += len(f.Affected)
				if !f.Recovered {
					unrecovered = true
				} else if len(f.Affected) > 0 {
					recs = append(recs, f.Recovery)
				}
			}
			counts := map[string]int{}
			for _, v := range rep.Violations {
				name := "(none)"
				if v.Fault >= 0 {
					name = rep.Faults[v.Fault].Nemesis
				}
				if name == n {
					counts[v.Invariant]++
				}
			}
			if n == "(none)" && len(counts) == 0 {
				continue
			}
			worst, median := "-", "-"
			if len(recs) > 0 {
				slices.Sort(recs)
				worst = recs[len(recs)-1].Round(100 * time.Millisecond).String()
				median = recs[len(recs)/2].Round(100 * time.Millisecond).String()
			}
			if unrecovered {
				worst = "never"
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\t", s, n, faults, affected, worst, median)
			for _, inv := range invariants {
				fmt.Fprintf(w, "%d\t", counts[inv])
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s\tall\t%d\t\t\t\t", s, len(rep.Faults))
		for _, inv := range invariants {
			fmt.Fprintf(w, "%d\t", rep.Count(inv))
		}
		fmt.Fprintln(w)
	}
	w.Flush()
	for _, s := range stores {
		rep := reports[s]
		fmt.Fprintf(&b, "%s: %d fires due, %d run records (%d lost), %d executions (%d retries)\n", s, rep.Fires, rep.Runs, rep.Lost, rep.Execs, rep.Retries)
	}
	return b.String()
}
