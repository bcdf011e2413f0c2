package memory

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"
)

func TestFirstCandidatesIsSortedPrefix(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	for range 200 {
		n, limit := rng.IntN(50), rng.IntN(60)
		var all []candidate
		first := firstCandidates{limit: limit}
		for range n {
			// Few distinct times, so that IDs break many ties.
			var id ulid.ULID
			id[15] = byte(rng.IntN(256))
			c := candidate{at: base.Add(time.Duration(rng.IntN(5)) * time.Second), id: id}
			all = append(all, c)
			first.offer(c)
		}
		slices.SortFunc(all, compareCandidates)
		got := first.sorted()
		require.Len(t, got, min(limit, n), "n=%d limit=%d", n, limit)
		require.True(t, slices.Equal(all[:len(got)], got), "n=%d limit=%d", n, limit)
	}
}
