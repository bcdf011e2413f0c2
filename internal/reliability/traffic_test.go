package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/internal/ulidx"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/postgres"
)

// TestLiveTrafficLosesNothing runs every job, again and again, while other
// connections create and finish sessions, record activity on old sessions
// whose IP the IP jobs are clearing, rotate refresh tokens and enqueue jobs.
// Neither side sees an error, and nothing the traffic wrote is lost: what it
// created stays unless it finished long ago, and an old session that was
// active during the IP job keeps its fresh IP.
func TestLiveTrafficLosesNothing(t *testing.T) {
	t.Parallel()
	srv := bulkConnect(t)
	db := srv.migrated(t)
	bulkFillCleanup(t, db.DB, 2000*bulkScale(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(bulkScale(t))*3*time.Minute)
	defer cancel()

	// The janitor and the traffic each have their own pool.
	janitor := postgres.New(trafficOpen(t, db.URL))
	tr := &traffic{store: postgres.New(trafficOpen(t, db.URL)), ipPhase: make(chan struct{}), passed: make(chan struct{})}
	tr.prepare(ctx, t, db.DB)

	var passes atomic.Int64
	var cleanupErr error
	trafficDone := make(chan struct{})
	var loop sync.WaitGroup
	loop.Add(1)
	go func() {
		defer loop.Done()
		var ipOnce, passOnce sync.Once
		defer passOnce.Do(func() { close(tr.passed) })
		opts := cleanup.Options{BatchSize: 20, OnBatch: func(b cleanup.BatchInfo) {
			tr.job.Store(b.Job)
			if strings.HasSuffix(b.Job, "-session-ips") {
				ipOnce.Do(func() { close(tr.ipPhase) })
			}
		}}
		for {
			if _, err := cleanup.RunAll(ctx, janitor, storage.NewTestClock(bulkNow), opts); err != nil {
				cleanupErr = err
				ipOnce.Do(func() { close(tr.ipPhase) })
				return
			}
			passes.Add(1)
			passOnce.Do(func() { close(tr.passed) })
			select {
			case <-trafficDone:
				return
			default:
			}
		}
	}()

	start := time.Now()
	tr.run(ctx)
	close(trafficDone)
	loop.Wait()
	require.NoError(t, cleanupErr, "the cleanup failed under traffic")
	require.NoError(t, trafficErrors(tr.errs()), "the traffic failed while the jobs ran")
	t.Logf("%d cleanup passes under %s of traffic; %d of %d activity records on old sessions landed while an IP job ran",
		passes.Load(), time.Since(start).Round(time.Millisecond), tr.duringIPJob.Load(), len(tr.activity))
	require.Positive(t, tr.duringIPJob.Load(), "some activity overlapped the IP jobs")

	// One more pass once the traffic is over: what it finished long ago goes.
	_, err := cleanup.RunAll(ctx, janitor, storage.NewTestClock(bulkNow), cleanup.Options{})
	require.NoError(t, err)

	t.Run("CreatedRowsStay", func(t *testing.T) { tr.checkCreated(t, db.DB) })
	t.Run("FreshIPsStay", func(t *testing.T) { tr.checkActivity(t, db.DB) })
	t.Run("RotatedChainsStay", func(t *testing.T) { tr.checkRotations(t, db.DB) })
	t.Run("EnqueuedJobsStay", func(t *testing.T) { tr.checkJobs(t, db.DB) })
	t.Run("FinishedLongAgoGoes", func(t *testing.T) { tr.checkOld(t, db.DB) })
	t.Run("NoStaleIPLeft", func(t *testing.T) {
		horizon := bulkNow.AddDate(0, 0, -30)
		for name, count := range map[string]storage.CountFunc{
			"user": janitor.UserSessions().CountStaleIPs, "compat": janitor.CompatSessions().CountStaleIPs,
			"oauth2": janitor.OAuth2Sessions().CountStaleIPs, "personal": janitor.PersonalSessions().CountStaleIPs,
		} {
			n, err := count(ctx, horizon)
			require.NoError(t, err)
			require.Zero(t, n, name)
		}
	})
}

func trafficOpen(t testing.TB, url string) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", url)
	require.NoError(t, err)
	db.SetMaxOpenConns(8)
	t.Cleanup(func() { db.Close() })
	return db
}

// trafficErrors joins the first few errors of the traffic.
func trafficErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, 0, min(len(errs), 5))
	for _, e := range errs[:min(len(errs), 5)] {
		msgs = append(msgs, e.Error())
	}
	return fmt.Errorf("%d error(s), first ones:\n%s", len(errs), strings.Join(msgs, "\n"))
}

// How much traffic each goroutine makes: at least the first number, then
// more until the first cleanup pass is over, at most the second.
var (
	trafficSessions  = [2]int{50, 1000}
	trafficRotations = 250 // chains of refresh tokens, rotated round-robin
	trafficJobs      = [2]int{100, 3000}
	trafficOld       = [2]int{30, 500}
	trafficActive    = 3000 // old sessions with a stale IP that record activity
)

// traffic is what the live server does while the jobs run, and what it
// expects to find afterwards.
type traffic struct {
	store   storage.Store
	client  *storage.OAuth2Client
	worker  *storage.Worker
	ipPhase chan struct{} // closed by the first batch of an IP job
	passed  chan struct{} // closed when the first cleanup pass is over
	job     atomic.Value  // the job of the last batch

	// Chosen before the run.
	stale     []trafficRow // live sessions whose IP is stale
	rotatable []trafficRow // live refresh tokens of live OAuth 2.0 sessions (ID, session)

	mu          sync.Mutex
	errList     []error
	created     []trafficRow // table and ID of every row created at a recent time
	finished    []trafficRow // sessions finished at a recent time
	activity    []trafficActivity
	rotations   [][2]ulid.ULID // token, its successor
	jobs        map[ulid.ULID]storage.JobStatus
	old         []trafficRow // rows made and finished long ago
	logins      int          // sessions made at a recent time
	duringIPJob atomic.Int64
}

type trafficRow struct {
	table string
	id    ulid.ULID
	other ulid.ULID
}

type trafficActivity struct {
	row trafficRow
	at  time.Time
	ip  netip.Addr
}

func (tr *traffic) fail(err error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.errList = append(tr.errList, err)
}

func (tr *traffic) errs() []error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.errList
}

// more tells whether to go on after i steps, given the bounds.
func (tr *traffic) more(ctx context.Context, i int, bounds [2]int) bool {
	if ctx.Err() != nil || i >= bounds[1] {
		return false
	}
	if i < bounds[0] {
		return true
	}
	select {
	case <-tr.passed:
		return false
	default:
		return true
	}
}

func (tr *traffic) add(list *[]trafficRow, rows ...trafficRow) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	*list = append(*list, rows...)
}

// prepare picks the old rows the traffic touches, and makes a client and a worker.
func (tr *traffic) prepare(ctx context.Context, t *testing.T, db *sqlx.DB) {
	t.Helper()
	clock := storage.NewTestClock(bulkNow)
	var err error
	tr.client, err = tr.store.OAuth2Clients().Add(ctx, clock, "traffic", []string{"https://traffic.example/"})
	require.NoError(t, err)
	tr.worker, err = tr.store.Queue().RegisterWorker(ctx, clock)
	require.NoError(t, err)
	tr.jobs = map[ulid.ULID]storage.JobStatus{}
	horizon := bulkNow.AddDate(0, 0, -30)
	for _, table := range []string{"user_sessions", "compat_sessions", "oauth2_sessions"} {
		var ids []string
		require.NoError(t, db.Select(&ids, `SELECT `+strings.TrimSuffix(table, "s")+`_id::text FROM `+table+`
			WHERE finished_at IS NULL AND last_active_ip IS NOT NULL AND last_active_at < $1`, horizon))
		require.NotEmpty(t, ids, table)
		for _, id := range ids {
			tr.stale = append(tr.stale, trafficRow{table: table, id: trafficID(t, id)})
		}
	}
	rand.Shuffle(len(tr.stale), func(i, j int) { tr.stale[i], tr.stale[j] = tr.stale[j], tr.stale[i] })
	tr.stale = tr.stale[:min(len(tr.stale), trafficActive)]
	var tokens []struct {
		ID      string `db:"id"`
		Session string `db:"session"`
	}
	require.NoError(t, db.Select(&tokens, `
		SELECT r.oauth2_refresh_token_id::text AS id, r.oauth2_session_id::text AS session FROM oauth2_refresh_tokens r
		JOIN oauth2_sessions s USING (oauth2_session_id)
		WHERE s.finished_at IS NULL AND r.consumed_at IS NULL AND r.revoked_at IS NULL
		ORDER BY EXISTS (SELECT 1 FROM oauth2_refresh_tokens p WHERE p.next_oauth2_refresh_token_id = r.oauth2_refresh_token_id) DESC, random()
		LIMIT $1`, trafficRotations))
	for _, tok := range tokens {
		tr.rotatable = append(tr.rotatable, trafficRow{table: "oauth2_refresh_tokens", id: trafficID(t, tok.ID), other: trafficID(t, tok.Session)})
	}
}

func trafficID(t testing.TB, s string) ulid.ULID {
	t.Helper()
	id, err := ulidx.ParseUUID(s)
	require.NoError(t, err)
	return id
}

// run makes the traffic, each kind in its own goroutine with its own clock.
func (tr *traffic) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i, f := range []func(context.Context, *storage.TestClock){tr.sessions, tr.recordActivity, tr.rotate, tr.enqueue, tr.sessionsLongAgo} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx, storage.NewTestClock(bulkNow.Add(time.Duration(i+1)*time.Minute)))
		}()
	}
	wg.Wait()
}

// sessions logs users in (browser, compat and OAuth 2.0 sessions with
// tokens), and logs half of them out.
func (tr *traffic) sessions(ctx context.Context, clock *storage.TestClock) {
	for i := 0; tr.more(ctx, i, trafficSessions); i++ {
		if err := tr.session(ctx, clock, fmt.Sprintf("live%d", i), i%2 == 0, &tr.created, &tr.finished); err != nil {
			tr.fail(err)
			continue
		}
		tr.logins++
	}
}

// session makes one login of a new user; finish logs it out.
func (tr *traffic) session(ctx context.Context, clock *storage.TestClock, name string, finish bool, created, finished *[]trafficRow) error {
	r := tr.store
	tick := func() { clock.Advance(time.Millisecond) }
	u, err := r.Users().Add(ctx, clock, "traffic-"+name)
	if err != nil {
		return err
	}
	tick()
	us, err := r.UserSessions().Add(ctx, clock, u, "traffic")
	if err != nil {
		return err
	}
	cs, err := r.CompatSessions().Add(ctx, clock, u, "DEV-"+name, us, false)
	if err != nil {
		return err
	}
	cat, err := r.CompatSessions().AddAccessToken(ctx, clock, cs, "tcat-"+name, 0)
	if err != nil {
		return err
	}
	crt, err := r.CompatSessions().AddRefreshToken(ctx, clock, cs, cat, "tcrt-"+name)
	if err != nil {
		return err
	}
	os, err := r.OAuth2Sessions().Add(ctx, clock, tr.client, u, us, []string{"openid"})
	if err != nil {
		return err
	}
	// The access token outlives the test's "now" even for a session made 45
	// days back: one already expired could be cleaned up before its refresh
	// token is added, which no real client does.
	oat, err := r.OAuth2Tokens().AddAccessToken(ctx, clock, os, "toat-"+name, 90*24*time.Hour)
	if err != nil {
		return err
	}
	ort, err := r.OAuth2Tokens().AddRefreshToken(ctx, clock, os, oat, "tort-"+name)
	if err != nil {
		return err
	}
	tr.add(created,
		trafficRow{"user_sessions", us.ID, ulid.ULID{}}, trafficRow{"compat_sessions", cs.ID, ulid.ULID{}},
		trafficRow{"compat_access_tokens", cat.ID, ulid.ULID{}}, trafficRow{"compat_refresh_tokens", crt.ID, ulid.ULID{}},
		trafficRow{"oauth2_sessions", os.ID, ulid.ULID{}}, trafficRow{"oauth2_access_tokens", oat.ID, ulid.ULID{}},
		trafficRow{"oauth2_refresh_tokens", ort.ID, ulid.ULID{}})
	if !finish {
		return nil
	}
	tick()
	if _, err := r.CompatSessions().Finish(ctx, clock, cs); err != nil {
		return err
	}
	if _, err := r.OAuth2Sessions().Finish(ctx, clock, os); err != nil {
		return err
	}
	if _, err := r.UserSessions().Finish(ctx, clock, us); err != nil {
		return err
	}
	tr.add(finished, trafficRow{"user_sessions", us.ID, ulid.ULID{}}, trafficRow{"compat_sessions", cs.ID, ulid.ULID{}}, trafficRow{"oauth2_sessions", os.ID, ulid.ULID{}})
	return nil
}

// sessionsLongAgo logs users in and out with a clock 45 days back: the jobs
// running meanwhile may take these at any pass.
func (tr *traffic) sessionsLongAgo(ctx context.Context, clock *storage.TestClock) {
	clock.Set(bulkNow.AddDate(0, 0, -45))
	for i := 0; tr.more(ctx, i, trafficOld); i++ {
		if err := tr.session(ctx, clock, fmt.Sprintf("old%d", i), true, &tr.old, new([]trafficRow)); err != nil {
			tr.fail(err)
		}
	}
}

// recordActivity waits for the IP jobs, then records activity with a fresh IP
// on old sessions whose IP is stale, in random order: some before the job's
// cursor, some after it, some in its batch.
func (tr *traffic) recordActivity(ctx context.Context, clock *storage.TestClock) {
	select {
	case <-tr.ipPhase:
	case <-ctx.Done():
		return
	}
	for i, row := range tr.stale {
		at := storage.Now(clock)
		ip := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		if i%3 == 0 {
			ip = netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i+1))
		}
		job, _ := tr.job.Load().(string)
		var err error
		switch row.table {
		case "user_sessions":
			err = tr.store.UserSessions().RecordActivity(ctx, clock, row.id, ip)
		case "compat_sessions":
			err = tr.store.CompatSessions().RecordActivity(ctx, clock, row.id, ip)
		case "oauth2_sessions":
			err = tr.store.OAuth2Sessions().RecordActivity(ctx, clock, row.id, ip)
		}
		if err != nil {
			tr.fail(err)
			continue
		}
		if strings.HasSuffix(job, "-session-ips") {
			tr.duringIPJob.Add(1)
		}
		tr.mu.Lock()
		tr.activity = append(tr.activity, trafficActivity{row: row, at: at, ip: ip})
		tr.mu.Unlock()
		clock.Advance(time.Millisecond)
	}
}

// rotate uses live refresh tokens of old sessions, round-robin: a new access
// and refresh token, and the old refresh token consumed naming the new one,
// which is used next time. Some chains start at a token that succeeds a
// consumed one, which the consumed-token job keeps only while it is live.
func (tr *traffic) rotate(ctx context.Context, clock *storage.TestClock) {
	r := tr.store.OAuth2Tokens()
	heads := make([]ulid.ULID, len(tr.rotatable))
	for i, row := range tr.rotatable {
		heads[i] = row.id
	}
	for i := 0; tr.more(ctx, i, [2]int{len(heads), 20 * len(heads)}); i++ {
		row := tr.rotatable[i%len(heads)]
		err := func() error {
			tok, err := r.LookupRefreshToken(ctx, heads[i%len(heads)])
			if err != nil {
				return err
			}
			session, err := tr.store.OAuth2Sessions().Lookup(ctx, row.other)
			if err != nil {
				return err
			}
			access, err := r.AddAccessToken(ctx, clock, session, fmt.Sprintf("rot-a-%d", i), time.Hour)
			if err != nil {
				return err
			}
			next, err := r.AddRefreshToken(ctx, clock, session, access, fmt.Sprintf("rot-r-%d", i))
			if err != nil {
				return err
			}
			if _, err := r.ConsumeRefreshToken(ctx, clock, tok, next); err != nil {
				return err
			}
			heads[i%len(heads)] = next.ID
			tr.mu.Lock()
			tr.rotations = append(tr.rotations, [2]ulid.ULID{tok.ID, next.ID})
			tr.created = append(tr.created, trafficRow{"oauth2_access_tokens", access.ID, ulid.ULID{}}, trafficRow{"oauth2_refresh_tokens", next.ID, ulid.ULID{}})
			tr.mu.Unlock()
			return nil
		}()
		if err != nil {
			tr.fail(fmt.Errorf("rotate %s: %w", heads[i%len(heads)], err))
		}
		clock.Advance(time.Millisecond)
	}
}

// enqueue adds jobs; a worker completes some and fails and retries others.
func (tr *traffic) enqueue(ctx context.Context, clock *storage.TestClock) {
	q := tr.store.Queue()
	record := func(j *storage.Job) {
		tr.mu.Lock()
		tr.jobs[j.ID] = j.Status
		tr.mu.Unlock()
	}
	for i := 0; tr.more(ctx, i, trafficJobs); i++ {
		clock.Advance(time.Millisecond)
		j, err := q.Enqueue(ctx, clock, "traffic", json.RawMessage(fmt.Sprintf(`{"i": %d}`, i)))
		if err != nil {
			tr.fail(err)
			continue
		}
		record(j)
		if i%3 != 0 {
			continue
		}
		got, err := q.Reserve(ctx, clock, tr.worker, []string{"traffic"}, 1)
		if err != nil || len(got) != 1 {
			tr.fail(fmt.Errorf("reserve: %d job(s), %v", len(got), err))
			continue
		}
		if i%2 == 0 {
			done, err := q.CompleteJob(ctx, clock, got[0])
			if err != nil {
				tr.fail(err)
				continue
			}
			record(done)
			continue
		}
		failed, err := q.FailJob(ctx, clock, got[0], "traffic")
		if err != nil {
			tr.fail(err)
			continue
		}
		record(failed)
		retry, err := q.RetryJob(ctx, clock, failed, 0)
		if err != nil {
			tr.fail(err)
			continue
		}
		record(retry)
	}
}

// trafficExists reports which of the rows exist.
func trafficExists(t *testing.T, db *sqlx.DB, rows []trafficRow) map[trafficRow]bool {
	t.Helper()
	byTable := map[string][]string{}
	for _, row := range rows {
		byTable[row.table] = append(byTable[row.table], ulidx.UUID(row.id))
	}
	found := map[string]bool{}
	for table, ids := range byTable {
		var got []string
		require.NoError(t, db.Select(&got, `SELECT `+trafficKey(table)+`::text FROM `+table+` WHERE `+trafficKey(table)+` = ANY ($1::uuid[])`, pq.Array(ids)))
		for _, id := range got {
			found[table+" "+id] = true
		}
	}
	out := map[trafficRow]bool{}
	for _, row := range rows {
		out[row] = found[row.table+" "+ulidx.UUID(row.id)]
	}
	return out
}

func trafficKey(table string) string {
	return strings.TrimSuffix(table, "s") + "_id"
}

func (tr *traffic) checkCreated(t *testing.T, db *sqlx.DB) {
	require.Len(t, tr.created, 7*tr.logins+2*len(tr.rotations))
	for row, ok := range trafficExists(t, db, tr.created) {
		require.True(t, ok, "%s %s was lost", row.table, row.id)
	}
	byTable := map[string][]string{}
	for _, row := range tr.finished {
		byTable[row.table] = append(byTable[row.table], ulidx.UUID(row.id))
	}
	for table, ids := range byTable {
		var n int
		require.NoError(t, db.Get(&n, `SELECT count(*) FROM `+table+` WHERE `+trafficKey(table)+` = ANY ($1::uuid[]) AND finished_at IS NOT NULL`, pq.Array(ids)))
		require.Equal(t, len(ids), n, "%s finished by the traffic stay finished", table)
	}
}

func (tr *traffic) checkActivity(t *testing.T, db *sqlx.DB) {
	require.Len(t, tr.activity, len(tr.stale))
	type state struct {
		At time.Time `db:"at"`
		IP *string   `db:"ip"`
	}
	got := map[trafficRow]state{}
	for _, table := range []string{"user_sessions", "compat_sessions", "oauth2_sessions"} {
		var rows []struct {
			ID string `db:"id"`
			state
		}
		require.NoError(t, db.Select(&rows, `SELECT `+trafficKey(table)+`::text AS id, last_active_at AS at, host(last_active_ip) AS ip
			FROM `+table+` WHERE last_active_at >= $1`, bulkNow))
		for _, r := range rows {
			got[trafficRow{table: table, id: trafficID(t, r.ID)}] = r.state
		}
	}
	for _, a := range tr.activity {
		s, ok := got[a.row]
		require.True(t, ok, "%s %s lost its activity", a.row.table, a.row.id)
		require.True(t, a.at.Equal(s.At), "%s %s: last active at %s, want %s", a.row.table, a.row.id, s.At, a.at)
		require.NotNil(t, s.IP, "%s %s lost the IP it recorded", a.row.table, a.row.id)
		require.Equal(t, a.ip.String(), *s.IP, "%s %s", a.row.table, a.row.id)
	}
}

func (tr *traffic) checkRotations(t *testing.T, db *sqlx.DB) {
	require.GreaterOrEqual(t, len(tr.rotations), len(tr.rotatable))
	var rows []struct {
		ID   string  `db:"id"`
		Next *string `db:"next"`
	}
	require.NoError(t, db.Select(&rows, `SELECT oauth2_refresh_token_id::text AS id, next_oauth2_refresh_token_id::text AS next
		FROM oauth2_refresh_tokens WHERE consumed_at >= $1`, bulkNow))
	next := map[string]*string{}
	for _, r := range rows {
		next[r.ID] = r.Next
	}
	for _, r := range tr.rotations {
		n, ok := next[ulidx.UUID(r[0])]
		require.True(t, ok, "the token %s, consumed at a recent time, stays", r[0])
		require.NotNil(t, n, "the chain from %s is intact", r[0])
		require.Equal(t, ulidx.UUID(r[1]), *n, "the chain from %s is intact", r[0])
	}
}

func (tr *traffic) checkJobs(t *testing.T, db *sqlx.DB) {
	require.GreaterOrEqual(t, len(tr.jobs), trafficJobs[0])
	var rows []struct {
		ID     string `db:"id"`
		Status string `db:"status"`
	}
	require.NoError(t, db.Select(&rows, `SELECT queue_job_id::text AS id, status::text AS status FROM queue_jobs WHERE queue_name = 'traffic'`))
	got := map[string]string{}
	for _, r := range rows {
		got[r.ID] = r.Status
	}
	for id, status := range tr.jobs {
		s, ok := got[ulidx.UUID(id)]
		require.True(t, ok, "job %s was lost", id)
		require.Equal(t, string(status), s, "job %s", id)
	}
}

func (tr *traffic) checkOld(t *testing.T, db *sqlx.DB) {
	require.GreaterOrEqual(t, len(tr.old), 7*trafficOld[0])
	for row, ok := range trafficExists(t, db, tr.old) {
		require.False(t, ok, "%s %s, finished long ago, is still there", row.table, row.id)
	}
}
