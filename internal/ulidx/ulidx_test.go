package ulidx

import (
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"
)

func TestNewEncodesTimeAndIncreases(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.UTC)
	a, b := New(at), New(at)
	require.Equal(t, at.Truncate(time.Millisecond), ulid.Time(a.Time()).UTC())
	require.Less(t, a.Compare(b), 0)
}

func TestNewIncreasesWithinAMillisecondWhateverComesBetween(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	prev := New(at)
	for i := 0; i < 1000; i++ {
		New(at.Add(time.Duration(i+1) * time.Millisecond)) // another clock's ID
		next := New(at)
		require.Less(t, prev.Compare(next), 0, "step %d", i)
		prev = next
	}
}

func TestHorizonSortsBetweenMilliseconds(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h := Horizon(at)
	require.Less(t, New(at.Add(-time.Millisecond)).Compare(h), 0)
	require.Greater(t, New(at).Compare(h), 0)
	require.Equal(t, ulid.ULID{}, Horizon(time.Unix(-10, 0)))
	require.Equal(t, Max, Horizon(time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC)))
}

func TestUUIDRoundTrip(t *testing.T) {
	t.Parallel()
	id := New(time.Now())
	s := UUID(id)
	require.Len(t, s, 36)
	back, err := ParseUUID(s)
	require.NoError(t, err)
	require.Equal(t, id, back)
	_, err = ParseUUID("not-a-uuid")
	require.ErrorContains(t, err, "invalid uuid")
	_, err = ParseUUID("zzzzzzzz-0000-0000-0000-000000000000")
	require.Error(t, err)
}
