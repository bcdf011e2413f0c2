// Package pgcluster starts a throwaway PostgreSQL cluster from the installed
// binaries: initdb in a temporary directory, a private port and socket, run
// as the postgres user when the caller is root (PostgreSQL refuses to run as
// root). The tests (internal/pgtest) and the benchmark program
// (internal/bench) start theirs with it.
package pgcluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	neturl "net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/lib/pq" // the driver Connect opens
)

// Durability are the settings of a cluster whose data may be lost: no flush
// at commit nor at checkpoint. Every throwaway cluster runs with them.
var Durability = []string{"fsync=off", "synchronous_commit=off", "full_page_writes=off"}

// Cluster is a running throwaway cluster. Stop stops it and removes its
// directory.
type Cluster struct {
	// Dir is the cluster's temporary directory (data, socket, server log).
	Dir string
	// URL connects to its postgres database as the postgres superuser.
	URL string
	// Settings are the settings it was started with, NAME=VALUE.
	Settings []string
	stopCmd  []string
}

// FindBinaries returns the directory holding initdb and pg_ctl: PATH first,
// then Debian's /usr/lib/postgresql/<version>/bin.
func FindBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1]), nil
	}
	return "", errors.New("initdb not found on PATH nor in /usr/lib/postgresql/*/bin")
}

// Start initdb's a cluster in a new temporary directory named after prefix
// and starts it on a free port of 127.0.0.1 with Durability and settings
// (NAME=VALUE, later ones win). On error nothing is left behind.
func Start(ctx context.Context, prefix string, settings ...string) (*Cluster, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	runAs, pgUser, err := asPostgres()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, Settings: append(append([]string{}, Durability...), settings...)}
	if pgUser != nil {
		uid, _ := strconv.Atoi(pgUser.Uid)
		gid, _ := strconv.Atoi(pgUser.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			c.Stop()
			return nil, err
		}
	}
	run := func(args ...string) error {
		args = append(append([]string{}, runAs...), args...)
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		c.Stop()
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		c.Stop()
		return nil, err
	}
	opts := []string{"-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1"}
	for _, s := range c.Settings {
		opts = append(opts, "-c", s)
	}
	pgCtl := filepath.Join(bin, "pg_ctl")
	c.stopCmd = append(append([]string{}, runAs...), pgCtl, "stop", "-m", "immediate", "-D", data)
	if err := run(pgCtl, "start", "-w", "-t", "60", "-D", data, "-l", c.LogPath(), "-o", strings.Join(opts, " ")); err != nil {
		c.Stop()
		return nil, err
	}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c, nil
}

// LogPath is the server log.
func (c *Cluster) LogPath() string { return filepath.Join(c.Dir, "server.log") }

// Stop stops the server (not through any caller's context: it must stop also
// after a cancellation) and removes the directory. It is safe to call more
// than once.
func (c *Cluster) Stop() {
	if c.stopCmd != nil {
		_ = exec.Command(c.stopCmd[0], c.stopCmd[1:]...).Run()
		c.stopCmd = nil
	}
	if c.Dir != "" {
		os.RemoveAll(c.Dir)
		c.Dir = ""
	}
}

// Connect opens url and waits up to 30 s for the server to answer. An error
// names the URL without its password.
func Connect(ctx context.Context, url string) (*sql.DB, error) {
	db, err := sql.Open("postgres", url)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", Redact(url), err)
	}
	return db, nil
}

// WithDatabase returns the connection string url naming database name
// instead of its own: the path of a URL, or a dbname appended to a
// key=value string.
func WithDatabase(url, name string) string {
	u, err := neturl.Parse(url)
	if err != nil || u.Scheme == "" {
		return url + " dbname=" + name
	}
	u.Path = "/" + name
	return u.String()
}

// Redact hides the password of a connection URL; a key=value connection
// string, which it cannot parse, is not shown at all.
func Redact(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil || u.User == nil {
		return "(connection string)"
	}
	return u.Redacted()
}

// asPostgres returns the prefix that runs a command as the postgres user
// when we are root.
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
