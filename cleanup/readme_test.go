package cleanup_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
)

// The README's job table is what operators read: it must match the code.
func TestReadmeJobTableMatchesJobs(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(readme), "| job | source | retention | cadence | does |\n| --- | --- | --- | --- | --- |\n")
	require.True(t, ok, "README.md has the job table")
	var rows []string
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| ") {
			break
		}
		rows = append(rows, line)
	}
	jobs := cleanup.AllJobs()
	require.Len(t, rows, len(jobs))
	for i, j := range jobs {
		cells := strings.Split(rows[i], "|")
		require.Equal(t, j.Name, strings.TrimSpace(cells[1]), "row %d", i+1)
		source := "beyond MAS"
		if j.FromMAS {
			source = "MAS"
		}
		require.Equal(t, source, strings.TrimSpace(cells[2]), j.Name)
		require.Equal(t, retentionCell(j), strings.TrimSpace(cells[3]), j.Name)
		require.Equal(t, "`"+j.Cadence+"`", strings.TrimSpace(cells[4]), j.Name)
	}
}

func retentionCell(j cleanup.Job) string {
	d := j.Retention
	switch {
	case j.Optional:
		return "off"
	case d == 0:
		return "0"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return fmt.Sprintf("%dh", d/time.Hour)
}
