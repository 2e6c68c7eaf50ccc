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

// DefaultUsers are the users tried, in order, for tasks of a server that
// runs as root and was given no user: a dedicated user, then nobody.
var DefaultUsers = []string{"sundial", "nobody"}

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
	u, err := user.Lookup(name)
	if err != nil {
		if _, numErr := strconv.ParseUint(name, 10, 32); numErr == nil {
			u, err = user.LookupId(name)
		}
		if err != nil {
			return User{}, fmt.Errorf("user %q: %w", name, err)
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return User{}, fmt.Errorf("user %q: uid %q is not a number", name, u.Uid)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return User{}, fmt.Errorf("user %q: gid %q is not a number", name, u.Gid)
	}
	if !hasGroup && u.Username == "nobody" {
		if g, err := user.LookupGroup("nogroup"); err == nil {
			group = g.Gid
		}
	}
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			if _, numErr := strconv.ParseUint(group, 10, 32); numErr == nil {
				g, err = user.LookupGroupId(group)
			}
			if err != nil {
				return User{}, fmt.Errorf("group %q: %w", group, err)
			}
		}
		if gid, err = strconv.ParseUint(g.Gid, 10, 32); err != nil {
			return User{}, fmt.Errorf("group %q: gid %q is not a number", group, g.Gid)
		}
	}
	if uid == 0 || gid == 0 {
		return User{}, fmt.Errorf("%q: %w", spec, ErrRootUser)
	}
	return User{Name: u.Username, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir}, nil
}

// DefaultUser is the first of DefaultUsers that this host has.
func DefaultUser() (User, error) {
	var errs []error
	for _, name := range DefaultUsers {
		u, err := LookupUser(name)
		if err == nil {
			return u, nil
		}
		errs = append(errs, err)
	}
	return User{}, fmt.Errorf("no unprivileged user to run tasks as (create one: useradd --system sundial): %w", errors.Join(errs...))
}
