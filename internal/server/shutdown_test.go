package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/pgtest"

	"github.com/sundialhq/sundial"
)

// blackhole is a TCP proxy that can freeze: from then on it passes no
// byte either way and answers no new connection, while every connection
// stays open — a database behind a dead network path.
type blackhole struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
	closed chan struct{}
}

func newBlackhole(t *testing.T, target string) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln, target: target, closed: make(chan struct{})}
	go b.serve()
	t.Cleanup(b.close)
	return b
}

func (b *blackhole) track(c net.Conn) {
	b.mu.Lock()
	b.conns = append(b.conns, c)
	b.mu.Unlock()
}

func (b *blackhole) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.track(c)
		go func() {
			b.hold()
			d, err := net.Dial("tcp", b.target)
			if err != nil {
				c.Close()
				return
			}
			b.track(d)
			go b.pipe(d, c)
			go b.pipe(c, d)
		}()
	}
}

// hold waits while frozen.
func (b *blackhole) hold() {
	for b.frozen.Load() {
		select {
		case <-b.closed:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (b *blackhole) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		b.hold()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

func (b *blackhole) close() {
	select {
	case <-b.closed:
		return
	default:
	}
	close(b.closed)
	b.ln.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
}

// TestShutdownBoundedWhenTheStoreHangs: a server whose store stops
// answering while a run is in progress still returns within
// shutdown_grace + isolation.grace + 10s of being told to stop, without
// panicking, and still sends the interrupted run's notification.
// PostgreSQL: every connection stays open and no byte passes (a dead
// network path). SQLite: another process holds the file's write lock, so
// every write waits out the busy timeout.
func TestShutdownBoundedWhenTheStoreHangs(t *testing.T) {
	for _, c := range []struct {
		name string
		// open returns the DSN and a function that makes the store hang.
		open func(t *testing.T) (string, func())
	}{
		{"postgres", func(t *testing.T) (string, func()) {
			u, _ := url.Parse(pgtest.SchemaDSN(t))
			hole := newBlackhole(t, u.Host)
			u.Host = hole.ln.Addr().String()
			return u.String(), func() { hole.frozen.Store(true) }
		}},
		{"sqlite", func(t *testing.T) (string, func()) {
			path := filepath.Join(t.TempDir(), "s.db")
			return "sqlite:" + path, func() {
				db, err := sql.Open("sqlite", "file:"+path+"?_busy_timeout=10000")
				if err != nil {
					t.Fatal(err)
				}
				conn, err := db.Conn(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { conn.Close(); db.Close() })
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, hang := c.open(t)
			notified := make(chan string, 10)
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var p struct{ Status string }
				json.NewDecoder(r.Body).Decode(&p)
				notified <- p.Status
			}))
			defer hook.Close()
			slow := &slowTask{started: make(chan string, 1), release: make(chan struct{})}
			const grace = time.Second
			cfg := Config{DB: db, InsecureNoAuth: true, ShutdownGrace: Duration(grace), PollInterval: Duration(200 * time.Millisecond),
				Notify: []sundial.Notification{{Webhook: hook.URL, On: []sundial.RunStatus{sundial.StatusInterrupted}}},
				Jobs:   []json.RawMessage{json.RawMessage(`{"id": "slow", "task": "slow", "trigger": {"type": "interval", "hours": 1}, "options": {"run_on_start": true}}`)}}
			srv := start(t, cfg, Options{Tasks: map[string]sundial.TaskFunc{"slow": slow.run}})
			<-slow.started
			hang()
			time.Sleep(300 * time.Millisecond) // let calls pile up
			stopped := time.Now()
			err := srv.stop()
			took := time.Since(stopped)
			t.Logf("Run returned %s after the stop (shutdown_grace %s)", took.Round(time.Millisecond), grace)
			for _, line := range strings.Split(srv.logs.String(), "\n") {
				if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
					t.Log(line)
				}
			}
			// isolation.grace is 5s by default.
			if limit := grace + 5*time.Second + 10*time.Second; err != nil || took > limit {
				t.Errorf("Run returned after %s (%v); want within %s", took, err, limit)
			}
			select {
			case st := <-notified:
				if st != "interrupted" {
					t.Errorf("notified %q, want interrupted", st)
				}
			default:
				t.Error("the interrupted run was not notified")
			}
		})
	}
}

// TestStopWhileStartingOnAHungStore: a server told to stop while it
// starts on a PostgreSQL that does not answer returns promptly.
func TestStopWhileStartingOnAHungStore(t *testing.T) {
	u, _ := url.Parse(pgtest.SchemaDSN(t))
	hole := newBlackhole(t, u.Host)
	u.Host = hole.ln.Addr().String()
	db := u.String()
	// The first start creates the schema; the second finds the database
	// answering nothing.
	first := start(t, Config{DB: db, InsecureNoAuth: true}, Options{})
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	hole.frozen.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() {
		done <- Run(ctx, Config{DB: db, InsecureNoAuth: true, Addr: "127.0.0.1:0"}, Options{Out: logs, Logs: logs})
	}()
	time.Sleep(time.Second)
	stopped := time.Now()
	cancel()
	select {
	case err := <-done:
		t.Logf("Run returned %s after the stop: %v", time.Since(stopped).Round(time.Millisecond), err)
		if took := time.Since(stopped); took > 5*time.Second {
			t.Errorf("Run returned %s after the stop, want within 5s", took)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("Run did not return within 30s of the stop:\n%s", logs)
	}
}
