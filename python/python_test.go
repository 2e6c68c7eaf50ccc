// Package python_test runs the Python package's own unittest suite
// (python/tests) under Debian's interpreter, so that the one test command
// of README.md covers it.
package python_test

import (
	"os"
	"os/exec"
	"testing"
)

func TestPythonPackage(t *testing.T) {
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Skip("needs Debian's /usr/bin/python3 (apt-get install -y python3)")
	}
	if testing.Short() {
		t.Skip("-short: the Python suite takes about ten seconds")
	}
	cmd := exec.Command(python, "-m", "unittest", "discover", "-s", "tests")
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python -m unittest discover -s tests: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
