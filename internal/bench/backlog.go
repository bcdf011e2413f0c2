package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// boundBacklog is the "answers in seconds": `janitor backlog`, every
// job, on the benchmark's largest dataset.
const boundBacklog = 5 * time.Second

// janitorBacklog is the part of `janitor backlog --json` read here.
type janitorBacklog struct {
	Jobs []struct {
		Job       string `json:"job"`
		Due       int64  `json:"due"`
		Estimated bool   `json:"estimated"`
	} `json:"jobs"`
}

// backlog times `janitor backlog` on the benchmark's largest dataset, the
// flat scenario's large compat dataset: for every job and for the compat job
// alone, with the default --exact-within, then for the compat job with a
// bound too short for its exact count, which shows the planner's estimate.
// The command only reads, so it runs on the template database itself.
func (b *bench) backlog(ctx context.Context) error {
	bin, remove, err := b.buildJanitor(ctx)
	if err != nil {
		return err
	}
	defer remove()
	n := b.cfg.sizes.flatLarge
	ds := compatDataset(n)
	t, err := b.template(ctx, ds)
	if err != nil {
		return err
	}
	defer b.dropTemplate(ctx, ds)
	for _, args := range [][]string{nil, {"--job", jobCompat}, {"--job", jobCompat, "--exact-within", "10ms"}} {
		what, command := "every job", "janitor backlog"
		if args != nil {
			what, command = strings.Join(args[1:], " "), command+" "+strings.Join(args, " ")
		}
		var slowest time.Duration
		var out janitorBacklog
		for range max(1, b.cfg.repeat) {
			cmd := exec.CommandContext(ctx, bin, append([]string{"backlog", "--json",
				"--now", benchNow.Format(time.RFC3339), "--database-url", b.c.urlFor(t.db)}, args...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("janitor backlog: %w\n%s", err, stderr.Bytes())
			}
			slowest = max(slowest, time.Since(start))
			out = janitorBacklog{}
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				return fmt.Errorf("janitor backlog output %q: %w", stdout.String(), err)
			}
		}
		compat := "no line for " + jobCompat
		for _, j := range out.Jobs {
			if j.Job == jobCompat {
				kind := "exact"
				if j.Estimated {
					kind = "the planner's estimate"
				}
				compat = fmt.Sprintf("%s due %d (%s; %d actually due)", jobCompat, j.Due, kind, t.expected)
			}
		}
		b.logf("backlog, %s: %s; %s", what, slowest.Round(time.Millisecond), compat)
		b.goals = append(b.goals, goal{
			what:     fmt.Sprintf("backlog: `%s`, %d compat sessions (%d due)", command, 2*n, t.expected),
			measured: fmt.Sprintf("%.2f s (slowest of %d); %s", slowest.Seconds(), max(1, b.cfg.repeat), compat),
			bound:    fmt.Sprintf("< %s", boundBacklog), met: slowest < boundBacklog,
		})
	}
	return nil
}
