package reliability

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masstore/masstore/cleanup"
)

// replicaCount is how many janitors run at once on one database.
const replicaCount = 4

// TestReplicasAgreeWithASingleRun runs four janitor processes at once on a
// copy of a 200 000-row dataset, and one janitor alone on another copy: the
// four finish, none fails, the rows left are those the single run leaves, and
// their reports add up to its.
func TestReplicasAgreeWithASingleRun(t *testing.T) {
	t.Parallel()
	bin := bulkJanitor(t)
	srv := bulkConnect(t)
	src := srv.migrated(t)
	rows := bulkFillCleanup(t, src.DB, 10000*bulkScale(t))
	dbs := srv.copies(t, src, 2)
	single, replicated := dbs[0], dbs[1]
	t.Logf("dataset: %d rows", rows)

	// Bounded time: a deadlock or a wedged job shows as a kill at the deadline.
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(bulkScale(t))*3*time.Minute)
	defer cancel()

	one := bulkRunJanitor(ctx, t, bin, single.URL)
	require.Equal(t, 0, one.Code, one.Stderr)
	want := bulkReports(t, one.Stdout)
	require.Len(t, want, len(cleanup.AllJobs()))
	for job, r := range want {
		require.Nil(t, r.Stopped, job)
	}
	t.Logf("single run: %s", one.Took.Round(time.Millisecond))

	runs := make([]bulkJanitorRun, replicaCount)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			runs[i] = bulkRunJanitor(ctx, t, bin, replicated.URL)
		}()
	}
	close(start)
	wg.Wait()
	require.NoError(t, ctx.Err(), "the replicas did not finish in time: deadlock?")

	got := map[string]int{}
	for i, r := range runs {
		require.Equal(t, 0, r.Code, "replica %d: %s", i, r.Stderr)
		reports := bulkReports(t, r.Stdout)
		require.Len(t, reports, len(want), "replica %d", i)
		for job, rep := range reports {
			require.Nil(t, rep.Stopped, "replica %d, %s", i, job)
			got[job] += rep.Affected
		}
		t.Logf("replica %d: %s", i, r.Took.Round(time.Millisecond))
	}

	t.Run("RowsLeftAreThoseOfASingleRun", func(t *testing.T) {
		require.Empty(t, bulkDiff(bulkDigest(t, single.DB), bulkDigest(t, replicated.DB)))
	})
	t.Run("AffectedCountsAddUpToTheSingleRun", func(t *testing.T) {
		var lines []string
		for job, r := range want {
			require.Equal(t, r.Affected, got[job], job)
			lines = append(lines, job+"="+strconv.Itoa(r.Affected))
		}
		t.Logf("affected: %s", strings.Join(lines, " "))
	})
	t.Run("EveryJobHadWork", func(t *testing.T) {
		for job, r := range want {
			require.Positive(t, r.Affected, job)
		}
	})
}
