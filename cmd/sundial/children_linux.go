package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// killChildren kills, with SIGKILL, this process's child processes and
// the process groups they lead: the tasks' processes, which run in groups
// of their own (see task/isolate). A server that exits at once would
// otherwise leave them running, beside the retries of their runs. It
// returns how many children it found.
func killChildren() int {
	self, ownGroup := os.Getpid(), syscall.Getpgrp()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 3 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgrp, _ := strconv.Atoi(f[2])
		if ppid != self {
			continue
		}
		n++
		if pgrp == pid && pgrp != ownGroup {
			syscall.Kill(-pgrp, syscall.SIGKILL)
		}
		syscall.Kill(pid, syscall.SIGKILL)
	}
	return n
}
