package shim

import (
	"os"
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
		pid, ok := atoi(name)
		if !ok || pid <= 0 {
			continue
		}
		ppid, state, ok := readStat(name, buf)
		if !ok {
			continue // gone meanwhile
		}
		children[ppid] = append(children[ppid], int(pid))
		zombie[int(pid)] = state == 'Z' || state == 'X'
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
	stat := string(buf[:n])
	i := len(stat) - 1
	for i >= 0 && stat[i] != ')' {
		i--
	}
	f := fields(stat[i+1:])
	if i < 0 || len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	p, ok := atoi(f[1])
	return int(p), f[0][0], ok
}
