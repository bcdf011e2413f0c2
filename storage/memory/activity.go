package memory

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/storage"
)

// activity is where the sessions of one table (browser, compat, OAuth 2.0,
// personal) keep their last activity: what RecordActivity writes and the IP
// jobs clear and count, done once here for all four.
type activity[V any] struct {
	what   string // "compat session"...
	table  func(st *state) *table[ulid.ULID, V]
	fields func(s *V) (at **time.Time, ip *netip.Addr)
}

// record sets the session's last active time to now and, when valid, its IP.
func (a activity[V]) record(st *state, clock storage.Clock, id ulid.ULID, ip netip.Addr) error {
	op := "record " + a.what + " activity"
	now, err := now(clock)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	t := a.table(st)
	s, err := t.must(id)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	at, addr := a.fields(&s)
	*at = timeRef(now)
	if ip.IsValid() {
		*addr = inet(ip)
	}
	return t.update(id, s)
}

// staleSince is the time the IP clearing orders a session by: its last
// active time when it holds an IP, else nil.
func (a activity[V]) staleSince(s V) *time.Time {
	at, ip := a.fields(&s)
	return lastActive(*ip, *at)
}

// clearIPs is one batch of the IP clearing: the IPs of up to limit
// sessions last active before `before`, in (last_active_at, id) order.
func (a activity[V]) clearIPs(st *state, after storage.Cursor, before time.Time, limit int) (storage.Batch, error) {
	t := a.table(st)
	cands := byTime(t.rows, after, before, limit, a.staleSince)
	for _, c := range cands {
		s := t.rows[c.id]
		_, ip := a.fields(&s)
		*ip = netip.Addr{}
		if err := t.update(c.id, s); err != nil {
			return storage.Batch{}, err
		}
	}
	return batch(cands, len(cands), after), nil
}

// countStaleIPs counts the sessions holding an IP, last active before `before`.
func (a activity[V]) countStaleIPs(st *state, before time.Time) int {
	return countBefore(a.table(st).rows, before, a.staleSince)
}

var (
	userSessionActivity = activity[storage.UserSession]{"browser session",
		func(st *state) *table[ulid.ULID, storage.UserSession] { return st.userSessions },
		func(s *storage.UserSession) (**time.Time, *netip.Addr) { return &s.LastActiveAt, &s.LastActiveIP }}
	compatSessionActivity = activity[storage.CompatSession]{"compat session",
		func(st *state) *table[ulid.ULID, storage.CompatSession] { return st.compatSessions },
		func(s *storage.CompatSession) (**time.Time, *netip.Addr) { return &s.LastActiveAt, &s.LastActiveIP }}
	oauth2SessionActivity = activity[storage.OAuth2Session]{"OAuth 2.0 session",
		func(st *state) *table[ulid.ULID, storage.OAuth2Session] { return st.oauth2Sessions },
		func(s *storage.OAuth2Session) (**time.Time, *netip.Addr) { return &s.LastActiveAt, &s.LastActiveIP }}
	personalSessionActivity = activity[storage.PersonalSession]{"personal session",
		func(st *state) *table[ulid.ULID, storage.PersonalSession] { return st.personalSessions },
		func(s *storage.PersonalSession) (**time.Time, *netip.Addr) { return &s.LastActiveAt, &s.LastActiveIP }}
)
