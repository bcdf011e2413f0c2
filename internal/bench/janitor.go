package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
)

// janitorPackage is built for the memory and backlog scenarios.
const janitorPackage = "github.com/masstore/masstore/examples/janitor"

// memory runs the janitor binary, as an operator would, over the largest
// compat dataset, and reads its peak resident set from the kernel.
func (b *bench) memory(ctx context.Context) error {
	bin, remove, err := b.buildJanitor(ctx)
	if err != nil {
		return err
	}
	defer remove()
	n := b.largestCompat()
	ds := compatDataset(n)
	var rows []result
	for _, size := range b.cfg.janitorBatchSizes {
		r, err := b.measure(ctx, ds, janitorRun(bin, size))
		if err != nil {
			return err
		}
		rows = append(rows, r)
		mib := float64(r.rssKB) / 1024
		b.goals = append(b.goals, goal{
			what:     fmt.Sprintf("memory: janitor peak RSS, %d compat sessions, --batch-size %d", n, size),
			measured: fmt.Sprintf("%.1f MiB", mib), bound: fmt.Sprintf("< %d MiB", boundMemoryMiB), met: mib < boundMemoryMiB,
		})
	}
	if !b.needsLater("memory", n) {
		b.dropTemplate(ctx, ds)
	}
	b.addSection(section{
		title: fmt.Sprintf("memory: `janitor run --once --job %s` over %d finished compat sessions of %d", jobCompat, n, 2*n),
		note:  "peak RSS (VmHWM, from the kernel's rusage of the child) in the last column",
		rows:  rows,
	})
	return nil
}

// buildJanitor builds the janitor into a temporary directory; remove
// deletes it.
func (b *bench) buildJanitor(ctx context.Context) (bin string, remove func(), err error) {
	dir, err := os.MkdirTemp("", "masstore-bench-janitor-")
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, "janitor")
	b.logf("building %s", janitorPackage)
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, janitorPackage).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("go build %s (run the benchmark from the repository): %w\n%s", janitorPackage, err, out)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

// janitorReport is the part of `janitor run --json` read here.
type janitorReport struct {
	Affected int `json:"affected"`
	Batches  int `json:"batches"`
}

func janitorRun(bin string, size int) variant {
	return variant{name: fmt.Sprintf("janitor --batch-size %d", size), run: func(ctx context.Context, _ *sqlx.DB, url string) (outcome, error) {
		cmd := exec.CommandContext(ctx, bin, "run", "--once", "--json", "--job", jobCompat,
			"--now", benchNow.Format(time.RFC3339), "--batch-size", strconv.Itoa(size), "--database-url", url)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return outcome{}, fmt.Errorf("janitor: %w\n%s", err, stderr.Bytes())
		}
		var rep janitorReport
		if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &rep); err != nil {
			return outcome{}, fmt.Errorf("janitor output %q: %w", stdout.String(), err)
		}
		out := outcome{rows: rep.Affected, maxLimit: size, batchCount: rep.Batches}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			out.rssKB = ru.Maxrss // kilobytes on Linux
		}
		return out, nil
	}}
}
