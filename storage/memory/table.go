package memory

import (
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/masstore/masstore/storage"
)

// journal records how to undo every change made to the state since the last
// commit, so that a failed operation or transaction leaves no trace without
// the whole state being copied up front.
type journal struct {
	undo []func()
}

// mark returns the position to roll back to.
func (j *journal) mark() int { return len(j.undo) }

// rollback undoes, newest first, every change recorded after mark m.
func (j *journal) rollback(m int) {
	for i := len(j.undo) - 1; i >= m; i-- {
		j.undo[i]()
		j.undo[i] = nil
	}
	j.undo = j.undo[:m]
}

// commit forgets every recorded change.
func (j *journal) commit() { j.undo = nil }

// table holds the rows of one PostgreSQL table as values, keyed by primary
// key, and enforces its unique constraints. Every change is journalled.
type table[K comparable, V any] struct {
	name  string // the PostgreSQL table
	noun  string // what a row is called in errors
	j     *journal
	rows  map[K]V
	uniqs []*uniqueIndex[K, V]
	refs  []*refIndex[K, V] // the reverse indexes of its foreign keys
}

// uniqueIndex is a unique constraint: key returns the row's value for it, and
// false when that value is NULL (NULLs never conflict).
type uniqueIndex[K comparable, V any] struct {
	name string
	key  func(V) (string, bool)
	m    map[string]K
}

func newTable[K comparable, V any](j *journal, name, noun string) *table[K, V] {
	return &table[K, V]{name: name, noun: noun, j: j, rows: make(map[K]V)}
}

// unique adds a unique constraint to the table, numbered in order from 0.
func (t *table[K, V]) unique(name string, key func(V) (string, bool)) {
	t.uniqs = append(t.uniqs, &uniqueIndex[K, V]{name: name, key: key, m: make(map[string]K)})
}

// get returns the row with primary key k.
func (t *table[K, V]) get(k K) (V, bool) {
	v, ok := t.rows[k]
	return v, ok
}

// must returns the row with primary key k, or an error wrapping ErrNotFound.
func (t *table[K, V]) must(k K) (V, error) {
	v, ok := t.rows[k]
	if !ok {
		return v, fmt.Errorf("%s %v: %w", t.noun, k, storage.ErrNotFound)
	}
	return v, nil
}

// find returns the row whose value for unique index i is key.
func (t *table[K, V]) find(i int, key string) (V, bool) {
	k, ok := t.uniqs[i].m[key]
	if !ok {
		var zero V
		return zero, false
	}
	return t.rows[k], true
}

// insert adds a row; a taken primary key or unique value is ErrConflict.
func (t *table[K, V]) insert(k K, v V) error {
	if _, ok := t.rows[k]; ok {
		return fmt.Errorf("%s_pkey: %w", t.name, storage.ErrConflict)
	}
	if err := t.checkUnique(k, v); err != nil {
		return err
	}
	t.record(k)
	t.set(k, v, true)
	return nil
}

// update replaces an existing row; a unique value taken by another row is
// ErrConflict.
func (t *table[K, V]) update(k K, v V) error {
	if _, ok := t.rows[k]; !ok {
		return fmt.Errorf("%s %v: %w", t.noun, k, storage.ErrNotFound)
	}
	if err := t.checkUnique(k, v); err != nil {
		return err
	}
	t.record(k)
	t.set(k, v, true)
	return nil
}

// remove deletes the row with primary key k, if any.
func (t *table[K, V]) remove(k K) {
	if _, ok := t.rows[k]; !ok {
		return
	}
	t.record(k)
	var zero V
	t.set(k, zero, false)
}

func (t *table[K, V]) checkUnique(k K, v V) error {
	for _, u := range t.uniqs {
		key, ok := u.key(v)
		if !ok {
			continue
		}
		if other, taken := u.m[key]; taken && other != k {
			return fmt.Errorf("%s: %w", u.name, storage.ErrConflict)
		}
	}
	return nil
}

// record journals how to restore row k as it is now.
func (t *table[K, V]) record(k K) {
	old, had := t.rows[k]
	t.j.undo = append(t.j.undo, func() { t.set(k, old, had) })
}

// set makes row k be v (present) or absent, keeping the unique and reverse
// indexes right. It is the only place that changes rows or indexes.
func (t *table[K, V]) set(k K, v V, present bool) {
	if old, had := t.rows[k]; had {
		for _, u := range t.uniqs {
			if key, ok := u.key(old); ok && u.m[key] == k {
				delete(u.m, key)
			}
		}
		for _, x := range t.refs {
			x.drop(k, old)
		}
		delete(t.rows, k)
	}
	if !present {
		return
	}
	t.rows[k] = v
	for _, u := range t.uniqs {
		if key, ok := u.key(v); ok {
			u.m[key] = k
		}
	}
	for _, x := range t.refs {
		x.add(k, v)
	}
}

// finishWhere sets the finished time, reached through finished, of the rows
// of t that match selects and have none yet; it returns their IDs.
func finishWhere[V any](t *table[ulid.ULID, V], now time.Time, finished func(*V) **time.Time, match func(V) bool) ([]ulid.ULID, error) {
	var done []ulid.ULID
	for id, v := range t.rows {
		if *finished(&v) == nil && match(v) {
			done = append(done, id)
		}
	}
	for _, id := range done {
		v := t.rows[id]
		*finished(&v) = timeRef(now)
		if err := t.update(id, v); err != nil {
			return nil, err
		}
	}
	return done, nil
}
