package cleanup_test

import (
	"testing"

	"github.com/masstore/masstore/internal/pgtest"
	"github.com/masstore/masstore/storage"
	"github.com/masstore/masstore/storage/memory"
	"github.com/masstore/masstore/storage/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backends are the stores every scenario runs on.
var backends = []struct {
	name     string
	newStore func(t *testing.T) storage.Store
}{
	{"Memory", func(*testing.T) storage.Store { return memory.New() }},
	{"Postgres", func(t *testing.T) storage.Store { return postgres.New(pgtest.Migrated(t).DB) }},
}

// eachBackend runs test as a parallel subtest per backend.
func eachBackend(t *testing.T, test func(t *testing.T, store storage.Store)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, b.newStore(t))
		})
	}
}
