package main

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// replica is a janitor binary running in the background, its log kept.
type replica struct {
	t   *testing.T
	cmd *exec.Cmd

	mu    sync.Mutex
	lines []string
	ended chan struct{}
}

// startReplica starts bin with args; the test kills it at its end.
func startReplica(t *testing.T, bin string, args ...string) *replica {
	t.Helper()
	r := &replica{t: t, cmd: exec.Command(bin, args...), ended: make(chan struct{})}
	stderr, err := r.cmd.StderrPipe()
	require.NoError(t, err)
	r.cmd.Stdout = io.Discard
	require.NoError(t, r.cmd.Start())
	go func() {
		defer close(r.ended)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			r.mu.Lock()
			r.lines = append(r.lines, sc.Text())
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	})
	return r
}

// log returns the lines logged so far.
func (r *replica) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

// waitFor waits up to 30 s for a line matching re, and returns its
// submatches.
func (r *replica) waitFor(re string) []string {
	r.t.Helper()
	pattern := regexp.MustCompile(re)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range r.log() {
			if m := pattern.FindStringSubmatch(l); m != nil {
				return m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("no log line matches %q; log:\n%s", re, strings.Join(r.log(), "\n"))
	return nil
}

// opsURL is the base URL of the replica's ops listener, from its log.
func (r *replica) opsURL() string {
	r.t.Helper()
	return "http://" + r.waitFor(`serving /metrics.* addr=(\S+)`)[1]
}

// count counts the log lines matching re.
func (r *replica) count(re string) int {
	n := 0
	pattern := regexp.MustCompile(re)
	for _, l := range r.log() {
		if pattern.MatchString(l) {
			n++
		}
	}
	return n
}

// scrape reads /metrics and parses it with Prometheus's text parser.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err, "the exposition parses")
	return families
}

// value returns the value of the family's series with these labels; 0
// when there is none.
func value(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := families[name]
	if f == nil {
		return 0
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return 0
}

// get returns the status and body of a GET.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}
