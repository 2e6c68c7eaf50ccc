package isolate

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// PrivateDir makes a directory for one run's files (its working
// directory, a result file) under RunDir, for a Cmd's Private; remove
// deletes it and all it holds. It lies in a directory of its own that
// only this process can change, so that a task cannot move it away or
// put a link in its place.
func (r *Runner) PrivateDir(prefix string) (dir string, remove func(), err error) {
	parent, err := os.MkdirTemp(r.RunDir, "sundial-"+prefix+"-")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(parent) }
	dir = filepath.Join(parent, "d")
	err = os.Mkdir(dir, 0o700)
	if err == nil && r.User != nil {
		// The task's user may pass through, not list or change it.
		err = os.Chmod(parent, 0o711)
	}
	if err != nil {
		remove()
		return "", nil, err
	}
	return dir, remove, nil
}

// handOver makes dir, and what Prepare put in it, the task's user's.
func (r *Runner) handOver(dir string) error {
	if r.User == nil {
		return nil
	}
	uid, gid := int(r.User.UID), int(r.User.GID)
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			return fmt.Errorf("make %s over to %s: %w", p, r.User, err)
		}
		return nil
	})
}

// Unenforced is a limit that a Runner cannot enforce.
type Unenforced struct {
	// Field is the limit's name in Limits' JSON, such as memory_bytes.
	Field string
	// Why it cannot be.
	Why string
}

// String says which limit cannot be enforced, and why.
func (u Unenforced) String() string {
	return "limits." + u.Field + " cannot be enforced on this host: " + u.Why
}

// unenforcedError is ErrUnenforced about one limit.
type unenforcedError struct{ u Unenforced }

func (e unenforcedError) Error() string        { return e.u.String() }
func (e unenforcedError) Is(target error) bool { return target == ErrUnenforced }

// Unenforceable returns the limits in l that r cannot enforce: memory and
// pids without a cgroup v2 (Runner.Cgroup).
func (r *Runner) Unenforceable(l Limits) []Unenforced {
	var out []Unenforced
	noCgroup := "it needs a delegated cgroup v2 with the memory and pids controllers, and this host has none (cgroup v1, or no write access to /sys/fs/cgroup)"
	if l.MemoryBytes > 0 && r.Cgroup == "" {
		out = append(out, Unenforced{"memory_bytes", noCgroup})
	}
	if l.Pids > 0 && r.Cgroup == "" {
		out = append(out, Unenforced{"pids", noCgroup})
	}
	return out
}

// ErrTooLarge is ReadChildFile's error for a file over its limit.
var ErrTooLarge = errors.New("file too large")

// ReadChildFile reads a file that a child wrote in its private directory,
// up to limit bytes (ErrTooLarge beyond). Only a regular file with one
// link is read: a task cannot make this process read another file for it
// through a symbolic or hard link.
func ReadChildFile(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return nil, err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Nlink != 1 {
		return nil, fmt.Errorf("%s: not a regular file of the task's own", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w: more than %d bytes", path, ErrTooLarge, limit)
	}
	return b, nil
}
