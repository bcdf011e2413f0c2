package syn2mas_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/syn2mas"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// writeFile writes content to dir/name (creating directories) and returns
// the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// loadSynapse writes each document to its own file and loads them in order.
func loadSynapse(t *testing.T, docs ...string) (*syn2mas.SynapseConfig, error) {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, doc := range docs {
		paths = append(paths, writeFile(t, dir, fmt.Sprintf("file%d.yaml", i), doc))
	}
	return syn2mas.LoadSynapseConfig(paths...)
}

// mustLoadSynapse is loadSynapse for documents that must load.
func mustLoadSynapse(t *testing.T, docs ...string) *syn2mas.SynapseConfig {
	t.Helper()
	cfg, err := loadSynapse(t, docs...)
	require.NoError(t, err)
	return cfg
}

// mustLoadMAS writes a MAS configuration and loads it.
func mustLoadMAS(t *testing.T, doc string) *syn2mas.MASConfig {
	t.Helper()
	cfg, err := syn2mas.LoadMASConfig(writeFile(t, t.TempDir(), "mas.yaml", doc))
	require.NoError(t, err)
	return cfg
}

// codes lists "severity code" for each finding, for compact assertions.
func codes(fs syn2mas.Findings) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, string(f.Severity)+" "+string(f.Code))
	}
	return out
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
