package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// privatePG is a PostgreSQL cluster of the suite's own, on a free port of
// 127.0.0.1: the suite restarts it, which it must never do to the shared
// server other packages' tests use. Debian's binaries run as the postgres
// OS user when the suite runs as root (PostgreSQL refuses root).
type privatePG struct {
	bin  string // the directory of initdb, pg_ctl, postgres
	dir  string
	port int
	user *user.User // nil: run as ourselves
}

var (
	pgOnce sync.Once
	pgInst *privatePG
	pgErr  error
)

// sharedPG starts the private cluster on first use; stopPG (from
// TestMain) stops it.
func sharedPG() (*privatePG, error) {
	pgOnce.Do(func() { pgInst, pgErr = startPG() })
	return pgInst, pgErr
}

func stopPG() {
	if pgInst != nil {
		pgInst.ctl("stop", "-m", "immediate")
		os.RemoveAll(pgInst.dir)
	}
}

// errNoPG says the machine has no PostgreSQL binaries.
var errNoPG = errors.New("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (install Debian's postgresql package)")

func startPG() (*privatePG, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(matches) == 0 {
		return nil, errNoPG
	}
	version := func(p string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(filepath.Dir(p))), 64)
		return v
	}
	sort.Slice(matches, func(i, j int) bool { return version(matches[i]) < version(matches[j]) })
	p := &privatePG{bin: filepath.Dir(matches[len(matches)-1])}
	dir, err := os.MkdirTemp("", "sundial-chaos-pg-")
	if err != nil {
		return nil, err
	}
	p.dir = dir
	if os.Geteuid() == 0 {
		if p.user, err = user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("running as root, and there is no postgres user to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(p.user.Uid)
		gid, _ := strconv.Atoi(p.user.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	if out, err := p.run("initdb", "-D", p.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if err := p.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

func (p *privatePG) data() string { return filepath.Join(p.dir, "data") }

// run runs one of the cluster's programs as its user.
func (p *privatePG) run(prog string, args ...string) ([]byte, error) {
	argv := append([]string{filepath.Join(p.bin, prog)}, args...)
	if p.user != nil {
		argv = append([]string{"runuser", "-u", p.user.Username, "--"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = p.dir
	cmd.Env = append(scrubbedEnv(), "LC_ALL=C")
	return cmd.CombinedOutput()
}

func (p *privatePG) ctl(args ...string) ([]byte, error) {
	return p.run("pg_ctl", append([]string{"-D", p.data(), "-w", "-t", "60"}, args...)...)
}

// start starts the server. fsync is off: the suite kills the server, not
// the host, and what a commit wrote to the kernel survives that. Commits
// stay synchronous: with synchronous_commit=off an immediate stop loses
// the last committed transactions, and the suite would measure that
// instead of Sundial (a claim acknowledged, then gone, is run twice).
func (p *privatePG) start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", p.port, p.dir)
	if out, err := p.ctl("-l", filepath.Join(p.dir, "server.log"), "-o", opts, "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, readTail(filepath.Join(p.dir, "server.log")))
	}
	return nil
}

// restart stops the server at once (open connections break, as in a
// crash), keeps it down for down, and starts it again.
func (p *privatePG) restart(down time.Duration) error {
	if out, err := p.ctl("stop", "-m", "immediate"); err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	time.Sleep(down) // the outage itself
	return p.start()
}

// createDB creates a database and returns its URL.
func (p *privatePG) createDB(name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.url("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	return p.url(name), nil
}

func (p *privatePG) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

// logTail is the end of the server's log, for failures.
func (p *privatePG) logTail() string {
	return strings.TrimSpace(readTail(filepath.Join(p.dir, "server.log")))
}
