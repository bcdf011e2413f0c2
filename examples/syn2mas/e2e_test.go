package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/syn2mas/synapsetest"
)

// TestBinary builds the real command and runs it, checking the exit codes
// the shell sees.
func TestBinary(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "syn2mas")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	exitCode := func(t *testing.T, args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, args...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), stdout.String(), stderr.String()
		}
		require.NoError(t, err)
		return 0, stdout.String(), stderr.String()
	}

	b := setup(t)
	code, stdout, _ := exitCode(t, b.args()...)
	require.Equal(t, 0, code)
	require.Contains(t, stdout, "No problems found")

	synapsetest.AddUser(t, b.db.DB, "@guest:example.com", true)
	code, _, _ = exitCode(t, b.args()...)
	require.Equal(t, 11, code, "warnings only")
	code, _, _ = exitCode(t, b.args("--allow-warnings")...)
	require.Equal(t, 0, code, "warnings allowed")

	synapsetest.AddExternalID(t, b.db.DB, "oidc-removed", "r1", "@alice:example.com")
	code, stdout, _ = exitCode(t, b.args("--json")...)
	require.Equal(t, 10, code, "errors")
	require.Contains(t, stdout, `"code": "unknown_auth_provider"`)
	code, _, _ = exitCode(t, b.args("--ignore-missing-auth-providers")...)
	require.Equal(t, 11, code, "the unknown provider is a warning with the flag")

	code, _, stderr := exitCode(t, "check", "--config", b.mas)
	require.Equal(t, 2, code, "usage")
	require.Contains(t, stderr, "--synapse-config (the Synapse configuration) is required")

	code, _, stderr = exitCode(t, "check", "--config", b.mas, "--synapse-config", filepath.Join(b.dir, "missing.yaml"))
	require.Equal(t, 1, code, "could not check")
	require.Contains(t, stderr, "missing.yaml")
	require.NotContains(t, stderr, "panic")
}
