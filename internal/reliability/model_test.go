package reliability

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"pgregory.net/rapid"

	"github.com/masstore/masstore/cleanup"
	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/memory"
	"github.com/masstore/masstore/storage/postgres"
)

// TestModelBackendsAgree applies random sequences of operations (users;
// browser, compat and OAuth 2.0 sessions with tokens, under a browser session
// or not, of registered or static clients; personal sessions owned by a user
// or a client, acting as a user, with access tokens; policy data versions;
// upstream logins through providers of every back-channel logout mode;
// finishing, activity from an IP, refresh-token rotation, revocation,
// token look-ups by value, deactivation, back-channel logout; clock jumps of
// minutes to 40 days; any job with any batch size and retention, dry or not,
// or all of them, expire-inactive-sessions with a time-to-live of 10 minutes
// to 90 days) to the in-memory store and to PostgreSQL side by side, each
// with its own clock, kept equal. The model knows every entity by a logical
// index and its ID on each side. After every step:
//
//   - every operation succeeded on both sides or failed on both with the same
//     sentinel, and every job report (affected, scanned, batches...) is equal;
//   - the observable state of both, read back through the repositories for
//     every entity the sequence ever created (deleted ones must be
//     ErrNotFound on both), is identical (see modelSnapshot);
//   - the invariants hold on each side (see (*model).invariants): no live
//     session lost, a compat or OAuth 2.0 session still reaches its browser
//     session, an upstream login still points at its browser session while
//     that exists, no token without its session, at most one live token per
//     personal session, a token authenticates exactly when it, its expiry
//     and its session allow, the newest policy data stays in force, no IP
//     older than the horizon an IP job ran to;
//   - what changed is what the jobs of the step had to change, no more and no
//     less (see (*model).oracle): the rows deleted, the IPs cleared, the
//     sessions expire-inactive-sessions finished (at the run's time) and the
//     users it handed to sync-devices. This holds both backends to the spec
//     where a shared mistake (in the cleanup engine, say) would agree.
//
// It runs 200 sequences of 30 steps on average (rapid's -rapid.steps) unless
// told otherwise (see TestMain); more behind the flag:
//
//	go test ./internal/reliability -run Model -rapid.checks=5000
//
// A failure prints the shrunk sequence and -rapid.seed=N; rerun exactly that
// sequence with
//
//	go test ./internal/reliability -run Model -rapid.seed=N
//
// (rapid also writes a fail file under testdata/rapid/, replayed first by the
// next run; -rapid.nofailfile turns that off.) One PostgreSQL database serves
// the whole property, emptied between sequences; the memory store is new for
// each.
func TestModelBackendsAgree(t *testing.T) {
	t.Parallel()
	db := pgtest.Migrated(t)
	db.DB.SetMaxIdleConns(8) // the checks read with up to 8 connections at once
	pg := postgres.New(db.DB)
	rapid.Check(t, func(rt *rapid.T) {
		if _, err := db.DB.ExecContext(t.Context(), modelEmpty); err != nil {
			rt.Fatalf("empty the database: %v", err)
		}
		m := newModel(t.Context(), rt, [2]storage.Store{memory.New(), pg})
		rt.Repeat(m.actions())
	})
}

// modelEmpty empties, children first, the tables a sequence writes to. (A
// TRUNCATE of every table takes a quarter of a second here, longer than a
// whole sequence.)
var modelEmpty = "DELETE FROM " + strings.Join([]string{
	"personal_access_tokens", "personal_sessions", "policy_data", "queue_jobs",
	"user_session_authentications", "upstream_oauth_authorization_sessions", "upstream_oauth_links", "upstream_oauth_providers",
	"compat_refresh_tokens", "compat_access_tokens", "compat_sso_logins", "compat_sessions",
	"oauth2_refresh_tokens", "oauth2_access_tokens", "oauth2_authorization_grants", "oauth2_device_code_grant", "oauth2_sessions", "oauth2_clients",
	"user_sessions", "user_passwords", "user_emails", "users",
}, "; DELETE FROM ")

// The two sides of the model: index 0 is the memory store (the reference),
// index 1 PostgreSQL.
const (
	modelMemory = iota
	modelPostgres
)

var modelSides = [2]string{"memory", "postgres"}

// modelEpoch is where every sequence's clocks start (plus a drawn offset), in
// a zone that is not UTC.
var modelEpoch = time.Date(2026, 11, 26, 12, 0, 0, 0, time.FixedZone("UTC+05:30", 5*3600+30*60))

// model is one sequence: the two stores, their clocks (kept equal), and every
// entity the sequence created, by logical index, with its copy on each side.
type model struct {
	ctx    context.Context
	stores [2]storage.Store
	clocks [2]*storage.TestClock
	// refs maps each side's IDs to logical entities.
	refs [2]map[ulid.ULID]modelRef
	n    int // for unique names

	users     []*modelUser
	browsers  []*modelBrowser
	compats   []*modelCompat
	compatATs []*modelCompatAT
	compatRTs []*modelCompatRT
	clients   []*modelClient
	oauths    []*modelOAuth
	oauthATs  []*modelOAuthAT
	oauthRTs  []*modelOAuthRT
	providers []*modelProvider
	links     []*modelLink
	upstreams []*modelUpstream
	personals []*modelPersonal
	pats      []*modelPAT
	policies  []*modelPolicy

	// prev is each side's state at the last check (nil before the first),
	// prevCounts how many entities of each kind the model had then.
	prev       [2]*modelSnapshot
	prevCounts map[string]int
	// ipHorizons is, per table, the latest horizon its IP job ran to: no row
	// of it may hold an IP last active before that, ever after.
	ipHorizons map[string]time.Time
	// unchanged is set by a dry run: the next check requires the state of
	// the last one.
	unchanged bool
	// ran are the jobs the step ran (not dry): the next check holds the
	// changes to them (see oracle).
	ran []modelRun
	// synced are the calls of each side's sync-devices hook during the last
	// run (see syncDevices).
	synced [2][]modelSync
}

// modelRef is a logical entity: its kind and its index in the model's list.
type modelRef struct {
	kind string
	idx  int
}

// Entities keep the latest copy each side returned or the last check read
// (the last one read, once deleted), and their logical relations. -1 is none.
type (
	modelUser struct {
		obj  [2]*storage.User
		name string
	}
	modelBrowser struct {
		obj  [2]*storage.UserSession
		user int
	}
	modelCompat struct {
		obj           [2]*storage.CompatSession
		user, browser int
	}
	modelCompatAT struct {
		obj     [2]*storage.CompatAccessToken
		session int
		token   string
	}
	modelCompatRT struct {
		obj             [2]*storage.CompatRefreshToken
		session, access int
		token           string
	}
	modelClient struct {
		obj    [2]*storage.OAuth2Client
		static bool
	}
	modelOAuth struct {
		obj                   [2]*storage.OAuth2Session
		client, user, browser int
	}
	modelOAuthAT struct {
		obj     [2]*storage.OAuth2AccessToken
		session int
	}
	modelOAuthRT struct {
		obj                   [2]*storage.OAuth2RefreshToken
		session, access, next int
	}
	modelProvider struct {
		obj [2]*storage.UpstreamOAuthProvider
	}
	modelLink struct {
		obj            [2]*storage.UpstreamOAuthLink
		provider, user int
	}
	modelUpstream struct {
		obj                     [2]*storage.UpstreamOAuthSession
		provider, link, browser int
		claims                  storage.IDTokenClaims // once completed
	}
	modelPersonal struct {
		obj                           [2]*storage.PersonalSession
		ownerUser, ownerClient, actor int
	}
	modelPAT struct {
		obj     [2]*storage.PersonalAccessToken
		session int
		token   string
	}
	modelPolicy struct {
		obj  [2]*storage.PolicyData
		data string // as set, normalised (see modelJSON)
	}
)

// newModel starts a sequence on two empty stores.
func newModel(ctx context.Context, t *rapid.T, stores [2]storage.Store) *model {
	offset := rapid.Int64Range(0, int64(time.Hour)).Draw(t, "clock offset (ns)")
	start := modelEpoch.Add(time.Duration(offset))
	m := &model{
		ctx:        ctx,
		stores:     stores,
		refs:       [2]map[ulid.ULID]modelRef{{}, {}},
		prevCounts: map[string]int{},
		ipHorizons: map[string]time.Time{},
	}
	for side := range 2 {
		m.clocks[side] = storage.NewTestClock(start)
	}
	return m
}

// actions are the operations a sequence is made of; "" is the check rapid
// runs after each. Time passes after most of them, as it does between
// requests, so that short retentions find something to clean.
func (m *model) actions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"":                         m.check,
		"AddUser":                  m.timed(m.addUser),
		"AddBrowserSession":        m.timed(m.addBrowserSession),
		"AddCompatSession":         m.timed(m.addCompatSession),
		"AddOAuth2Session":         m.timed(m.addOAuth2Session),
		"AddTokens":                m.timed(m.addTokens),
		"UpstreamLogin":            m.timed(m.upstreamLogin),
		"CompleteUpstreamLogin":    m.timed(m.completeUpstreamLogin),
		"AuthenticateWithUpstream": m.timed(m.authenticateWithUpstream),
		"AssociateOrConsume":       m.timed(m.associateOrConsume),
		"Finish":                   m.timed(m.finish),
		"RecordActivity":           m.timed(m.recordActivity),
		"RotateRefreshToken":       m.timed(m.rotateRefreshToken),
		"Revoke":                   m.timed(m.revoke),
		"DeactivateUser":           m.timed(m.deactivateUser),
		"BackchannelLogout":        m.timed(m.backchannelLogout),
		"AddPersonalSession":       m.timed(m.addPersonalSession),
		"RevokePersonalSession":    m.timed(m.revokePersonalSession),
		"IssuePersonalToken":       m.timed(m.issuePersonalToken),
		"RevokePersonalToken":      m.timed(m.revokePersonalToken),
		"FindPersonalToken":        m.timed(m.findPersonalToken),
		"SetPolicyData":            m.timed(m.setPolicyData),
		"AdvanceClock":             m.advanceClock,
		"AdvanceClockDays":         m.advanceClockDays,
		"RunJob":                   m.runJob,
		"RunJobAtHorizon":          m.runJobAtHorizon,
		"RunAll":                   m.runAll,
	}
}

// timed runs action, then lets 0 to 90 minutes pass. The time passes only
// once the action is done: an action skipped (for want of an entity) must
// leave no trace, or rapid could not replay the sequence.
func (m *model) timed(action func(*rapid.T)) func(*rapid.T) {
	return func(t *rapid.T) {
		action(t)
		if d := time.Duration(rapid.IntRange(0, 90).Draw(t, "minutes pass")) * time.Minute; d > 0 {
			m.advance(t, d)
		}
	}
}

// unique returns a name no other call of the sequence returns (the same on
// both sides, so that a seed replays the same sequence).
func (m *model) unique(prefix string) string {
	m.n++
	return fmt.Sprintf("%s-%d", prefix, m.n)
}

// index records the IDs of a new entity on both sides.
func (m *model) index(kind string, idx int, mem, pg ulid.ULID) {
	m.refs[modelMemory][mem] = modelRef{kind, idx}
	m.refs[modelPostgres][pg] = modelRef{kind, idx}
}

// logical returns the index of the entity of that kind with that ID on side,
// -1 for the zero ID. An ID the model never created fails the test.
func (m *model) logical(t *rapid.T, side int, kind string, id ulid.ULID) int {
	idx, err := m.ref(side, kind, id)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return idx
}

// ref is logical returning the error. It only reads the model.
func (m *model) ref(side int, kind string, id ulid.ULID) (int, error) {
	if id.IsZero() {
		return -1, nil
	}
	r, ok := m.refs[side][id]
	if !ok || r.kind != kind {
		return -1, fmt.Errorf("%s: %s %s is no %s the sequence created (%v)", modelSides[side], kind, id, kind, r)
	}
	return r.idx, nil
}

// modelSentinels are the errors a failing operation may end in; both sides
// must end in the same one.
var modelSentinels = []error{
	storage.ErrNotFound, storage.ErrConflict, storage.ErrAlreadyFinished,
	storage.ErrInvalidState, storage.ErrInvalidArgument, cleanup.ErrInvalidOptions,
}

// modelSentinel returns the sentinel err wraps, nil when none.
func modelSentinel(err error) error {
	for _, s := range modelSentinels {
		if errors.Is(err, s) {
			return s
		}
	}
	return nil
}

// both applies op to each side with that side's store and clock and requires
// the outcomes to agree: both succeed (true) or both fail with the same
// sentinel (false). An error that is no sentinel fails the test.
func (m *model) both(t *rapid.T, what string, op func(side int, r storage.Store, c storage.Clock) error) bool {
	t.Helper()
	var errs [2]error
	for side := range 2 {
		errs[side] = op(side, m.stores[side], m.clocks[side])
	}
	if errs[0] == nil && errs[1] == nil {
		t.Logf("%s: ok", what)
		return true
	}
	s0, s1 := modelSentinel(errs[0]), modelSentinel(errs[1])
	if errs[0] == nil || errs[1] == nil || s0 == nil || s1 == nil || s0 != s1 {
		t.Fatalf("%s: the backends disagree:\n  memory:   %v\n  postgres: %v", what, errs[0], errs[1])
	}
	t.Logf("%s: both fail with %v", what, s0)
	return false
}

// modelDo is both for an operation returning a row: it returns each side's.
func modelDo[T any](m *model, t *rapid.T, what string, op func(r storage.Repository, c storage.Clock, side int) (*T, error)) (out [2]*T, ok bool) {
	t.Helper()
	ok = m.both(t, what, func(side int, r storage.Store, c storage.Clock) (err error) {
		out[side], err = op(r, c, side)
		return err
	})
	return out, ok
}

// modelPick draws the index of one of n entities; with none, the action is
// skipped (call it before any other draw, see modelChoose).
func modelPick(t *rapid.T, label string, n int) int {
	if n == 0 {
		t.Skip("no " + label + " yet")
	}
	return rapid.IntRange(0, n-1).Draw(t, label)
}

// modelOption is a choice an action can make when it has n entities for it.
type modelOption struct {
	name string
	n    int
}

// modelChoose draws one of the options that have entities. With none, the
// action is skipped before it draws anything: rapid then tries another
// action, where a skip after a draw would count as a rejected step, and a
// few of those end the sequence.
func modelChoose(t *rapid.T, label string, options ...modelOption) string {
	var names []string
	for _, o := range options {
		if o.n > 0 {
			names = append(names, o.name)
		}
	}
	if len(names) == 0 {
		t.Skip("nothing to " + label)
	}
	return rapid.SampledFrom(names).Draw(t, label)
}

// modelPickOrNone draws one of n entities, or -1.
func modelPickOrNone(t *rapid.T, label string, n int) int {
	return rapid.IntRange(-1, n-1).Draw(t, label)
}

// modelUpdate replaces each side's copy with the one an operation returned.
func modelUpdate[T any](dst *[2]*T, src [2]*T) {
	for side := range 2 {
		if src[side] != nil {
			dst[side] = src[side]
		}
	}
}
