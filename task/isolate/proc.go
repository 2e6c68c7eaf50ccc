package isolate

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// descendants returns the processes, zombies aside, whose chain of
// parents in /proc leads to root.
func descendants(root int) []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	children := map[int][]int{}
	zombie := map[int]bool{}
	buf := make([]byte, 1024)
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		ppid, state, ok := readStat(name, buf)
		if !ok {
			continue // gone meanwhile
		}
		children[ppid] = append(children[ppid], pid)
		zombie[pid] = state == 'Z' || state == 'X'
	}
	var alive []int
	queue := children[root]
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if !zombie[pid] {
			alive = append(alive, pid)
		}
		queue = append(queue, children[pid]...)
	}
	return alive
}

// readStat reads a process's parent and state from /proc/PID/stat.
func readStat(pid string, buf []byte) (ppid int, state byte, ok bool) {
	fd, err := syscall.Open("/proc/"+pid+"/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0, false
	}
	n, err := syscall.Read(fd, buf)
	syscall.Close(fd)
	if err != nil || n <= 0 {
		return 0, 0, false
	}
	// "pid (comm) state ppid ...", where comm may hold spaces and parens.
	stat := buf[:n]
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+4 > len(stat) {
		return 0, 0, false
	}
	fields := bytes.Fields(stat[i+1:])
	if len(fields) < 2 || len(fields[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(string(fields[1]))
	return ppid, fields[0][0], err == nil
}
