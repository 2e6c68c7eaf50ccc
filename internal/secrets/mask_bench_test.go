package secrets

import (
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchOutput is 1 MiB of log-like lines, the same on every run.
func benchOutput() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for b.Len() < 1<<20 {
		fmt.Fprintf(&b, "2025-05-01T12:%02d:%02dZ INFO processed batch %d of %d: id=%016x user=u%06d status=ok elapsed=%dms\n",
			r.IntN(60), r.IntN(60), r.IntN(10000), r.IntN(100000), r.Uint64(), r.IntN(1000000), r.IntN(5000))
	}
	return []byte(b.String()[:1<<20])
}

// benchPEM is a PEM-shaped value: 1,200 random bytes in base64 lines of 64.
func benchPEM() string {
	r := rand.New(rand.NewPCG(3, 4))
	raw := make([]byte, 1200)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	var b strings.Builder
	b.WriteString("-----BEGIN PRIVATE KEY-----\n")
	for len(enc) > 64 {
		b.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	b.WriteString(enc + "\n-----END PRIVATE KEY-----\n")
	return b.String()
}

// BenchmarkMaskingWriter measures the cost of masking a run's output per
// MiB (ns/op is per MiB written), in 32 KiB writes (what the output pipe's
// copy writes) and in one write per line (an unbuffered program).
func BenchmarkMaskingWriter(b *testing.B) {
	out := benchOutput()
	sets := []struct {
		name   string
		values []string
	}{
		{"none", nil},
		{"one", []string{"hunter2-canary-value"}},
		{"five", []string{"hunter2-canary-value", `p"ä\ss w0rd`, "tok-5f1e9c2a7b", "s3cr3t/with+plus", "ümlaut-passwort"}},
		{"pem", []string{benchPEM()}},
	}
	for _, set := range sets {
		m := NewMasker()
		for _, v := range set.values {
			m.Add(v)
		}
		for _, mode := range []string{"32KiB", "lines"} {
			var chunks [][]byte
			if mode == "lines" {
				for rest := out; len(rest) > 0; {
					i := strings.IndexByte(string(rest), '\n') + 1
					if i == 0 {
						i = len(rest)
					}
					chunks, rest = append(chunks, rest[:i]), rest[i:]
				}
			} else {
				for i := 0; i < len(out); i += 32 << 10 {
					chunks = append(chunks, out[i:min(i+32<<10, len(out))])
				}
			}
			b.Run(set.name+"/"+mode, func(b *testing.B) {
				b.SetBytes(int64(len(out)))
				for b.Loop() {
					w := m.NewWriter(io.Discard)
					for _, c := range chunks {
						w.Write(c)
					}
					w.Close()
				}
			})
		}
	}
}

// BenchmarkNewMasker measures what a run with secrets pays at its start
// to build its masker.
func BenchmarkNewMasker(b *testing.B) {
	for _, c := range []struct {
		name   string
		values []string
	}{
		{"one", []string{"hunter2-canary-value"}},
		{"five", []string{"hunter2-canary-value", `p"ä\ss w0rd`, "tok-5f1e9c2a7b", "s3cr3t/with+plus", "ümlaut-passwort"}},
		{"pem", []string{benchPEM()}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				NewMasker(c.values...)
			}
		})
	}
}
