package isolate

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"strings"
)

// User is an identity that tasks run as, apart from the server's.
type User struct {
	// Name is the user's name, for USER and LOGNAME.
	Name string
	// UID and GID are the task's user and group; supplementary groups
	// are dropped.
	UID, GID uint32
	// Home is the user's home directory, for HOME ("" leaves HOME out).
	Home string
}

// String is "name (uid:gid)".
func (u User) String() string {
	return fmt.Sprintf("%s (%d:%d)", u.Name, u.UID, u.GID)
}

// defaultUsers are the users tried, in order, for tasks of a server that
// runs as root and was given no user: a dedicated user, then nobody.
var defaultUsers = [...]string{"sundial", "nobody"}

// ErrRootUser: tasks never run as root.
var ErrRootUser = errors.New("tasks must not run as root (uid or gid 0)")

// LookupUser resolves "user" or "user:group" (names or numeric IDs). A
// user alone runs with its primary group, except nobody, which runs with
// nogroup where the host has one. Root is refused (ErrRootUser).
func LookupUser(spec string) (User, error) {
	name, group, hasGroup := strings.Cut(spec, ":")
	if name == "" || (hasGroup && group == "") {
		return User{}, fmt.Errorf("%q: give a user, or user:group", spec)
	}
	u, err := lookup(name, user.Lookup, user.LookupId)
	if err != nil {
		return User{}, fmt.Errorf("user %q: %w", name, err)
	}
	uid, err := parseID("user", name, u.Uid)
	if err != nil {
		return User{}, err
	}
	gid, err := parseID("user", name, u.Gid)
	if err != nil {
		return User{}, err
	}
	if !hasGroup && u.Username == "nobody" {
		if g, err := user.LookupGroup("nogroup"); err == nil {
			group = g.Gid
		}
	}
	if group != "" {
		g, err := lookup(group, user.LookupGroup, user.LookupGroupId)
		if err != nil {
			return User{}, fmt.Errorf("group %q: %w", group, err)
		}
		if gid, err = parseID("group", group, g.Gid); err != nil {
			return User{}, err
		}
	}
	if uid == 0 || gid == 0 {
		return User{}, fmt.Errorf("%q: %w", spec, ErrRootUser)
	}
	return User{Name: u.Username, UID: uid, GID: gid, Home: u.HomeDir}, nil
}

// lookup finds name with byName, else, when it is a number, with byID.
func lookup[T any](name string, byName, byID func(string) (T, error)) (T, error) {
	v, err := byName(name)
	if _, numErr := strconv.ParseUint(name, 10, 32); err != nil && numErr == nil {
		v, err = byID(name)
	}
	return v, err
}

func parseID(kind, name, id string) (uint32, error) {
	n, err := strconv.ParseUint(id, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s %q: id %q is not a number", kind, name, id)
	}
	return uint32(n), nil
}

// DefaultUser is who tasks of a root server run as when it was given no
// user: sundial where the host has that user, else nobody.
func DefaultUser() (User, error) {
	var errs []error
	for _, name := range defaultUsers {
		u, err := LookupUser(name)
		if err == nil {
			return u, nil
		}
		errs = append(errs, err)
	}
	return User{}, fmt.Errorf("no unprivileged user to run tasks as (create one: useradd --system sundial): %w", errors.Join(errs...))
}
