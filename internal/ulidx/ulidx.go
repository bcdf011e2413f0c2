// Package ulidx holds the ULID helpers both storage backends share: new IDs
// that encode the clock's time, the horizon ID of the ULID-age cleanups, and
// the conversion to and from PostgreSQL's uuid.
package ulidx

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// recentLimit bounds how many milliseconds New remembers.
const recentLimit = 4096

var (
	mu sync.Mutex
	// recent remembers the last ID made in each recently used millisecond,
	// least recently used first, so that the next ID of that millisecond is
	// larger even when IDs of other milliseconds were made in between (tests
	// run many clocks at once).
	recent = map[uint64]*list.Element{}
	order  = list.New() // of *entry
)

type entry struct {
	ms uint64
	id ulid.ULID
}

// New returns a new ULID whose time is t (at millisecond precision). IDs made
// in the same millisecond increase, so they sort in creation order.
func New(t time.Time) ulid.ULID {
	ms := ulid.Timestamp(t)
	mu.Lock()
	defer mu.Unlock()
	if el, ok := recent[ms]; ok {
		e := el.Value.(*entry)
		if next, ok := increment(e.id); ok {
			e.id = next
			order.MoveToBack(el)
			return next
		}
	}
	id := ulid.MustNew(ms, rand.Reader)
	if el, ok := recent[ms]; ok {
		// The millisecond's entropy ran out (2^80 IDs): start afresh.
		el.Value.(*entry).id = id
		order.MoveToBack(el)
		return id
	}
	recent[ms] = order.PushBack(&entry{ms: ms, id: id})
	if order.Len() > recentLimit {
		oldest := order.Front()
		delete(recent, oldest.Value.(*entry).ms)
		order.Remove(oldest)
	}
	return id
}

// increment returns id with its 80-bit random part plus one, or false when
// it would overflow into the time.
func increment(id ulid.ULID) (ulid.ULID, bool) {
	for i := len(id) - 1; i >= 6; i-- {
		id[i]++
		if id[i] != 0 {
			return id, true
		}
	}
	return id, false
}

// Horizon returns the smallest ULID of t's millisecond: every ID made before
// that millisecond sorts below it. A ULID-age cleanup with horizon t deletes
// the rows whose ID is below Horizon(t).
func Horizon(t time.Time) ulid.ULID {
	var id ulid.ULID
	if err := id.SetTime(ulid.Timestamp(t)); err != nil {
		// Before 1970 or after 10889: nothing can be older, or everything is.
		if t.Unix() < 0 {
			return ulid.ULID{}
		}
		return Max
	}
	return id
}

// Max is the largest ULID.
var Max = ulid.ULID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// UUID formats id as a PostgreSQL uuid literal.
func UUID(id ulid.ULID) string {
	var out [36]byte
	hex.Encode(out[0:8], id[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], id[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], id[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], id[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], id[10:16])
	return string(out[:])
}

// ParseUUID parses a uuid as PostgreSQL prints it.
func ParseUUID(s string) (ulid.ULID, error) {
	var id ulid.ULID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, fmt.Errorf("invalid uuid %q", s)
	}
	hex := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	for i := 0; i < 16; i++ {
		hi, ok1 := unhex(hex[2*i])
		lo, ok2 := unhex(hex[2*i+1])
		if !ok1 || !ok2 {
			return id, fmt.Errorf("invalid uuid %q", s)
		}
		id[i] = hi<<4 | lo
	}
	return id, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
