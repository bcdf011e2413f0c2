package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// percentileMS is the p-th percentile (nearest rank) of ds, in milliseconds;
// NaN when there is none.
func percentileMS(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return math.NaN()
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return float64(s[rank-1]) / float64(time.Millisecond)
}

func formatMS(ms float64) string {
	if math.IsNaN(ms) {
		return "-"
	}
	if ms < 10 {
		return fmt.Sprintf("%.1f", ms)
	}
	return fmt.Sprintf("%.0f", ms)
}

// printSection prints one scenario's results as a Markdown table, the
// form BENCHMARKS.md keeps: a row's goal is its bound on the ratio, when
// the issue sets one.
func printSection(w io.Writer, s section) {
	fmt.Fprintf(w, "\n### %s\n\n", s.title)
	withRSS := false
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range s.rows {
		withRSS = withRSS || r.rssKB > 0
		lo, hi = min(lo, r.load), max(hi, r.load)
	}
	header := "| dataset | variant | rows | seconds | rows/s | batches | batch p99 ms | ratio | goal | met |"
	rule := "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
	if withRSS {
		header += " peak RSS MiB |"
		rule += " ---: |"
	}
	fmt.Fprintln(w, header)
	fmt.Fprintln(w, rule)
	for _, r := range s.rows {
		batches := len(r.batches)
		if batches == 0 {
			batches = r.batchCount
		}
		goal, met := rowGoal(r)
		line := fmt.Sprintf("| %s | %s | %d | %.2f | %.0f | %s | %s | %s | %s | %s |",
			r.dataset, r.variant, r.rows, r.seconds(), r.rate(), count(batches),
			formatMS(percentileMS(r.batches, 99)), ratio(r.ratio), goal, met)
		if withRSS {
			line += " " + mib(r.rssKB) + " |"
		}
		fmt.Fprintln(w, line)
	}
	runs := ""
	if len(s.rows) > 0 {
		runs = medianNote(s.rows[0].runs)
	}
	fmt.Fprintf(w, "\n%s; load average %.1f–%.1f%s.\n", s.note, lo, hi, runs)
}

// medianNote is the note ending a table whose rows are medians of runs
// runs: empty for single runs.
func medianNote(runs int) string {
	if runs < 2 {
		return ""
	}
	return fmt.Sprintf("; each row the median of %d runs", runs)
}

// count writes a count, "-" for none (a variant without batches).
func count(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// mib writes a peak RSS in MiB, "-" when not measured.
func mib(kb int64) string {
	if kb == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(kb)/1024)
}

func formatCPU(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", d.Seconds())
}

// timeRatio compares r with base: wall time, and server CPU time (0 when
// either is unknown).
func timeRatio(r, base result) (wall, cpu float64) {
	wall = r.seconds() / base.seconds()
	if r.cpu > 0 && base.cpu > 0 {
		cpu = r.cpu.Seconds() / base.cpu.Seconds()
	}
	return wall, cpu
}

// rateRatio compares the cost per row at two sizes: rows/s at small over
// rows/s at large, by wall time and by server CPU time.
func rateRatio(small, large result) (wall, cpu float64) {
	wall = small.rate() / large.rate()
	if small.cpu > 0 && large.cpu > 0 {
		cpu = (large.cpu.Seconds() / float64(large.rows)) / (small.cpu.Seconds() / float64(small.rows))
	}
	return wall, cpu
}

// measured formats a wall ratio with its CPU ratio.
func measured(wall, cpu float64) string {
	if cpu == 0 {
		return fmt.Sprintf("%.2f×", wall)
	}
	return fmt.Sprintf("%.2f× (server CPU %.2f×)", wall, cpu)
}

func ratio(x float64) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", x)
}

// printGoals prints the bounds against the measurements: on wall
// time, as the issue defines them, and on the server's CPU time, which other
// work on the machine disturbs much less.
func printGoals(w io.Writer, goals []goal) {
	if len(goals) == 0 {
		return
	}
	fmt.Fprintln(w, "\n### Goals")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| goal | measured | bound | met (wall time) | met (server CPU) |")
	fmt.Fprintln(w, "| --- | ---: | --- | --- | --- |")
	for _, g := range goals {
		metCPU := g.metCPU
		if metCPU == "" {
			metCPU = "-"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", g.what, g.measured, g.bound, metWord(g.met), metCPU)
	}
}
