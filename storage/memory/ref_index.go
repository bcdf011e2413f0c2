package memory

import (
	"fmt"

	"github.com/oklog/ulid/v2"
)

// refIndex is the reverse index of one foreign key out of a table: for each
// referenced (parent) row's ID, the keys of the rows whose reference column
// holds it. A NULL (zero) reference is not indexed. Only table.set changes
// it, and the journal undoes every change through set, so a rollback
// restores it with the rows.
type refIndex[K comparable, V any] struct {
	fk  string               // the foreign key's name
	ref func(V) ulid.ULID    // the row's reference column
	m   map[ulid.ULID]set[K] // parent ID → keys of the rows naming it
}

// set is a set of keys.
type set[K comparable] map[K]struct{}

// add indexes row k, whose value is v.
func (x *refIndex[K, V]) add(k K, v V) {
	p := x.ref(v)
	if p.IsZero() {
		return
	}
	s, ok := x.m[p]
	if !ok {
		s = set[K]{}
		x.m[p] = s
	}
	s[k] = struct{}{}
}

// drop unindexes row k, whose value was v.
func (x *refIndex[K, V]) drop(k K, v V) {
	p := x.ref(v)
	if p.IsZero() {
		return
	}
	s := x.m[p]
	delete(s, k)
	if len(s) == 0 {
		delete(x.m, p)
	}
}

// references declares the foreign key fk, held in the column ref returns,
// and indexes it in reverse.
func (t *table[K, V]) references(fk string, ref func(V) ulid.ULID) {
	for _, x := range t.refs {
		if x.fk == fk {
			panic(fmt.Sprintf("memory: %s: foreign key %s declared twice", t.name, fk))
		}
	}
	x := &refIndex[K, V]{fk: fk, ref: ref, m: make(map[ulid.ULID]set[K])}
	for k, v := range t.rows {
		x.add(k, v)
	}
	t.refs = append(t.refs, x)
}

// reverse returns the reverse index of foreign key fk; one not declared on
// the table is a programming error.
func (t *table[K, V]) reverse(fk string) *refIndex[K, V] {
	for _, x := range t.refs {
		if x.fk == fk {
			return x
		}
	}
	panic(fmt.Sprintf("memory: %s: no foreign key %s", t.name, fk))
}

// referencing returns the keys of the rows whose column of foreign key fk
// holds one of parents, in no particular order.
func (t *table[K, V]) referencing(fk string, parents ...ulid.ULID) []K {
	x := t.reverse(fk)
	var out []K
	for _, p := range parents {
		for k := range x.m[p] {
			out = append(out, k)
		}
	}
	return out
}

// referenced reports whether some row's column of foreign key fk holds
// parent.
func (t *table[K, V]) referenced(fk string, parent ulid.ULID) bool {
	return len(t.reverse(fk).m[parent]) > 0
}
