package chaos

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A cluster is a set of real `sundial serve` processes on one store. Each
// process is an incarnation, numbered from 0 in start order; a replica
// slot ("a", "b", "c") holds one incarnation at a time and gets a new one
// when a nemesis kills it.
type cluster struct {
	t       *testing.T
	dir     string
	db      string
	extra   []string // serve flags for every replica (the lease)
	witness string   // the witness files' directory
	tag     string   // in every task's environment, to find our processes

	mu    sync.Mutex
	incs  []*replica
	slots map[string]*replica
}

// replica is one incarnation of `sundial serve`.
type replica struct {
	inc     int
	slot    string
	node    string
	cmd     *exec.Cmd
	url     string
	log     string
	done    chan struct{}
	started time.Time
}

func newCluster(t *testing.T, dir, db string, extra []string) *cluster {
	c := &cluster{t: t, dir: dir, db: db, extra: extra, witness: filepath.Join(dir, "witness"),
		tag: fmt.Sprintf("chaos-%d-%d", os.Getpid(), time.Now().UnixNano()), slots: map[string]*replica{}}
	if err := os.MkdirAll(c.witness, 0o755); err != nil {
		t.Fatal(err)
	}
	// The tasks of a server started as root run as an unprivileged user,
	// who must reach the witness files and the runs' directories.
	for _, d := range []string{filepath.Dir(dir), dir} {
		os.Chmod(d, 0o755)
	}
	os.Chmod(c.witness, 0o777)
	t.Cleanup(c.cleanup)
	return c
}

var servingRE = regexp.MustCompile(`serving on (http://\S+)`)

// start starts an incarnation in slot with the node ID and waits until it
// serves.
func (c *cluster) start(slot, node string) *replica {
	c.t.Helper()
	c.mu.Lock()
	inc := len(c.incs)
	c.mu.Unlock()
	tmp := filepath.Join(c.dir, "inc", strconv.Itoa(inc))
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		c.t.Fatal(err)
	}
	s := &replica{inc: inc, slot: slot, node: node, log: filepath.Join(c.dir, fmt.Sprintf("server-%d-%s.log", inc, node)), done: make(chan struct{})}
	logs, err := os.Create(s.log)
	if err != nil {
		c.t.Fatal(err)
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", c.db, "--insecure-no-auth", "--node-id", node,
		"--poll-interval", pollInterval.String(), "--shutdown-grace", "5s", "--workers", "16"}, c.extra...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = c.dir
	s.cmd.Env = append(scrubbedEnv(), "TMPDIR="+tmp, "SUNDIAL_RUN_DIR="+tmp) // a task's directory names its server
	s.cmd.Stderr = logs
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	s.started = time.Now()
	c.mu.Lock()
	c.incs = append(c.incs, s)
	c.slots[slot] = s
	c.mu.Unlock()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		s.cmd.Wait()
		logs.Close()
		close(s.done)
	}()
	select {
	case s.url = <-urls:
	case <-s.done:
		c.t.Fatalf("server %s exited before serving; logs:\n%s", node, readTail(s.log))
	case <-time.After(30 * time.Second):
		c.t.Fatalf("server %s did not serve in 30s; logs:\n%s", node, readTail(s.log))
	}
	return s
}

// scrubbedEnv is this process's environment without Sundial's settings,
// which would change the servers', and without TMPDIR, which the cluster
// sets per incarnation.
func scrubbedEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SUNDIAL_") || strings.HasPrefix(kv, "TMPDIR=") || strings.HasPrefix(kv, "ENABLE_SCHEDULER=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func readTail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// current returns the incarnation in slot.
func (c *cluster) current(slot string) *replica {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slots[slot]
}

// nodeOf returns the node ID of incarnation inc.
func (c *cluster) nodeOf(inc int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if inc < 0 || inc >= len(c.incs) {
		return ""
	}
	return c.incs[inc].node
}

// api returns the base URL of a live replica.
func (c *cluster) api() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, slot := range []string{"a", "b", "c"} {
		if s := c.slots[slot]; s != nil && !s.exited() {
			return s.url
		}
	}
	return ""
}

func (s *replica) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// waitExit waits for the incarnation's process to be gone.
func (c *cluster) waitExit(s *replica, timeout time.Duration) {
	c.t.Helper()
	select {
	case <-s.done:
	case <-time.After(timeout):
		c.t.Fatalf("server %s (pid %d) still alive %s after being killed", s.node, s.cmd.Process.Pid, timeout)
	}
}

// postJSON sends a JSON request to a live replica's API.
func (c *cluster) postJSON(path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	res, err := http.Post(c.api()+path, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(res.Body)
		return fmt.Errorf("POST %s: %s: %s", path, res.Status, msg)
	}
	return nil
}

// stopAll stops every replica with SIGTERM and waits; one that does not
// stop in time is killed.
func (c *cluster) stopAll() {
	c.mu.Lock()
	var live []*replica
	for _, s := range c.slots {
		if !s.exited() {
			live = append(live, s)
		}
	}
	c.mu.Unlock()
	for _, s := range live {
		s.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, s := range live {
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			c.t.Errorf("server %s did not stop 20s after SIGTERM; killed", s.node)
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	}
}

// cleanup kills whatever is left: servers (resumed first, in case one is
// stopped) and the task processes they left behind.
func (c *cluster) cleanup() {
	c.mu.Lock()
	incs := append([]*replica(nil), c.incs...)
	c.mu.Unlock()
	for _, s := range incs {
		if !s.exited() {
			syscall.Kill(s.cmd.Process.Pid, syscall.SIGCONT)
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	}
	c.killOrphans()
}

// killOrphans kills the process group of every witness process still
// alive: the ones a killed server left running. A process is ours only if
// its environment carries the cluster's tag.
func (c *cluster) killOrphans() int {
	execs, _ := readWitnesses(c.witness)
	n := 0
	for _, e := range execs {
		if !e.Ended && c.ours(e.PID) {
			syscall.Kill(-e.PID, syscall.SIGKILL)
			syscall.Kill(e.PID, syscall.SIGKILL)
			n++
		}
	}
	return n
}

// ours reports whether pid is alive (not a zombie) and one of this
// cluster's task processes.
func (c *cluster) ours(pid int) bool {
	if state(pid) == 0 || state(pid) == 'Z' {
		return false
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	return err == nil && bytes.Contains(env, []byte("CHAOS_TAG="+c.tag+"\x00"))
}

// state returns a process's state letter from /proc (R, S, T, Z…), 0 when
// it does not exist.
func state(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

// descendants lists every process below pid, from /proc.
func descendants(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, ch := range children[p] {
			out = append(out, ch)
			queue = append(queue, ch)
		}
	}
	return out
}

// waitFor polls cond every 50 ms until it holds or the timeout passes:
// the processes under test give no other signal to wait on.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// liveExecs returns the executions of jobs with the given prefix that
// look alive now: no end line and a line in the last 400 ms. Only
// recently written files are read.
func (c *cluster) liveExecs(prefix string) []Exec {
	entries, _ := os.ReadDir(c.witness)
	var live []Exec
	now := time.Now()
	for _, ent := range entries {
		info, err := ent.Info()
		if err != nil || now.Sub(info.ModTime()) > time.Second {
			continue
		}
		e, err := readWitness(filepath.Join(c.witness, ent.Name()))
		if err != nil || e.Ended || !strings.HasPrefix(e.Job, prefix) || now.Sub(e.Last) > 400*time.Millisecond {
			continue
		}
		live = append(live, e)
	}
	return live
}
