package isolate

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
)

// LandlockStatus is what Linux Landlock offers this host's tasks.
type LandlockStatus struct {
	// ABI is the kernel's Landlock ABI version; 0 when the kernel has no
	// Landlock or it is not enabled at boot (lsm=).
	ABI int
	// Signals reports that a confined task cannot signal processes
	// outside its sandbox, such as the server (ABI 6 with the kernel's
	// fix for it).
	Signals bool
}

// String is "abi N", with what is missing, or "unavailable".
func (s LandlockStatus) String() string {
	switch {
	case s.ABI == 0:
		return "unavailable"
	case !s.Signals:
		return "abi " + strconv.Itoa(s.ABI) + ", signals not scoped"
	}
	return "abi " + strconv.Itoa(s.ABI)
}

// DetectLandlock asks the kernel which Landlock ABI it has.
func DetectLandlock() LandlockStatus {
	v, err := llsys.LandlockGetABIVersion()
	if err != nil || v <= 0 {
		return LandlockStatus{}
	}
	s := LandlockStatus{ABI: v}
	if v >= 6 {
		// The kernel's erratum 2 is the fix that makes signal scoping hold.
		errata, err := llsys.LandlockGetErrata()
		s.Signals = err == nil && errata&2 != 0
	}
	return s
}

// landlockConfigs are go-landlock's configurations by ABI version, from 1.
var landlockConfigs = []landlock.Config{landlock.V1, landlock.V2, landlock.V3, landlock.V4, landlock.V5, landlock.V6,
	landlock.V7, landlock.V8, landlock.V9, landlock.V10, landlock.V11}

// fileRights are the access rights that apply to a file (the kernel
// refuses a rule on a file that names others).
const fileRights = landlock.AccessFSSet(llsys.AccessFSExecute | llsys.AccessFSWriteFile | llsys.AccessFSReadFile |
	llsys.AccessFSTruncate | llsys.AccessFSIoctlDev)

// landlockRuleset makes the Landlock ruleset of one run: every file
// system access except to protect, and full access to the run's own
// directories (which may lie under a protected one). Signals to
// processes outside the sandbox are refused where the kernel can; the
// network is left alone. It returns nil when the kernel has no Landlock.
//
// Landlock grants, it does not deny: so the ruleset grants each existing
// entry of the directories that lead to a protected path, except the
// protected one, and only the right to list those directories
// themselves. Entries created in them later are out of reach too.
func landlockRuleset(protect, own []string) (*os.File, uint32, error) {
	st := DetectLandlock()
	if st.ABI == 0 {
		return nil, 0, nil
	}
	v := landlockConfigs[min(st.ABI, len(landlockConfigs))-1]
	cfg := landlock.Config{HandledAccessFS: v.HandledAccessFS, Scoped: v.Scoped & landlock.ScopedSet(llsys.ScopeSignal)}.BestEffort()
	all := cfg.HandledAccessFS
	rules := landlockRules(realPaths(protect), all, all&fileRights)
	if len(own) > 0 {
		rules = append(rules, landlock.PathAccess(all, realPaths(own)...))
	}
	fd, flags, err := cfg.NewRulesetFD(rules...)
	if err != nil || fd < 0 {
		return nil, 0, err
	}
	return os.NewFile(uintptr(fd), "landlock-ruleset"), flags, nil
}

// landlockRules grants everything but deny (clean absolute paths).
func landlockRules(deny []string, dirRights, fileRights landlock.AccessFSSet) []landlock.Rule {
	if len(deny) == 0 {
		return []landlock.Rule{landlock.PathAccess(dirRights, "/")}
	}
	leadsTo := func(p string) bool {
		for _, d := range deny {
			if strings.HasPrefix(d, p+"/") {
				return true
			}
		}
		return false
	}
	var listOnly, dirs, files []string
	var walk func(dir string)
	walk = func(dir string) {
		listOnly = append(listOnly, dir)
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			switch {
			case slices.Contains(deny, p):
			case e.Type()&fs.ModeSymlink != 0:
				// What it points to is reached by its own path, under
				// that path's rule.
			case e.IsDir() && leadsTo(p):
				walk(p)
			case e.IsDir():
				dirs = append(dirs, p)
			default:
				files = append(files, p)
			}
		}
	}
	walk("/")
	// An entry may go between the listing and the rule: missing ones are
	// skipped.
	return []landlock.Rule{
		landlock.PathAccess(landlock.AccessFSSet(llsys.AccessFSReadDir)&dirRights, listOnly...).IgnoreIfMissing(),
		landlock.PathAccess(dirRights, dirs...).IgnoreIfMissing(),
		landlock.PathAccess(fileRights, files...).IgnoreIfMissing(),
	}
}

// realPaths resolves paths to clean absolute ones without symbolic links,
// as the kernel sees them; a path that does not exist is kept with its
// directory resolved.
func realPaths(paths []string) []string {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		} else if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil && errors.Is(statErr(abs), fs.ErrNotExist) {
			abs = filepath.Join(dir, filepath.Base(abs))
		}
		out = append(out, filepath.Clean(abs))
	}
	return out
}

func statErr(p string) error {
	_, err := os.Lstat(p)
	return err
}
