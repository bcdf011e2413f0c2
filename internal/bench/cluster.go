package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/lib/pq"

	"github.com/masstore/masstore/internal/pgcluster"
)

// cluster is the PostgreSQL the benchmark runs on: a throwaway cluster it
// started (pgcluster: PostgreSQL's defaults but for durability, off as for
// any throwaway cluster; with fsync off a commit costs no disk flush, which
// flatters many small transactions against one big one, so --pg-setting
// fsync=on and the others measure durable commits), or a server it was
// pointed at.
type cluster struct {
	adminURL string
	admin    *sql.DB
	// throwaway is the cluster the program started; nil for a server given.
	throwaway *pgcluster.Cluster
}

// connectCluster connects to an existing server through adminURL, a role
// that may create databases.
func connectCluster(ctx context.Context, adminURL string) (*cluster, error) {
	c := &cluster{adminURL: adminURL}
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *cluster) connect(ctx context.Context) error {
	db, err := pgcluster.Connect(ctx, c.adminURL)
	if err != nil {
		return err
	}
	c.admin = db
	return nil
}

// startCluster starts a throwaway cluster with the extra settings. The
// caller must call stop, also on error paths.
func startCluster(ctx context.Context, extra []string, log io.Writer) (*cluster, error) {
	pc, err := pgcluster.Start(ctx, "masstore-bench-", extra...)
	if err != nil {
		return nil, fmt.Errorf("%w (or pass --database-url)", err)
	}
	fmt.Fprintf(log, "started a throwaway PostgreSQL cluster in %s\n", pc.Dir)
	c := &cluster{adminURL: pc.URL, throwaway: pc}
	if err := c.connect(ctx); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// logPath is the throwaway cluster's server log.
func (c *cluster) logPath() string { return c.throwaway.LogPath() }

// stop closes the admin connection and stops and removes a throwaway
// cluster. It is safe to call more than once.
func (c *cluster) stop() {
	if c.admin != nil {
		c.admin.Close()
		c.admin = nil
	}
	if c.throwaway != nil {
		c.throwaway.Stop()
	}
}

// local reports whether the server runs on this machine, so that its
// processes' CPU time can be read.
func (c *cluster) local() bool {
	if c.throwaway != nil {
		return true
	}
	u, err := url.Parse(c.adminURL)
	if err != nil || u.Scheme == "" {
		return false
	}
	switch h := u.Hostname(); h {
	case "localhost", "127.0.0.1", "::1":
		return true
	default:
		return strings.HasPrefix(h, "/") || (h == "" && strings.HasPrefix(u.Query().Get("host"), "/"))
	}
}

// urlFor returns the admin URL with the database name replaced.
func (c *cluster) urlFor(name string) string { return pgcluster.WithDatabase(c.adminURL, name) }

// version returns the server's version string.
func (c *cluster) version(ctx context.Context) (string, error) {
	var v string
	err := c.admin.QueryRowContext(ctx, "SHOW server_version").Scan(&v)
	return v, err
}

// nonDefaultSettings lists the settings the server has from its
// configuration or command line rather than built-in defaults, leaving out
// what every initdb writes (locale, time zone, logging).
func (c *cluster) nonDefaultSettings(ctx context.Context) ([]string, error) {
	rows, err := c.admin.QueryContext(ctx, `
		SELECT name, current_setting(name) FROM pg_settings
		WHERE source IN ('configuration file', 'command line')
		  AND name NOT LIKE 'lc\_%' AND name NOT LIKE 'log\_%'
		  AND name NOT IN ('datestyle', 'timezone', 'default_text_search_config', 'dynamic_shared_memory_type',
		                   'listen_addresses', 'port', 'unix_socket_directories')
		ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name, setting string
		if err := rows.Scan(&name, &setting); err != nil {
			return nil, err
		}
		out = append(out, name+"="+setting)
	}
	return out, rows.Err()
}

// redact hides the password of a connection URL.
func redact(raw string) string { return pgcluster.Redact(raw) }

// quote quotes an identifier.
func quote(name string) string { return pq.QuoteIdentifier(name) }
