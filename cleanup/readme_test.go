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
	var rows []string
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| cleanup-") {
			rows = append(rows, line)
		}
	}
	jobs := cleanup.AllJobs()
	require.Len(t, rows, len(jobs))
	for i, j := range jobs {
		cells := strings.Split(rows[i], "|")
		require.Equal(t, j.Name, strings.TrimSpace(cells[1]), "row %d", i+1)
		require.Equal(t, retentionCell(j.Retention), strings.TrimSpace(cells[2]), j.Name)
		require.Equal(t, "`"+j.Cadence+"`", strings.TrimSpace(cells[3]), j.Name)
	}
}

func retentionCell(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return fmt.Sprintf("%dh", d/time.Hour)
}
