package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sundialhq/sundial/internal/secrets"
	"github.com/sundialhq/sundial/task/isolate"
)

// secretEnv are the environment variables that bring secrets to the
// server. They are removed from its environment once read, so that no
// child inherits them and /proc/PID/environ does not show them.
var secretEnv = []string{"SUNDIAL_SECRET_KEY", "SUNDIAL_SECRET_KEY_FILE", "SUNDIAL_SMTP_PASSWORD"}

// forgetSecretEnv removes secretEnv from this process's environment: Go's
// own (os.Unsetenv) and the block the kernel shows in /proc/PID/environ,
// which it overwrites with zero bytes.
func forgetSecretEnv() error {
	for _, name := range secretEnv {
		os.Unsetenv(name)
	}
	return scrubEnviron(secretEnv)
}

// scrubEnviron overwrites the named variables in the environment block
// the process started with. It must run before the process is made
// non-dumpable: a non-root process then can no longer open its own
// /proc/self/environ.
func scrubEnviron(names []string) error {
	env, err := os.ReadFile("/proc/self/environ")
	if err != nil {
		return err
	}
	type span struct{ at, n int }
	var spans []span
	at := 0
	for entry := range bytes.SplitSeq(env, []byte{0}) {
		for _, name := range names {
			if bytes.HasPrefix(entry, []byte(name+"=")) {
				spans = append(spans, span{at, len(entry)})
			}
		}
		at += len(entry) + 1
	}
	if len(spans) == 0 {
		return nil
	}
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return err
	}
	// Fields after the command's closing parenthesis start at field 3;
	// env_start is field 50.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 48 {
		return errors.New("/proc/self/stat has no env_start")
	}
	start, err := strconv.ParseInt(f[47], 10, 64)
	if err != nil || start == 0 {
		return fmt.Errorf("/proc/self/stat: env_start %q", f[47])
	}
	mem, err := os.OpenFile("/proc/self/mem", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer mem.Close()
	for _, s := range spans {
		if _, err := mem.WriteAt(make([]byte, s.n), start+int64(s.at)); err != nil {
			return fmt.Errorf("overwrite the environment: %w", err)
		}
	}
	return nil
}

// nonDumpable makes this process non-dumpable: processes of its own user
// (a task, when the server cannot switch users) cannot read its memory or
// /proc/PID/environ, trace it or dump its core.
func nonDumpable() error {
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}

// loadKey returns the key that seals secrets, from SUNDIAL_SECRET_KEY or
// the key file; nil when neither is set.
func loadKey(cfg Config) ([]byte, error) {
	switch {
	case cfg.SecretKey != "" && cfg.SecretKeyFile != "":
		return nil, errors.New("the secret key is set twice: give SUNDIAL_SECRET_KEY or secret_key_file (SUNDIAL_SECRET_KEY_FILE, --secret-key-file), not both")
	case cfg.SecretKey != "":
		return secrets.ParseKey(cfg.SecretKey)
	case cfg.SecretKeyFile == "":
		return nil, nil
	}
	f, err := os.Open(cfg.SecretKeyFile)
	if err != nil {
		return nil, fmt.Errorf("secret_key_file: %w", err)
	}
	defer f.Close()
	text, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, fmt.Errorf("secret_key_file %s: %w", cfg.SecretKeyFile, err)
	}
	key, err := secrets.ParseKey(string(text))
	if err != nil {
		return nil, fmt.Errorf("secret_key_file %s: the file must hold 32 random bytes in base64 (openssl rand -base64 32 > %s)", cfg.SecretKeyFile, cfg.SecretKeyFile)
	}
	return key, nil
}

// Node facts: how this node confines its tasks, shown by `sundial status`
// and the nodes page.
const (
	factRunAs        = "run_as"
	factLandlock     = "landlock"
	factCgroupLimits = "cgroup_limits"
	factNonDumpable  = "non_dumpable"
)

// isolation is how this node confines its tasks.
type isolation struct {
	runner *isolate.Runner
	limits isolate.Limits
	facts  map[string]string
}

// newIsolation decides who tasks run as and what they cannot reach: the
// database (sqlite, its path; "" for PostgreSQL), the key file and the
// config file. dumpable is the outcome of making the server non-dumpable.
func newIsolation(cfg Config, sqlite string, dumpable error, log *slog.Logger) (*isolation, error) {
	iso := cfg.Isolation
	runAs, err := taskUser(cfg.RunAs)
	if err != nil {
		return nil, err
	}
	r := &isolate.Runner{Cgroup: isolate.DetectCgroup(""), User: runAs, AcceptUnenforced: iso.AcceptUnenforcedLimits,
		Landlock: iso.Landlock == nil || *iso.Landlock}
	limits := isolate.Limits{CPUSeconds: iso.CPUSeconds, AddressSpace: iso.AddressSpaceMB << 20, OpenFiles: iso.OpenFiles,
		Processes: iso.Processes, MemoryBytes: iso.MemoryMB << 20, Pids: iso.Pids}
	if bad := r.Unenforceable(limits); len(bad) > 0 {
		name := map[string]string{"memory_bytes": "isolation.memory_mb", "pids": "isolation.pids"}[bad[0].Field]
		if !r.AcceptUnenforced {
			return nil, fmt.Errorf("%s cannot be enforced on this host: %s; remove it, or set isolation.accept_unenforced_limits: true to run tasks without it", name, bad[0].Why)
		}
		log.Warn("a default limit is not enforced on this host: tasks run without it (isolation.accept_unenforced_limits)", "setting", name, "why", bad[0].Why)
	}

	runDir, hide, err := makeRunDir(iso.RunDir, runAs != nil)
	if err != nil {
		return nil, err
	}
	r.RunDir = runDir
	var files []string
	if sqlite != "" {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			files = append(files, sqlite+suffix)
		}
	}
	if runAs != nil {
		for _, f := range files {
			if err := keepFrom(f, runAs, log); err != nil {
				return nil, err
			}
		}
		if cfg.SecretKeyFile != "" && readableBy(cfg.SecretKeyFile, runAs) {
			return nil, fmt.Errorf("secret_key_file %s can be read by %s, who runs tasks: chmod 600 it", cfg.SecretKeyFile, runAs)
		}
		if cfg.File != "" && readableBy(cfg.File, runAs) {
			log.Warn("the config file can be read by tasks' user: keep passwords out of it, or chmod 600 it", "file", cfg.File, "run_as", runAs.String())
		}
	}
	r.Protect = append(files, cfg.SecretKeyFile, cfg.File)
	r.Protect = append(r.Protect, iso.Protect...)
	if hide {
		r.Protect = append(r.Protect, runDir)
	}
	r.Protect = compact(r.Protect)

	ll := isolate.DetectLandlock()
	facts := map[string]string{factRunAs: describeUser(runAs), factLandlock: ll.String(), factCgroupLimits: "enforced", factNonDumpable: "yes"}
	if !r.Landlock {
		facts[factLandlock] = "off"
	}
	if r.Cgroup == "" {
		facts[factCgroupLimits] = "unavailable: refused"
		if r.AcceptUnenforced {
			facts[factCgroupLimits] = "unavailable: accepted unenforced"
		}
	}
	if dumpable != nil {
		facts[factNonDumpable] = "no: " + dumpable.Error()
	}
	if runAs == nil && (!r.Landlock || ll.ABI == 0) {
		log.Warn("tasks run as this server's user without Landlock: they can read its database and key file; run the server as root (tasks then run as run_as) or on a kernel with Landlock")
	}
	log.Info("tasks' isolation", "run_as", facts[factRunAs], "landlock", facts[factLandlock], "cgroup_limits", facts[factCgroupLimits],
		"non_dumpable", facts[factNonDumpable], "run_dir", runDir, "run_dir_hidden", hide)
	return &isolation{runner: r, limits: limits, facts: facts}, nil
}

// taskUser is who tasks run as: run_as when set, a default unprivileged
// user for a server that runs as root, nil for the server's own user.
func taskUser(runAs string) (*isolate.User, error) {
	euid := os.Geteuid()
	if runAs == "" {
		if euid != 0 {
			return nil, nil
		}
		u, err := isolate.DefaultUser()
		if err != nil {
			return nil, fmt.Errorf("run_as: %w", err)
		}
		return &u, nil
	}
	u, err := isolate.LookupUser(runAs)
	if err != nil {
		return nil, fmt.Errorf("run_as: %w", err)
	}
	if euid != 0 {
		if int(u.UID) == euid {
			return nil, nil
		}
		return nil, fmt.Errorf("run_as %q: this server runs as uid %d and cannot switch users; start it as root, or leave run_as out (its tasks then run as its own user, confined by Landlock)", runAs, euid)
	}
	return &u, nil
}

func describeUser(u *isolate.User) string {
	if u != nil {
		return u.String()
	}
	name := strconv.Itoa(os.Geteuid())
	if me, err := user.Current(); err == nil {
		name = me.Username + " (" + me.Uid + ":" + me.Gid + ")"
	}
	return "the server's own: " + name
}

// makeRunDir makes the directory where runs get their own directories and
// says whether tasks can be kept out of it: not when it is in the
// temporary directory, where Landlock would have to keep them out of
// all of it.
func makeRunDir(dir string, switching bool) (string, bool, error) {
	if dir == "" {
		dir = defaultRunDir()
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false, err
	}
	mode := os.FileMode(0o700)
	if switching {
		mode = 0o711 // the tasks' user passes through to its run's directories
	}
	if err := os.Mkdir(dir, mode); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", false, fmt.Errorf("isolation.run_dir: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", false, fmt.Errorf("isolation.run_dir: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Geteuid() {
		return "", false, fmt.Errorf("isolation.run_dir %s: not a directory of this server's user", dir)
	}
	if err := os.Chmod(dir, mode); err != nil {
		return "", false, fmt.Errorf("isolation.run_dir: %w", err)
	}
	return dir, filepath.Dir(dir) != filepath.Clean(os.TempDir()), nil
}

// defaultRunDir is /run/sundial for root; for another user, the runtime
// directory systemd made for the service (RuntimeDirectory=) or the
// user's own; else one in the temporary directory.
func defaultRunDir() string {
	isDir := func(p string) bool {
		fi, err := os.Stat(p)
		return p != "" && err == nil && fi.IsDir()
	}
	if os.Geteuid() == 0 {
		if isDir("/run") {
			return "/run/sundial"
		}
	} else if service, _, _ := strings.Cut(os.Getenv("RUNTIME_DIRECTORY"), ":"); isDir(service) {
		return filepath.Join(service, "runs")
	} else if xdg := os.Getenv("XDG_RUNTIME_DIR"); isDir(xdg) {
		return filepath.Join(xdg, "sundial")
	}
	return filepath.Join(os.TempDir(), "sundial-"+strconv.Itoa(os.Geteuid()))
}

// keepFrom makes a database file of this server's unreachable by u: a
// file it owns loses its group and other permissions.
func keepFrom(path string, u *isolate.User, log *slog.Logger) error {
	fi, err := os.Stat(path)
	if err != nil {
		return nil // not there (yet): SQLite creates it with the database's mode
	}
	st := fi.Sys().(*syscall.Stat_t)
	if !readableBy(path, u) && !writableBy(st, u) {
		return nil
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("database file %s can be read or written by %s, who runs tasks, and is not this server's to change: chmod 600 it", path, u)
	}
	if err := os.Chmod(path, fi.Mode().Perm()&^0o077); err != nil {
		return fmt.Errorf("database file %s: %w", path, err)
	}
	log.Info("the database file was open to the tasks' user: its group and other permissions were removed", "file", path, "was", fi.Mode().Perm().String())
	return nil
}

// readableBy reports whether u may read path, by its permission bits.
func readableBy(path string, u *isolate.User) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	st := fi.Sys().(*syscall.Stat_t)
	return permits(st, u, 0o4)
}

func writableBy(st *syscall.Stat_t, u *isolate.User) bool { return permits(st, u, 0o2) }

// permits reports whether the mode bits of a file give u the access bit
// (4 read, 2 write), as owner, group or other.
func permits(st *syscall.Stat_t, u *isolate.User, bit uint32) bool {
	switch {
	case st.Uid == u.UID:
		return st.Mode&(bit<<6) != 0
	case st.Gid == u.GID:
		return st.Mode&(bit<<3) != 0
	}
	return st.Mode&bit != 0
}

// compact drops empty entries.
func compact(paths []string) []string {
	out := paths[:0]
	for _, p := range paths {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
