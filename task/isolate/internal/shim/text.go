package shim

import (
	"math"
	"os"
)

// The string helpers the package needs, so that it does not import
// strings or strconv (see the package comment).

// utoa formats v in decimal.
func utoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		if v /= 10; v == 0 {
			return string(b[i:])
		}
	}
}

// itoa formats v in decimal.
func itoa(v int64) string {
	if v < 0 {
		return "-" + utoa(uint64(-v))
	}
	return utoa(uint64(v))
}

// atou parses a decimal number without sign.
func atou(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		d := uint64(s[i] - '0')
		if s[i] < '0' || s[i] > '9' || v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// atoi parses a decimal number, maybe negative.
func atoi(s string) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	u, ok := atou(s)
	switch {
	case !ok || u > math.MaxInt64+1 || (!neg && u > math.MaxInt64):
		return 0, false
	case neg:
		return -int64(u), true
	}
	return int64(u), true
}

// cut slices s around the first sep.
func cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// fields splits s around runs of spaces and newlines.
func fields(s string) []string {
	var f []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' || s[i] == '\n' || s[i] == '\t' {
			if start >= 0 {
				f = append(f, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	return f
}

// without returns s without any c.
func without(s string, c byte) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != c {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// readLines sends each line read from f to lines, then closes it.
func readLines(f *os.File, lines chan<- string) {
	defer close(lines)
	var pending []byte
	buf := make([]byte, 512)
	for {
		n, err := f.Read(buf)
		pending = append(pending, buf[:n]...)
		for {
			line, rest, found := cut(string(pending), '\n')
			if !found {
				break
			}
			lines <- line
			pending = append(pending[:0], rest...)
		}
		if len(pending) > 64<<10 {
			pending = pending[:0] // not a message of ours
		}
		if err != nil {
			return
		}
	}
}
