package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
)

// The README's metric table is what operators alert on: it names every
// metric the janitor exports, with its type, and no other.
func TestReadmeMetricTableMatchesTheRegistry(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(readme), "| metric | type | what |\n| --- | --- | --- |\n")
	require.True(t, ok, "README.md has the metric table")
	row := regexp.MustCompile("^\\| `(" + metricPrefix + "\\w+)` \\| (\\w+) \\|")
	documented := map[string]string{}
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| ") {
			break
		}
		m := row.FindStringSubmatch(line)
		require.NotNil(t, m, line)
		documented[m[1]] = m[2]
	}

	m := newMetrics()
	m.register(cleanup.AllJobs())
	// Exported once a job has run.
	first := cleanup.AllJobs()[0]
	m.setBacklog(first.Name, 1, false)
	m.jobDone(cleanup.Report{Job: first.Name}, false, time.Now())
	families, err := m.registry.Gather()
	require.NoError(t, err)
	exported := map[string]string{}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), metricPrefix) {
			exported[f.GetName()] = strings.ToLower(dto.MetricType_name[int32(f.GetType())])
			for _, s := range f.GetMetric() {
				var labels []string
				for _, l := range s.GetLabel() {
					labels = append(labels, l.GetName())
				}
				require.Contains(t, labels, jobLabel, f.GetName())
			}
		}
	}
	require.Equal(t, exported, documented)
}
