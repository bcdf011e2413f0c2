package syn2mas

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Kind is a kind of Synapse row the migration carries over.
type Kind string

// The kinds, in the order the migration reads them.
const (
	// KindUsers are users (with their passwords).
	KindUsers Kind = "users"
	// KindThreepids are user_threepids: e-mail addresses and other media.
	KindThreepids Kind = "threepids"
	// KindExternalIDs are user_external_ids: upstream provider links.
	KindExternalIDs Kind = "external_ids"
	// KindAccessTokens are access tokens without a refresh token.
	KindAccessTokens Kind = "access_tokens"
	// KindRefreshTokens are access and refresh token pairs.
	KindRefreshTokens Kind = "refresh_tokens"
	// KindDevices are devices, which become compat sessions.
	KindDevices Kind = "devices"
)

// kinds lists every Kind in reading order.
var kinds = []Kind{KindUsers, KindThreepids, KindExternalIDs, KindAccessTokens, KindRefreshTokens, KindDevices}

// KindProgress counts one kind of row.
type KindProgress struct {
	// Kind is the kind of row.
	Kind Kind `json:"kind"`
	// Migrated rows were written to MAS.
	Migrated int64 `json:"migrated"`
	// Skipped rows were deliberately left out (appservice users, their rows,
	// the sessions of deactivated users and guests, tokens of devices that
	// are not migrated, links to ignored providers).
	Skipped int64 `json:"skipped"`
	// Estimate is PostgreSQL's estimate of the rows to read (from
	// pg_class.reltuples, so it can be off; 0 when never analysed).
	Estimate int64 `json:"estimate"`
}

// Phase is what the migration is doing.
type Phase string

// The phases a migration reports progress in.
const (
	// PhaseLoad reads Synapse and writes the rows.
	PhaseLoad Phase = "load"
	// PhaseRestore rebuilds MAS's indexes and constraints.
	PhaseRestore Phase = "restore"
)

// Progress is a migration's state, reported while it runs.
type Progress struct {
	// Phase is what it is doing.
	Phase Phase `json:"phase"`
	// Kind is the kind of row being read, in PhaseLoad.
	Kind Kind `json:"kind,omitempty"`
	// Rebuilding is the index or constraint being rebuilt, in PhaseRestore.
	Rebuilding string `json:"rebuilding,omitempty"`
	// Kinds are the counts so far, one per kind, in reading order.
	Kinds []KindProgress `json:"kinds"`
}

// progressEvery is how many rows go by between two progress reports.
const progressEvery = 10_000

// progressTracker counts rows per kind and reports to the caller's callback.
type progressTracker struct {
	report  func(Progress)
	current Kind
	counts  map[Kind]*KindProgress
	rows    int
}

func newProgressTracker(report func(Progress)) *progressTracker {
	p := &progressTracker{report: report, counts: map[Kind]*KindProgress{}}
	for _, k := range kinds {
		p.counts[k] = &KindProgress{Kind: k}
	}
	return p
}

// estimate fills each kind's estimate from Synapse's statistics.
func (p *progressTracker) estimate(ctx context.Context, tx *sql.Tx) error {
	est := map[string]int64{}
	rows, err := tx.QueryContext(ctx, `SELECT relname::text, greatest(reltuples, 0)::bigint FROM pg_class
		WHERE oid IN ('users'::regclass, 'user_threepids'::regclass, 'user_external_ids'::regclass,
		              'devices'::regclass, 'access_tokens'::regclass, 'refresh_tokens'::regclass)`)
	if err != nil {
		return fmt.Errorf("estimate the synapse rows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return fmt.Errorf("estimate the synapse rows: %w", err)
		}
		est[name] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("estimate the synapse rows: %w", err)
	}
	p.counts[KindUsers].Estimate = est["users"]
	p.counts[KindThreepids].Estimate = est["user_threepids"]
	p.counts[KindExternalIDs].Estimate = est["user_external_ids"]
	p.counts[KindAccessTokens].Estimate = max(est["access_tokens"]-est["refresh_tokens"], 0)
	p.counts[KindRefreshTokens].Estimate = est["refresh_tokens"]
	p.counts[KindDevices].Estimate = est["devices"]
	return nil
}

func (p *progressTracker) snapshot(phase Phase, rebuilding string) Progress {
	pr := Progress{Phase: phase, Rebuilding: rebuilding}
	if phase == PhaseLoad {
		pr.Kind = p.current
	}
	for _, k := range kinds {
		pr.Kinds = append(pr.Kinds, *p.counts[k])
	}
	return pr
}

func (p *progressTracker) send(phase Phase, rebuilding string) {
	if p.report != nil {
		p.report(p.snapshot(phase, rebuilding))
	}
}

// start begins reading kind k.
func (p *progressTracker) start(k Kind) {
	p.current = k
	p.send(PhaseLoad, "")
}

// tick counts one row read, reporting every progressEvery rows.
func (p *progressTracker) tick() {
	p.rows++
	if p.rows%progressEvery == 0 {
		p.send(PhaseLoad, "")
	}
}

func (p *progressTracker) migrate()               { p.counts[p.current].Migrated++ }
func (p *progressTracker) skip()                  { p.counts[p.current].Skipped++ }
func (p *progressTracker) migrateKind(k Kind)     { p.counts[k].Migrated++ }
func (p *progressTracker) skipKind(k Kind)        { p.counts[k].Skipped++ }
func (p *progressTracker) rebuilding(name string) { p.send(PhaseRestore, name) }

// warningLog gathers the rows the migration carried over with a loss (an IP
// that is not an address) or ignored, as findings with a few examples.
type warningLog struct {
	counts   map[Code]int64
	examples map[Code][]string
}

func newWarningLog() *warningLog {
	return &warningLog{counts: map[Code]int64{}, examples: map[Code][]string{}}
}

func (w *warningLog) add(code Code, example string) {
	w.counts[code]++
	if len(w.examples[code]) < maxExamples {
		w.examples[code] = append(w.examples[code], example)
	}
}

// findings returns one warning per code seen.
func (w *warningLog) findings() Findings {
	var fs Findings
	for _, code := range []Code{CodeAppserviceLocalpart, CodeInvalidDeviceIP} {
		n := w.counts[code]
		if n == 0 {
			continue
		}
		var f Finding
		ex := strings.Join(w.examples[code], ", ")
		switch code {
		case CodeAppserviceLocalpart:
			f = warningf(code, "%s a ':' in the localpart and not migrated (for example %s)",
				plural(n, "appservice user has", "appservice users have"), ex)
		case CodeInvalidDeviceIP:
			f = warningf(code, "%s a last IP that is not an address; their compat sessions have no last_active_ip (for example %s)",
				plural(n, "device has", "devices have"), ex)
		}
		f.Count, f.Examples = n, w.examples[code]
		fs = append(fs, f)
	}
	return fs
}
