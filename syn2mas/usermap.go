package syn2mas

import (
	"hash/maphash"
	"math/bits"

	"github.com/oklog/ulid/v2"
)

// userMap is the one state a migration keeps across rows: each Synapse
// localpart's MAS user ID and flags. It is an open-addressing hash table of
// 24-byte slots, at most three quarters full, over an arena of the
// localparts' bytes: under half of what a Go map[string]userEntry costs (BenchmarkUserMap measures it;
// BENCHMARKS.md records it).
type userMap struct {
	slots []userSlot
	used  int
	arena []byte // the localparts, end to end
	seed  maphash.Seed
}

// userSlot is one user: where its localpart is in the arena, and its entry.
type userSlot struct {
	off   uint32 // offset of the localpart in the arena
	n     uint16 // length of the localpart plus one; 0 for an empty slot
	flags userFlags
	id    ulid.ULID
}

// newUserMap returns an empty map sized for about hint users (PostgreSQL's
// estimate), with room for it to be 10 % short before the table grows.
func newUserMap(hint int64) *userMap {
	return &userMap{slots: make([]userSlot, min(max(hint, 768)*3/2, 1<<28)), seed: maphash.MakeSeed()}
}

// maxLocalpart is the longest localpart the map holds; Matrix IDs are at
// most 255 bytes, so no real one comes near.
const maxLocalpart = 1<<16 - 2

// add records a user, replacing an earlier one of the same localpart. It
// reports false for a localpart too long to hold, or an arena past 4 GiB.
func (u *userMap) add(local string, e userEntry) bool {
	if len(local) > maxLocalpart || len(u.arena)+len(local) > 1<<32-1 {
		return false
	}
	if (u.used+1)*4 > len(u.slots)*3 {
		u.grow()
	}
	i, found := u.find(local)
	s := &u.slots[i]
	if !found {
		s.off, s.n = uint32(len(u.arena)), uint16(len(local)+1)
		u.arena = append(u.arena, local...)
		u.used++
	}
	s.flags, s.id = e.flags, e.id
	return true
}

// get looks a user up by localpart.
func (u *userMap) get(local string) (userEntry, bool) {
	i, found := u.find(local)
	if !found {
		return userEntry{}, false
	}
	s := &u.slots[i]
	return userEntry{id: s.id, flags: s.flags}, true
}

// find returns local's slot, or the empty slot where it belongs.
func (u *userMap) find(local string) (int, bool) {
	for i := u.home(local); ; i = u.next(i) {
		s := &u.slots[i]
		if s.n == 0 {
			return i, false
		}
		if int(s.n)-1 == len(local) && string(u.arena[s.off:s.off+uint32(len(local))]) == local {
			return i, true
		}
	}
}

// grow doubles the table.
func (u *userMap) grow() {
	old := u.slots
	u.slots = make([]userSlot, 2*len(old))
	for _, s := range old {
		if s.n == 0 {
			continue
		}
		i := u.home(string(u.arena[s.off : s.off+uint32(s.n)-1]))
		for u.slots[i].n != 0 {
			i = u.next(i)
		}
		u.slots[i] = s
	}
}

// home is the first slot local may be in: its hash scaled to the table
// (which need not be a power of two).
func (u *userMap) home(local string) int {
	hi, _ := bits.Mul64(maphash.String(u.seed, local), uint64(len(u.slots)))
	return int(hi)
}

// next is the slot after i, wrapping around.
func (u *userMap) next(i int) int {
	if i++; i == len(u.slots) {
		return 0
	}
	return i
}
