package pgtest

import (
	"context"
	"database/sql"
	"os"

	"github.com/lib/pq"

	"github.com/masstore/masstore/internal/pgcluster"
)

// server is the PostgreSQL the tests of one binary use.
type server struct {
	adminURL  string
	admin     *sql.DB
	cluster   *pgcluster.Cluster // the throwaway cluster; nil for an external server
	templates []string
	// templateFingerprint and truncate serve the pool of migrated databases.
	templateFingerprint string
	truncate            string
}

func start() (*server, error) {
	if u := os.Getenv(EnvURL); u != "" {
		return connect(&server{adminURL: u})
	}
	c, err := pgcluster.Start(context.Background(), "masstore-pgtest-", "max_connections=300")
	if err != nil {
		return nil, err
	}
	s, err := connect(&server{adminURL: c.URL, cluster: c})
	if err != nil {
		c.Stop()
		return nil, err
	}
	return s, nil
}

func connect(s *server) (*server, error) {
	db, err := pgcluster.Connect(context.Background(), s.adminURL)
	if err != nil {
		return nil, err
	}
	s.admin = db
	return s, nil
}

// stop drops the templates of an external server, or stops and removes the
// throwaway cluster.
func (s *server) stop() {
	poolMu.Lock()
	for _, db := range pool {
		db.DB.Close()
	}
	pool = nil
	poolMu.Unlock()
	if s.admin != nil {
		for _, name := range s.templates {
			_, _ = s.admin.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name) + " WITH (FORCE)")
		}
		s.admin.Close()
	}
	if s.cluster != nil {
		s.cluster.Stop()
	}
}

// urlFor returns the admin URL with the database name replaced.
func (s *server) urlFor(name string) string { return pgcluster.WithDatabase(s.adminURL, name) }
