package reliability

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/masstore/masstore/storage"
)

// Personal sessions and their access tokens in the model: the operations,
// how a check reads them back, what must hold of them, and what the three
// jobs that clean them must have done.

// modelScopes are the scopes personal sessions draw from, an empty one
// included.
var modelScopes = [][]string{{"urn:matrix:client:api:*"}, {"openid", "urn:matrix:client:api:*", "urn:mas:admin"}, {}}

// The personal-session jobs.
const (
	modelPersonalSessionsJob = "cleanup-revoked-personal-sessions"
	modelPersonalTokensJob   = "cleanup-revoked-personal-access-tokens"
	modelPersonalIPsJob      = "cleanup-inactive-personal-session-ips"
)

type (
	modelPersonalRow struct {
		OwnerUser, OwnerClient, Actor                     int
		Name, Scope, Created, Revoked, LastActive, LastIP string
	}
	modelPATRow struct {
		Session                   int
		Created, Expires, Revoked string
		// Find is what looking the token up by its value says at the
		// check's time: "ok", "invalid" (ErrInvalidState) or "not found".
		Find string
	}
)

// addPersonalSession starts a personal session acting as a user, owned by a
// user, by a client (new or not, registered or static), or by no one (which
// must fail); maybe used at once, maybe issued a token.
func (m *model) addPersonalSession(t *rapid.T) {
	actor := modelPick(t, "actor", len(m.users))
	u, c := -1, -1
	switch rapid.IntRange(0, 7).Draw(t, "owner (0-1 a client, 7 none)") {
	case 0, 1:
		if c = m.drawClient(t); c < 0 {
			return
		}
	case 7:
	default:
		u = modelPick(t, "owning user", len(m.users))
	}
	name := m.unique("bot")
	if rapid.IntRange(0, 9).Draw(t, "empty name (0)") == 0 {
		name = ""
	}
	scope := rapid.SampledFrom(modelScopes).Draw(t, "scope")
	what := fmt.Sprintf("add personal session %q owned by user %d, client %d, acting as user %d, scope %v", name, u, c, actor, scope)
	out, ok := modelDo(m, t, what, func(r storage.Repository, clock storage.Clock, side int) (*storage.PersonalSession, error) {
		return r.PersonalSessions().Add(m.ctx, clock, m.personalOwner(side, u, c), m.users[actor].obj[side], name, scope)
	})
	if !ok {
		return
	}
	m.personals = append(m.personals, &modelPersonal{obj: out, ownerUser: u, ownerClient: c, actor: actor})
	p := len(m.personals) - 1
	m.index("personal session", p, out[0].ID, out[1].ID)
	m.maybeActivity(t, "personal", p)
	if rapid.Bool().Draw(t, "with a token") {
		m.newPersonalToken(t, p, m.unique("mpt"))
	}
}

// personalOwner is user u or client c (-1: none) on side.
func (m *model) personalOwner(side, u, c int) storage.PersonalSessionOwner {
	var owner storage.PersonalSessionOwner
	if u >= 0 {
		owner.User = m.users[u].obj[side]
	}
	if c >= 0 {
		owner.Client = m.clients[c].obj[side]
	}
	return owner
}

// revokePersonalSession revokes any personal session, revoked or deleted
// ones included.
func (m *model) revokePersonalSession(t *rapid.T) {
	p := modelPick(t, "personal session", len(m.personals))
	s := m.personals[p]
	out, ok := modelDo(m, t, fmt.Sprintf("revoke personal session %d", p), func(r storage.Repository, c storage.Clock, side int) (*storage.PersonalSession, error) {
		return r.PersonalSessions().Revoke(m.ctx, c, s.obj[side])
	})
	if ok {
		modelUpdate(&s.obj, out)
	}
}

// issuePersonalToken issues any personal session (revoked or deleted ones
// included) a new token, an empty one, or one with the value of a token
// there at the last check (taken: ErrConflict).
func (m *model) issuePersonalToken(t *rapid.T) {
	p := modelPick(t, "personal session", len(m.personals))
	var there []int
	for i := range m.pats {
		if _, ok := m.prev[modelMemory].PATs[i]; ok {
			there = append(there, i)
		}
	}
	token := m.unique("mpt")
	switch rapid.IntRange(0, 9).Draw(t, "token (0 empty, 1 another's value)") {
	case 0:
		token = ""
	case 1:
		if len(there) > 0 {
			token = m.pats[there[modelPick(t, "token whose value to reuse", len(there))]].token
		}
	}
	m.newPersonalToken(t, p, token)
}

// newPersonalToken issues personal session p the token, expiring after a
// drawn time.
func (m *model) newPersonalToken(t *rapid.T, p int, token string) {
	expiresIn := rapid.SampledFrom(modelExpiries).Draw(t, "expires in")
	out, ok := modelDo(m, t, fmt.Sprintf("issue personal session %d token %q expiring in %s", p, token, expiresIn), func(r storage.Repository, c storage.Clock, side int) (*storage.PersonalAccessToken, error) {
		return r.PersonalSessions().AddAccessToken(m.ctx, c, m.personals[p].obj[side], token, expiresIn)
	})
	if !ok {
		return
	}
	m.pats = append(m.pats, &modelPAT{obj: out, session: p, token: token})
	m.index("personal access token", len(m.pats)-1, out[0].ID, out[1].ID)
}

// revokePersonalToken revokes any personal access token, revoked or deleted
// ones included.
func (m *model) revokePersonalToken(t *rapid.T) {
	i := modelPick(t, "personal access token", len(m.pats))
	a := m.pats[i]
	out, ok := modelDo(m, t, fmt.Sprintf("revoke personal access token %d", i), func(r storage.Repository, c storage.Clock, side int) (*storage.PersonalAccessToken, error) {
		return r.PersonalSessions().RevokeAccessToken(m.ctx, c, a.obj[side])
	})
	if ok {
		modelUpdate(&a.obj, out)
	}
}

// findPersonalToken authenticates with a token's value, or with one never
// issued: both sides must say the same (ErrNotFound, ErrInvalidState, or
// the same token).
func (m *model) findPersonalToken(t *rapid.T) {
	token, i := "mpt-never-issued", -1
	if len(m.pats) > 0 && rapid.IntRange(0, 4).Draw(t, "a token never issued (0)") > 0 {
		i = modelPick(t, "personal access token", len(m.pats))
		token = m.pats[i].token
	}
	out, ok := modelDo(m, t, fmt.Sprintf("find personal access token %d (%q)", i, token), func(r storage.Repository, c storage.Clock, _ int) (*storage.PersonalAccessToken, error) {
		return r.PersonalSessions().FindAccessToken(m.ctx, c, token)
	})
	if ok {
		got := m.logical(t, modelMemory, "personal access token", out[modelMemory].ID)
		require.Equal(t, got, m.logical(t, modelPostgres, "personal access token", out[modelPostgres].ID), "FindAccessToken found different tokens")
		require.Equal(t, i, got, "FindAccessToken found another token than the one with that value")
	}
}

// modelOwner is one owner of personal sessions: its key in
// modelSnapshot.Owned and the owner to list on one side.
type modelOwner struct {
	key   string
	owner storage.PersonalSessionOwner
}

// personalOwners lists every user and client of side as owners. It is called
// before the reads start: readUsers replaces the users' copies meanwhile.
func (m *model) personalOwners(side int) []modelOwner {
	var out []modelOwner
	for i, u := range m.users {
		out = append(out, modelOwner{"user " + strconv.Itoa(i), storage.PersonalSessionOwner{User: u.obj[side]}})
	}
	for i, c := range m.clients {
		out = append(out, modelOwner{"client " + strconv.Itoa(i), storage.PersonalSessionOwner{Client: c.obj[side]}})
	}
	return out
}

// readPersonals reads the personal sessions, and lists those of every owner:
// oldest first, recorded as sorted logical indexes (ties on the creation
// time may come in any order).
func (m *model) readPersonals(owners []modelOwner) func(*modelReader, *modelSnapshot) {
	return func(rd *modelReader, s *modelSnapshot) {
		r, side := m.stores[rd.side], rd.side
		for i, e := range m.personals {
			if v, ok := modelRead(rd, "personal session", i, func() (*storage.PersonalSession, error) { return r.PersonalSessions().Lookup(m.ctx, e.obj[side].ID) }); ok {
				e.obj[side] = v
				s.Personals[i] = modelPersonalRow{
					rd.ref("user", v.OwnerUserID), rd.ref("client", v.OwnerClientID), rd.ref("user", v.ActorUserID),
					v.HumanName, strings.Join(v.Scope, " "), modelTime(v.CreatedAt), modelAt(v.RevokedAt), modelAt(v.LastActiveAt), modelIP(v.LastActiveIP),
				}
			}
		}
		for _, o := range owners {
			list, err := r.PersonalSessions().ListByOwner(m.ctx, o.owner)
			if err != nil {
				rd.fail("list personal sessions of %s: %v", o.key, err)
				continue
			}
			var idx []int
			for j, v := range list {
				if j > 0 && v.CreatedAt.Before(list[j-1].CreatedAt) {
					rd.fail("personal sessions of %s not oldest first: %s after %s", o.key, modelTime(v.CreatedAt), modelTime(list[j-1].CreatedAt))
				}
				idx = append(idx, rd.ref("personal session", v.ID))
			}
			if len(idx) > 0 {
				slices.Sort(idx)
				s.Owned[o.key] = fmt.Sprint(idx)
			}
		}
	}
}

// readPersonalTokens reads the personal access tokens by ID, and looks each
// up by its value: a token there is found (valid or not), a deleted one is
// not.
func (m *model) readPersonalTokens(rd *modelReader, s *modelSnapshot) {
	r, side := m.stores[rd.side], rd.side
	for i, e := range m.pats {
		v, ok := modelRead(rd, "personal access token", i, func() (*storage.PersonalAccessToken, error) {
			return r.PersonalSessions().LookupAccessToken(m.ctx, e.obj[side].ID)
		})
		found, err := r.PersonalSessions().FindAccessToken(m.ctx, m.clocks[side], e.token)
		find := "ok"
		switch {
		case errors.Is(err, storage.ErrNotFound):
			find = "not found"
		case errors.Is(err, storage.ErrInvalidState):
			find = "invalid"
		case err != nil:
			rd.fail("find personal access token %d by value: %v", i, err)
		case found.ID != e.obj[side].ID:
			rd.fail("personal access token %d: its value finds %s", i, found.ID)
		}
		if ok != (find != "not found") {
			rd.fail("personal access token %d: found by ID %v, by value: %s", i, ok, find)
		}
		if ok {
			e.obj[side] = v
			s.PATs[i] = modelPATRow{rd.ref("personal session", v.SessionID), modelTime(v.CreatedAt), modelAt(v.ExpiresAt), modelAt(v.RevokedAt), find}
		}
	}
}

// personalInvariants checks, on one side, what must hold of personal
// sessions and their tokens: their owner and actor are those they were
// created with, the owners' lists are exactly their sessions, no token
// outlives its session, a session has at most one live token (none once
// revoked), and a token authenticates exactly when neither it nor its
// session is revoked and it has not expired (at its expiry, it has).
func (m *model) personalInvariants(t *rapid.T, side int, now *modelSnapshot) {
	name := modelSides[side]
	owned := map[string][]int{}
	for i, r := range now.Personals {
		e := m.personals[i]
		require.Equal(t, [3]int{e.ownerUser, e.ownerClient, e.actor}, [3]int{r.OwnerUser, r.OwnerClient, r.Actor}, "%s: personal session %d changed owner or actor (user, client, actor)", name, i)
		key := "user " + strconv.Itoa(r.OwnerUser)
		if r.OwnerClient >= 0 {
			key = "client " + strconv.Itoa(r.OwnerClient)
		}
		owned[key] = append(owned[key], i)
	}
	want := map[string]string{}
	for key, idx := range owned {
		slices.Sort(idx)
		want[key] = fmt.Sprint(idx)
	}
	require.Equal(t, want, now.Owned, "%s: the personal sessions each owner lists", name)

	at := storage.Now(m.clocks[side])
	live := map[int]int{}
	for i, r := range now.PATs {
		modelRequireOwner(t, name, "personal access token", i, m.pats[i].session, r.Session, now.Personals)
		session := now.Personals[r.Session]
		if r.Revoked == "" {
			live[r.Session]++
			require.LessOrEqual(t, live[r.Session], 1, "%s: personal session %d has %d live tokens", name, r.Session, live[r.Session])
			require.Empty(t, session.Revoked, "%s: personal access token %d is live, its session %d revoked at %s", name, i, r.Session, session.Revoked)
		}
		expires, ok := modelParse(r.Expires)
		expired := ok && !expires.After(at)
		find := "ok"
		if r.Revoked != "" || session.Revoked != "" || expired {
			find = "invalid"
		}
		require.Equal(t, find, r.Find, "%s: personal access token %d (revoked at %q, expires at %q, session revoked at %q) looked up at %s", name, i, r.Revoked, r.Expires, session.Revoked, modelTime(at))
	}
}

// personalOracle checks the personal sessions and tokens a step that ran
// jobs left: every deletion (or IP cleared) explained by a job that ran,
// nothing revoked (no job revokes), nothing left that qualifies for a job.
func personalOracle(fail func(string, ...any), qualifies func(job, s string) bool, prev, now *modelSnapshot) {
	for i, p := range prev.Personals {
		n, ok := now.Personals[i]
		switch {
		case !ok && !qualifies(modelPersonalSessionsJob, p.Revoked):
			fail("personal session %d deleted, revoked at %q", i, p.Revoked)
		case ok && p.Revoked == "" && n.Revoked != "":
			fail("personal session %d revoked at %s by a job", i, n.Revoked)
		}
	}
	for i, p := range prev.PATs {
		n, ok := now.PATs[i]
		_, sessionAlive := now.Personals[p.Session]
		switch {
		case !ok && sessionAlive && !qualifies(modelPersonalTokensJob, p.Revoked):
			fail("personal access token %d deleted, revoked at %q, its session still there", i, p.Revoked)
		case ok && p.Revoked == "" && n.Revoked != "":
			fail("personal access token %d revoked at %s by a job", i, n.Revoked)
		}
	}
	ip := func(r modelPersonalRow) (string, string) { return r.LastIP, r.LastActive }
	modelIPsCleared(fail, "personal session", modelPersonalIPsJob, qualifies, prev.Personals, now.Personals, ip)

	for i, r := range now.Personals {
		if qualifies(modelPersonalSessionsJob, r.Revoked) {
			fail("personal session %d revoked at %s left behind", i, r.Revoked)
		}
	}
	for i, r := range now.PATs {
		if qualifies(modelPersonalTokensJob, r.Revoked) {
			fail("personal access token %d revoked at %s left behind", i, r.Revoked)
		}
	}
	modelStaleIPs(fail, "personal session", modelPersonalIPsJob, qualifies, now.Personals, ip)
}
