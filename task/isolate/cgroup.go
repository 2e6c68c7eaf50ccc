package isolate

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DetectCgroup returns a cgroup v2 directory where runs can get cgroups
// of their own with memory and pid limits: root/sundial, created with
// those controllers enabled. It returns "" when the host does not allow
// it (cgroup v1, no write access, controllers not delegated).
func DetectCgroup(root string) string {
	if root == "" {
		root = "/sys/fs/cgroup"
	}
	controllers, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		return ""
	}
	have := strings.Fields(string(controllers))
	if !contains(have, "memory") || !contains(have, "pids") {
		return ""
	}
	dir := filepath.Join(root, "sundial")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ""
	}
	if err := os.WriteFile(filepath.Join(root, "cgroup.subtree_control"), []byte("+memory +pids"), 0); err != nil {
		return ""
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory +pids"), 0); err != nil {
		return ""
	}
	return dir
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// newRunCgroup creates a cgroup for one run under parent with l's limits.
func newRunCgroup(parent string, l Limits) (string, error) {
	dir := filepath.Join(parent, "run-"+strings.ToLower(rand.Text()[:12]))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	write := func(file string, v uint64) error {
		if v == 0 {
			return nil
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(strconv.FormatUint(v, 10)), 0); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		return nil
	}
	if err := write("memory.max", l.MemoryBytes); err != nil {
		os.Remove(dir)
		return "", err
	}
	if err := write("pids.max", l.Pids); err != nil {
		os.Remove(dir)
		return "", err
	}
	return dir, nil
}

// removeCgroup removes a run's cgroup once its processes are gone: a
// cgroup directory is removed with rmdir, its files go with it.
func removeCgroup(dir string) {
	if err := os.Remove(dir); err != nil {
		// A real cgroupfs refuses RemoveAll's unlinks of its files; a
		// plain directory (tests) needs them.
		os.RemoveAll(dir)
	}
}
