package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lib/pq"

	"github.com/masstore/masstore/schema"
	"github.com/masstore/masstore/syn2mas"
	"github.com/masstore/masstore/syn2mas/synapsetest"
)

// syn2masPackage is built for the syn2mas scenario.
const syn2masPackage = "github.com/masstore/masstore/examples/syn2mas"

// syn2masTables are the MAS tables a migration fills, in load order.
var syn2masTables = []string{"users", "user_passwords", "user_emails", "user_unsupported_third_party_ids",
	"upstream_oauth_links", "compat_sessions", "compat_access_tokens", "compat_refresh_tokens"}

// syn2masScenario migrates a generated Synapse population with the
// `syn2mas migrate` binary, as an operator would, and compares it with the
// least a load of the same rows can cost: COPY of the migration's own
// output, from files on the server, into the tables without indexes or
// keys, then building those.
func (b *bench) syn2masScenario(ctx context.Context) error {
	n := b.cfg.sizes.syn2mas
	pop := synapsetest.Population{ServerName: "example.com", Users: n}
	synDB := dbPrefix + "synapse"
	start := time.Now()
	if err := b.createDatabase(ctx, synDB, ""); err != nil {
		return err
	}
	sdb, err := b.open(ctx, synDB)
	if err != nil {
		return err
	}
	defer sdb.Close()
	if _, err := sdb.ExecContext(ctx, synapsetest.Schema); err != nil {
		return fmt.Errorf("create the synapse tables: %w", err)
	}
	if err := synapsetest.Generate(ctx, sdb.DB, pop); err != nil {
		return err
	}
	b.logf("built %s: %d users, in %s", synDB, n, time.Since(start).Round(time.Millisecond))

	empty := dbPrefix + "mas_empty"
	if err := b.createDatabase(ctx, empty, ""); err != nil {
		return err
	}
	edb, err := b.open(ctx, empty)
	if err != nil {
		return err
	}
	err = schema.Migrate(ctx, edb.DB)
	edb.Close()
	if err != nil {
		return fmt.Errorf("migrate %s: %w", empty, err)
	}

	dir, err := os.MkdirTemp("", "masstore-bench-syn2mas-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The server writes and reads the baseline's files.
	if err := os.Chmod(dir, 0o777); err != nil {
		return err
	}
	bin := filepath.Join(dir, "syn2mas")
	b.logf("building %s", syn2masPackage)
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, syn2masPackage).CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s (run the benchmark from the repository): %w\n%s", syn2masPackage, err, out)
	}
	synCfg := filepath.Join(dir, "homeserver.yaml")
	masCfg := filepath.Join(dir, "mas.yaml")
	if err := os.WriteFile(synCfg, []byte("server_name: example.com\noidc_providers: [{idp_id: google, issuer: 'https://accounts.google.com', client_id: c}]\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(masCfg, []byte(`matrix: {homeserver: example.com}
passwords: {schemes: [{version: 1, algorithm: bcrypt}]}
upstream_oauth2:
  providers:
    - {id: 01JSHPZHAXC50QBKH67MH33TNF, synapse_idp_id: oidc-google, issuer: "https://accounts.google.com",
       client_id: mas, scope: openid, token_endpoint_auth_method: client_secret_basic}
`), 0o644); err != nil {
		return err
	}

	var migrated, baseline result
	var report syn2mas.Report // the fastest run's
	var peakKB int64          // the largest peak RSS of all runs
	for i := 0; i < max(1, b.cfg.repeat); i++ {
		target := fmt.Sprintf("%smas_%d", dbPrefix, i)
		if err := b.createDatabase(ctx, target, empty); err != nil {
			return err
		}
		b.logf("syn2mas migrate: %d users into %s", n, target)
		cmd := exec.CommandContext(ctx, bin, "migrate", "--json", "--config", masCfg, "--synapse-config", synCfg,
			"--synapse-database-uri", b.c.urlFor(synDB), "--database-url", b.c.urlFor(target))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		began := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("syn2mas migrate: %w\n%s", err, stderr.Bytes())
		}
		r := result{dataset: fmt.Sprintf("synapse, %d users", n), variant: "syn2mas migrate", elapsed: time.Since(began), load: loadAverage()}
		var runReport syn2mas.Report
		if err := json.Unmarshal(stdout.Bytes(), &runReport); err != nil {
			return fmt.Errorf("syn2mas output %q: %w", stdout.String(), err)
		}
		for _, rows := range runReport.Rows {
			r.rows += int(rows)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.rssKB = ru.Maxrss
		}
		if i == 0 || r.elapsed < migrated.elapsed {
			migrated, report = r, runReport
		}
		peakKB = max(peakKB, r.rssKB)
		if i == 0 {
			if !b.c.local() {
				b.logf("syn2mas: the baseline needs files on the server's machine; skipped with --database-url on another host")
				break
			}
			if err := b.exportRows(ctx, target, dir); err != nil {
				return err
			}
		}
		if err := b.dropDatabase(ctx, target); err != nil {
			return err
		}
		copyTime, indexTime, rows, err := b.copyBaseline(ctx, empty, dir, i)
		if err != nil {
			return err
		}
		r = result{dataset: migrated.dataset, variant: fmt.Sprintf("COPY %s + indexes and keys %s", copyTime.Round(time.Millisecond), indexTime.Round(time.Millisecond)),
			outcome: outcome{rows: rows}, elapsed: copyTime + indexTime, load: loadAverage()}
		if i == 0 || r.elapsed < baseline.elapsed {
			baseline = r
		}
	}
	rows := []result{migrated}
	if baseline.elapsed > 0 {
		migrated.ratio = migrated.seconds() / baseline.seconds()
		migrated.bound = boundSyn2mas
		baseline.ratio = 1
		rows = []result{baseline, migrated}
		b.goals = append(b.goals, ratioGoal(fmt.Sprintf("syn2mas: migrate %d users vs COPY of the same rows + index build", n), migrated.ratio, 0, boundSyn2mas))
	}
	mib := float64(peakKB) / 1024
	b.goals = append(b.goals, goal{what: fmt.Sprintf("syn2mas: peak RSS migrating %d users", n), measured: fmt.Sprintf("%.1f MiB", mib),
		bound: fmt.Sprintf("< %d MiB", boundSyn2masMiB), met: mib < boundSyn2masMiB, metCPU: "-"})
	var perKind []string
	for _, table := range syn2masTables {
		perKind = append(perKind, fmt.Sprintf("%s %d", table, report.Rows[table]))
	}
	b.addSection(section{
		title: fmt.Sprintf("syn2mas: %d generated Synapse users (%s)", n, strings.Join(perKind, ", ")),
		note: fmt.Sprintf("best of %d (the goal's peak RSS is the largest of all runs); syn2mas migrate is the whole command (checks, load %s, index and key rebuild and ANALYZE %s); the baseline COPYs the migration's own rows from server-side files into the eight tables stripped of indexes and keys, then rebuilds them in one transaction (no ANALYZE); ratio: against the baseline",
			max(1, b.cfg.repeat), report.LoadTime.Round(time.Millisecond), report.RestoreTime.Round(time.Millisecond)),
		rows: rows,
	})
	return b.dropDatabase(ctx, synDB)
}

// exportRows writes each target table of db, and the upstream providers, to
// dir/<table>.copy on the server, in COPY's text format.
func (b *bench) exportRows(ctx context.Context, db, dir string) error {
	conn, err := b.open(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, t := range append([]string{"upstream_oauth_providers"}, syn2masTables...) {
		if _, err := conn.ExecContext(ctx, `COPY `+t+` TO `+pq.QuoteLiteral(filepath.Join(dir, t+".copy"))); err != nil {
			return fmt.Errorf("export %s (the role must be a superuser or have pg_write_server_files): %w", t, err)
		}
	}
	return nil
}

// copyBaseline loads dir's files into a copy of the migrated, empty MAS
// database emptyDB whose target tables were stripped of their indexes and
// keys (not timed), then rebuilds them: the time of the COPYs and of the
// rebuild.
func (b *bench) copyBaseline(ctx context.Context, emptyDB, dir string, i int) (copyTime, indexTime time.Duration, rows int, err error) {
	name := fmt.Sprintf("%sbaseline_%d", dbPrefix, i)
	if err := b.createDatabase(ctx, name, emptyDB); err != nil {
		return 0, 0, 0, err
	}
	defer func() { _ = b.dropDatabase(ctx, name) }()
	db, err := b.open(ctx, name)
	if err != nil {
		return 0, 0, 0, err
	}
	defer db.Close()
	type def struct{ Table, Name, SQL string }
	var constraints, indexes []def
	for _, t := range syn2masTables {
		var cs []def
		err := db.SelectContext(ctx, &cs, `SELECT conrelid::regclass::text AS "table", conname AS name, pg_get_constraintdef(oid) AS sql FROM pg_constraint
			WHERE contype IN ('f', 'p', 'u') AND (conrelid = $1::regclass OR (contype = 'f' AND confrelid = $1::regclass))
			ORDER BY contype <> 'f'`, t)
		if err != nil {
			return 0, 0, 0, err
		}
		for _, c := range cs {
			if _, err := db.ExecContext(ctx, `ALTER TABLE `+c.Table+` DROP CONSTRAINT IF EXISTS `+quote(c.Name)); err != nil {
				return 0, 0, 0, err
			}
		}
		constraints = append(constraints, cs...)
	}
	for _, t := range syn2masTables {
		var is []def
		if err := db.SelectContext(ctx, &is, `SELECT tablename AS "table", indexname AS name, indexdef AS sql FROM pg_indexes WHERE schemaname = current_schema AND tablename = $1`, t); err != nil {
			return 0, 0, 0, err
		}
		for _, ix := range is {
			if _, err := db.ExecContext(ctx, `DROP INDEX `+quote(ix.Name)); err != nil {
				return 0, 0, 0, err
			}
		}
		indexes = append(indexes, is...)
	}
	// The providers the links point at, which the migration created (not timed).
	if _, err := db.ExecContext(ctx, `COPY upstream_oauth_providers FROM `+pq.QuoteLiteral(filepath.Join(dir, "upstream_oauth_providers.copy"))); err != nil {
		return 0, 0, 0, fmt.Errorf("baseline COPY upstream_oauth_providers: %w", err)
	}
	began := time.Now()
	for _, t := range syn2masTables {
		res, err := db.ExecContext(ctx, `COPY `+t+` FROM `+pq.QuoteLiteral(filepath.Join(dir, t+".copy")))
		if err != nil {
			return 0, 0, 0, fmt.Errorf("baseline COPY %s: %w", t, err)
		}
		n, _ := res.RowsAffected()
		rows += int(n)
	}
	copyTime = time.Since(began)
	began = time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, 0, err
	}
	defer func() { _ = tx.Rollback() }()
	for _, ix := range indexes {
		if _, err := tx.ExecContext(ctx, ix.SQL); err != nil {
			return 0, 0, 0, fmt.Errorf("baseline %s: %w", ix.Name, err)
		}
	}
	// Keys the others reference first: primary and unique, then foreign.
	for _, kind := range []string{"PRIMARY KEY", "UNIQUE", "FOREIGN KEY"} {
		seen := map[string]bool{}
		for _, c := range constraints {
			if !strings.HasPrefix(c.SQL, kind) || seen[c.Name] {
				continue
			}
			seen[c.Name] = true
			if _, err := tx.ExecContext(ctx, `ALTER TABLE `+c.Table+` ADD CONSTRAINT `+quote(c.Name)+` `+c.SQL); err != nil {
				return 0, 0, 0, fmt.Errorf("baseline %s: %w", c.Name, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, 0, err
	}
	return copyTime, time.Since(began), rows, nil
}
