package syn2mas

import (
	"runtime"
	"strconv"
	"testing"
)

// BenchmarkUserMap measures the one state a migration keeps: the user map,
// in bytes of heap per user, for localparts as long as "user123456".
func BenchmarkUserMap(b *testing.B) {
	const users = 1_000_000
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := newUserMap(users)
		for i := range users {
			m.add("user"+strconv.Itoa(100000+i), userEntry{flags: flagAdmin})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/users, "bytes/user")
		runtime.KeepAlive(m)
	}
}

func TestUserMap(t *testing.T) {
	m := newUserMap(0) // starts small: 10 000 users make it grow several times
	for i := range 10000 {
		var e userEntry
		e.id[0], e.id[15], e.flags = byte(i), byte(i>>8), userFlags(i%16)
		if !m.add("u"+strconv.Itoa(i), e) {
			t.Fatalf("add u%d refused", i)
		}
	}
	if !m.add("u7", userEntry{flags: flagGuest}) { // replaces
		t.Fatal("replace refused")
	}
	if !m.add("", userEntry{flags: flagAdmin}) { // an empty localpart is a key like any other
		t.Fatal("empty localpart refused")
	}
	for i := range 10000 {
		e, ok := m.get("u" + strconv.Itoa(i))
		want := userEntry{flags: userFlags(i % 16)}
		want.id[0], want.id[15] = byte(i), byte(i>>8)
		if i == 7 {
			want = userEntry{flags: flagGuest}
		}
		if !ok || e != want {
			t.Fatalf("u%d: got %v %v, want %v", i, e, ok, want)
		}
	}
	if e, ok := m.get(""); !ok || e.flags != flagAdmin {
		t.Fatalf("empty localpart: %v %v", e, ok)
	}
	for _, missing := range []string{"u10000", "u-1", "u", "x"} {
		if _, ok := m.get(missing); ok {
			t.Fatalf("%q found", missing)
		}
	}
	if m.used != 10001 {
		t.Fatalf("used %d, want 10001", m.used)
	}
	if m.add(string(make([]byte, maxLocalpart+1)), userEntry{}) {
		t.Fatal("an over-long localpart was accepted")
	}
}
