package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sundialhq/sundial/task/isolate"
)

// forgetHelperEnv makes the test binary forgetHelper, a server's start in
// a process of its own.
const forgetHelperEnv = "SUNDIAL_TEST_FORGET_HELPER"

// forgetHelper forgets the secrets in its environment as a server does at
// its start, makes itself non-dumpable, and prints what is left.
func forgetHelper() int {
	err := forgetSecretEnv()
	initial, _ := os.ReadFile("/proc/self/environ")
	dumpErr := nonDumpable()
	dumpable, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	child, _ := exec.Command("env").Output()
	fmt.Printf("forget: %v\ngetenv: %q\ninitial: %v\nchild: %v\nkept: %q\ndumpable: %d %v\n", err, os.Getenv("SUNDIAL_SECRET_KEY"),
		bytes.Contains(initial, []byte("canary")), bytes.Contains(child, []byte("canary")), os.Getenv("OTHER"), dumpable, dumpErr)
	return 0
}

// TestServerForgetsSecretEnvAndIsNonDumpable: the key and other secrets
// given in the environment leave it at start — Go's copy, which children
// would inherit, and the block /proc/PID/environ shows — and the process
// is non-dumpable.
func TestServerForgetsSecretEnvAndIsNonDumpable(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), forgetHelperEnv+"=1", "SUNDIAL_SECRET_KEY=canary-key", "SUNDIAL_SMTP_PASSWORD=canary-pw",
		"SUNDIAL_SECRET_KEY_FILE=/canary/file", "OTHER=kept")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := "forget: <nil>\ngetenv: \"\"\ninitial: false\nchild: false\nkept: \"kept\"\ndumpable: 0 <nil>\n"
	if string(out) != want {
		t.Errorf("the helper says:\n%s\nwant:\n%s", out, want)
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o600)
		return p
	}
	const key = "q83vEgVKbBtRgx1nfEaJfJ7T3xEs9Y7rjyUkzQMY0rI="
	for _, c := range []struct {
		name string
		cfg  Config
		err  string
	}{
		{"none", Config{}, ""},
		{"environment", Config{SecretKey: key}, ""},
		{"file", Config{SecretKeyFile: file("key", key+"\n")}, ""},
		{"both", Config{SecretKey: key, SecretKeyFile: file("key2", key)}, "not both"},
		{"short file", Config{SecretKeyFile: file("short", "abc")}, "secret_key_file " + filepath.Join(dir, "short") + ": the file must hold 32 random bytes"},
		{"missing file", Config{SecretKeyFile: filepath.Join(dir, "missing")}, "secret_key_file: open"},
		{"short key", Config{SecretKey: "short"}, "SUNDIAL_SECRET_KEY must be 32 random bytes"},
	} {
		k, err := loadKey(c.cfg)
		switch {
		case c.err == "" && (err != nil || (c.name != "none") != (len(k) == 32)):
			t.Errorf("%s: %d bytes, %v", c.name, len(k), err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.err)
		}
	}
}

func rootOnly(t *testing.T) isolate.User {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("run as root (as CI does): only root can run tasks as another user")
	}
	u, err := isolate.DefaultUser()
	if err != nil {
		t.Skip(err)
	}
	return u
}

// TestIsolationOfARootServer: a server started as root runs tasks as a
// default unprivileged user, never as root; it takes group and other
// permissions off a database file the tasks' user could read, and refuses
// a key file that user could read.
func TestIsolationOfARootServer(t *testing.T) {
	u := rootOnly(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	db := filepath.Join(dir, "sundial.db")
	os.WriteFile(db, []byte("db"), 0o644)
	os.WriteFile(db+"-wal", []byte("wal"), 0o664)
	key := filepath.Join(dir, "key")
	os.WriteFile(key, []byte("k"), 0o600)
	runDir := filepath.Join(t.TempDir(), "runs")
	cfg := Config{SecretKeyFile: key, Isolation: IsolationConfig{RunDir: runDir, Protect: []string{"/etc/sundial"}}}

	iso, err := newIsolation(cfg, db, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	if r := iso.runner; r.User == nil || *r.User != u || !r.Landlock || r.RunDir != runDir {
		t.Errorf("runner = %+v", r)
	}
	for _, p := range []string{db, db + "-wal", key, runDir, "/etc/sundial"} {
		if !strings.Contains(strings.Join(iso.runner.Protect, " "), p) {
			t.Errorf("%s is not protected: %v", p, iso.runner.Protect)
		}
	}
	for _, p := range []string{db, db + "-wal"} {
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 && fi.Mode().Perm() != 0o400 {
			t.Errorf("%s has mode %s", p, fi.Mode().Perm())
		}
	}
	if fi, _ := os.Stat(runDir); fi.Mode().Perm() != 0o711 {
		t.Errorf("run dir mode %s", fi.Mode().Perm())
	}
	if iso.facts[factRunAs] != u.String() || iso.facts[factNonDumpable] != "yes" || iso.facts[factLandlock] != isolate.DetectLandlock().String() {
		t.Errorf("facts = %v", iso.facts)
	}

	os.Chmod(key, 0o644)
	if _, err := newIsolation(cfg, db, nil, log); err == nil || !strings.Contains(err.Error(), "secret_key_file "+key+" can be read by "+u.String()) {
		t.Errorf("a key file the tasks' user can read: %v", err)
	}
	os.Chmod(key, 0o600)
	for _, runAs := range []string{"root", "nobody:root", "0:0"} {
		if _, err := newIsolation(Config{RunAs: runAs}, "", nil, log); !errors.Is(err, isolate.ErrRootUser) {
			t.Errorf("run_as %q: %v", runAs, err)
		}
	}
	off := false
	iso, err = newIsolation(Config{Isolation: IsolationConfig{Landlock: &off, RunDir: runDir}}, "", errors.New("prctl: refused"), log)
	if err != nil || iso.runner.Landlock || iso.facts[factLandlock] != "off" || iso.facts[factNonDumpable] != "no: prctl: refused" {
		t.Errorf("landlock off: %+v %v %v", iso.runner, iso.facts, err)
	}
}

// TestUnenforcedDefaultLimits: a default memory or pids limit the host
// cannot enforce stops the server at start, unless accepted.
func TestUnenforcedDefaultLimits(t *testing.T) {
	if isolate.DetectCgroup("") != "" {
		t.Skip("this host has a delegated cgroup v2: memory and pids limits hold")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	runDir := filepath.Join(t.TempDir(), "runs")
	cfg := Config{Isolation: IsolationConfig{MemoryMB: 64, RunDir: runDir}}
	if _, err := newIsolation(cfg, "", nil, log); err == nil || !strings.Contains(err.Error(), "isolation.memory_mb cannot be enforced on this host") {
		t.Errorf("memory_mb without a cgroup: %v", err)
	}
	cfg.Isolation.AcceptUnenforcedLimits = true
	iso, err := newIsolation(cfg, "", nil, log)
	if err != nil || iso.limits.MemoryBytes != 64<<20 || iso.facts[factCgroupLimits] != "unavailable: accepted unenforced" {
		t.Errorf("accepted: %+v %v %v", iso, err, iso.facts)
	}
}

// TestRunAsOfANonRootServer: a server that cannot switch users refuses a
// run_as naming another user, and accepts its own.
func TestRunAsOfANonRootServer(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("the test is for a server started by a user other than root")
	}
	if _, err := taskUser("nobody"); err == nil || !strings.Contains(err.Error(), "cannot switch users") {
		t.Errorf("run_as nobody: %v", err)
	}
	if u, err := taskUser(fmt.Sprint(os.Geteuid())); u != nil || err != nil {
		t.Errorf("run_as itself: %v %v", u, err)
	}
}

// TestIsolationSettings: run_as, the key file and the isolation settings
// come from the config file and the environment.
func TestIsolationSettings(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sundial.yaml")
	os.WriteFile(file, []byte(`run_as: sundial:sundial
secret_key_file: /etc/sundial/key
isolation: {accept_unenforced_limits: true, landlock: false, protect: [/srv/private], run_dir: /run/sundial-tasks}
`), 0o600)
	cfg, err := ReadConfigFile(file)
	if err != nil {
		t.Fatal(err)
	}
	iso := cfg.Isolation
	if cfg.RunAs != "sundial:sundial" || cfg.SecretKeyFile != "/etc/sundial/key" || !iso.AcceptUnenforcedLimits || iso.Landlock == nil || *iso.Landlock ||
		fmt.Sprint(iso.Protect) != "[/srv/private]" || iso.RunDir != "/run/sundial-tasks" {
		t.Errorf("from the file: %+v", cfg)
	}
	env := map[string]string{"SUNDIAL_RUN_AS": "nobody", "SUNDIAL_SECRET_KEY_FILE": "/run/secrets/key", "SUNDIAL_RUN_DIR": "/run/x"}
	if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if cfg.RunAs != "nobody" || cfg.SecretKeyFile != "/run/secrets/key" || cfg.Isolation.RunDir != "/run/x" {
		t.Errorf("from the environment: %+v", cfg)
	}
}
