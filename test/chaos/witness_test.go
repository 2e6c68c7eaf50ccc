package chaos

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// witnessScript is the task of every job: it appends a start line, a
// tick every 100 ms for $CHAOS_MS milliseconds, and an end line to a file
// of its own ($CHAOS_W/RUN_ID.PID), so that no two processes share one.
// Times are the wall clock in nanoseconds. It writes nothing to standard
// output: a process orphaned by a killed server must not die of SIGPIPE
// and hide the very thing the suite looks for. $PPID is the server that
// started it; $TMPDIR (a directory the server made under its own TMPDIR)
// names the server's incarnation.
const witnessScript = `f="$CHAOS_W/$SUNDIAL_RUN_ID.$$"
printf 'start %s %s %s %s %s %s %s %s\n' "$(date +%s%N)" "$SUNDIAL_JOB_ID" "$SUNDIAL_SCHEDULED_AT" "$SUNDIAL_RUN_ID" "$SUNDIAL_ATTEMPT" "$$" "$PPID" "$TMPDIR" >>"$f"
end=$(( $(date +%s%N) + CHAOS_MS * 1000000 ))
while :; do
	sleep 0.1
	t=$(date +%s%N)
	printf 'tick %s\n' "$t" >>"$f"
	[ "$t" -lt "$end" ] || break
done
printf 'end %s\n' "$(date +%s%N)" >>"$f"
`

// incRE finds the incarnation in a child's TMPDIR: the suite gives each
// server process TMPDIR=…/inc/N.
var errEmpty = errors.New("empty witness file")

var incRE = regexp.MustCompile(`/inc/(\d+)/`)

// readWitnesses reads every witness file in dir. A line cut short by a
// kill is ignored; a file without a start line is reported.
func readWitnesses(dir string) ([]Exec, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var execs []Exec
	for _, ent := range entries {
		e, err := readWitness(filepath.Join(dir, ent.Name()))
		if err == errEmpty {
			continue // killed between opening the file and writing to it
		}
		if err != nil {
			return nil, err
		}
		execs = append(execs, e)
	}
	return execs, nil
}

func readWitness(path string) (Exec, error) {
	f, err := os.Open(path)
	if err != nil {
		return Exec{}, err
	}
	defer f.Close()
	e := Exec{File: filepath.Base(path), Inc: -1}
	sc := bufio.NewScanner(f)
	started := false
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		ns, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		t := time.Unix(0, ns)
		switch fields[0] {
		case "start":
			if len(fields) != 9 {
				continue
			}
			started = true
			e.Start, e.Last = t, t
			e.Job, e.RunID = fields[2], fields[4]
			if e.Sched, err = time.Parse(time.RFC3339Nano, fields[3]); err != nil {
				return e, fmt.Errorf("%s: scheduled time %q: %v", path, fields[3], err)
			}
			e.Attempt, _ = strconv.Atoi(fields[5])
			e.PID, _ = strconv.Atoi(fields[6])
			e.PPID, _ = strconv.Atoi(fields[7])
			if m := incRE.FindStringSubmatch(fields[8] + "/"); m != nil {
				e.Inc, _ = strconv.Atoi(m[1])
			}
		case "tick", "end":
			if !started {
				continue
			}
			if fields[0] == "tick" {
				e.Ticks++
			} else {
				e.Ended = true
			}
			e.lines = append(e.lines, t)
			if t.After(e.Last) {
				e.Last = t
			}
		}
	}
	if err := sc.Err(); err != nil {
		return e, err
	}
	if !started {
		if st, err := f.Stat(); err == nil && st.Size() == 0 {
			return e, errEmpty
		}
		return e, fmt.Errorf("%s: no start line", path)
	}
	return e, nil
}
