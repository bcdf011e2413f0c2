package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"
)

// defaultSettings are the only settings the throwaway cluster changes from
// PostgreSQL's defaults: durability off, as for any throwaway test cluster.
// With fsync off a commit costs no disk flush, which flatters many small
// transactions against one big one; --pg-setting fsync=on (and the others)
// measures with durable commits.
var defaultSettings = []string{"fsync=off", "synchronous_commit=off", "full_page_writes=off"}

// cluster is the PostgreSQL the benchmark runs on: a throwaway cluster it
// started, or a server it was pointed at.
type cluster struct {
	adminURL string
	admin    *sql.DB
	dir      string   // throwaway cluster's directory; empty for a server we were given
	stopCmd  []string // stops the throwaway cluster
	// settings are the non-default settings of the throwaway cluster.
	settings []string
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
	db, err := sql.Open("postgres", c.adminURL)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("connect to %s: %w", redact(c.adminURL), err)
	}
	c.admin = db
	return nil
}

// startCluster initdb's and starts a cluster in a temporary directory on a
// private port, as the postgres user when we are root. The caller must call
// stop, also on error paths.
func startCluster(ctx context.Context, extra []string, log io.Writer) (*cluster, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	prefix, pgUser, err := asPostgres()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "masstore-bench-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, settings: append(append([]string{}, defaultSettings...), extra...)}
	if pgUser != nil {
		uid, _ := strconv.Atoi(pgUser.Uid)
		gid, _ := strconv.Atoi(pgUser.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			c.stop()
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	run := func(args ...string) error {
		if prefix != nil {
			args = append(append([]string{}, prefix...), args...)
		}
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	fmt.Fprintf(log, "starting a throwaway PostgreSQL cluster in %s\n", dir)
	if err := run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		c.stop()
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		c.stop()
		return nil, err
	}
	opts := []string{"-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1"}
	for _, s := range c.settings {
		opts = append(opts, "-c", s)
	}
	pgCtl := filepath.Join(bin, "pg_ctl")
	c.stopCmd = append(append([]string{}, prefix...), pgCtl, "stop", "-m", "fast", "-D", data)
	if err := run(pgCtl, "start", "-w", "-t", "60", "-D", data, "-l", c.logPath(), "-o", strings.Join(opts, " ")); err != nil {
		c.stop()
		return nil, err
	}
	c.adminURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if err := c.connect(ctx); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// logPath is the throwaway cluster's server log.
func (c *cluster) logPath() string { return filepath.Join(c.dir, "server.log") }

// stop closes the admin connection and stops and removes a throwaway
// cluster. It is safe to call more than once.
func (c *cluster) stop() {
	if c.admin != nil {
		c.admin.Close()
		c.admin = nil
	}
	if c.dir == "" {
		return
	}
	if c.stopCmd != nil {
		// Not the run's context: the cluster must stop also after SIGINT.
		_ = exec.Command(c.stopCmd[0], c.stopCmd[1:]...).Run()
		c.stopCmd = nil
	}
	os.RemoveAll(c.dir)
	c.dir = ""
}

// local reports whether the server runs on this machine, so that its
// processes' CPU time can be read.
func (c *cluster) local() bool {
	if c.dir != "" {
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
func (c *cluster) urlFor(name string) string {
	u, err := url.Parse(c.adminURL)
	if err != nil || u.Scheme == "" {
		return c.adminURL + " dbname=" + name // a key=value connection string
	}
	u.Path = "/" + name
	return u.String()
}

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

// findBinaries returns the directory holding initdb and pg_ctl: PATH first,
// then Debian's /usr/lib/postgresql/<version>/bin.
func findBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1]), nil
	}
	return "", errors.New("initdb not found on PATH nor in /usr/lib/postgresql/*/bin (or pass --database-url)")
}

// asPostgres returns the prefix that runs a command as the postgres user
// when we are root: PostgreSQL refuses to run as root.
func asPostgres() ([]string, *user.User, error) {
	if os.Geteuid() != 0 {
		return nil, nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, nil, fmt.Errorf("running as root and no postgres user to run PostgreSQL as: %w", err)
	}
	return []string{"runuser", "-u", "postgres", "--"}, u, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// redact hides the password of a connection URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return "(connection string)"
	}
	return u.Redacted()
}

// quote quotes an identifier.
func quote(name string) string { return pq.QuoteIdentifier(name) }
