package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// server is the PostgreSQL the tests of one binary use.
type server struct {
	adminURL  string
	admin     *sql.DB
	dir       string // throwaway cluster's directory; empty for an external server
	pgCtl     []string
	templates []string
	// templateFingerprint and truncate serve the pool of migrated databases.
	templateFingerprint string
	truncate            string
}

func start() (*server, error) {
	if u := os.Getenv(EnvURL); u != "" {
		return connect(&server{adminURL: u})
	}
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	return startCluster(bin)
}

func connect(s *server) (*server, error) {
	db, err := sql.Open("postgres", s.adminURL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", redact(s.adminURL), err)
	}
	s.admin = db
	return s, nil
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
	return "", errors.New("initdb not found on PATH nor in /usr/lib/postgresql/*/bin")
}

// asPostgres prefixes a command so that it runs as the postgres user when we
// are root (PostgreSQL refuses to run as root).
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

func startCluster(bin string) (*server, error) {
	prefix, pgUser, err := asPostgres()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "masstore-pgtest-")
	if err != nil {
		return nil, err
	}
	if pgUser != nil {
		uid, _ := strconv.Atoi(pgUser.Uid)
		gid, _ := strconv.Atoi(pgUser.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	run := func(args ...string) error {
		cmd := exec.Command(args[0], args[1:]...)
		if prefix != nil {
			cmd = exec.Command(prefix[0], append(prefix[1:], args...)...)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", filepath.Base(args[0]), err, out)
		}
		return nil
	}
	if err := run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	opts := strings.Join([]string{
		"-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300",
	}, " ")
	pgCtl := filepath.Join(bin, "pg_ctl")
	if err := run(pgCtl, "start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(dir, "server.log"), "-o", opts); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &server{
		adminURL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port),
		dir:      dir,
		pgCtl:    append(append([]string{}, prefix...), pgCtl, "stop", "-m", "immediate", "-D", data),
	}
	if _, err := connect(s); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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
	if s.dir == "" {
		return
	}
	_ = exec.Command(s.pgCtl[0], s.pgCtl[1:]...).Run()
	os.RemoveAll(s.dir)
}

// urlFor returns the admin URL with the database name replaced.
func (s *server) urlFor(name string) string {
	u, err := url.Parse(s.adminURL)
	if err != nil || u.Scheme == "" {
		// A key=value connection string.
		return s.adminURL + " dbname=" + name
	}
	u.Path = "/" + name
	return u.String()
}

// redact hides the password of a connection URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return "(connection string)"
	}
	return u.Redacted()
}
