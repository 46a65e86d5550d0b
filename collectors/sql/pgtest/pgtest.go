// Package pgtest starts a private PostgreSQL server for tests: Debian's server binaries, a
// temporary data directory, 127.0.0.1 on a free port, the unix socket inside the temporary
// directory, password (SCRAM) authentication over TCP and trust over the private socket for
// the superuser that sets up fixtures. initdb and postgres refuse to run as root, so when
// the tests run as root the server runs as the postgres OS user.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotInstalled is returned when no PostgreSQL server binaries are found; tests skip on it.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL server binaries (initdb, postgres) not found: install Debian's postgresql package or set PG_BINDIR")

// Superuser is the superuser initdb creates; it connects only over the private socket.
const Superuser = "gkadmin"

// Server is a running private PostgreSQL server.
type Server struct {
	Dir       string // temporary root: data/, sock/ and postgres.log; removed by Stop
	SocketDir string // where the unix socket is
	Port      int    // TCP port on 127.0.0.1 (and the socket's port number)
	BinDir    string // where initdb and postgres were found

	cmd    *exec.Cmd
	exited chan struct{}
	log    string
}

// BinDir finds the server binaries: $PG_BINDIR, else the newest /usr/lib/postgresql/*/bin.
func BinDir() (string, error) {
	ok := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if d := os.Getenv("PG_BINDIR"); d != "" {
		if ok(d) {
			return d, nil
		}
		return "", fmt.Errorf("%w (PG_BINDIR=%s has no initdb and postgres)", ErrNotInstalled, d)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		return n
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if ok(d) {
			return d, nil
		}
	}
	return "", ErrNotInstalled
}

// Start initialises a cluster in a new temporary directory and starts the server. It
// returns ErrNotInstalled (wrapped) when the binaries are missing. Call Stop when done.
func Start(ctx context.Context) (_ *Server, err error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tempParent(cred), "gatekeeper-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{Dir: dir, SocketDir: filepath.Join(dir, "sock"), BinDir: bin, log: filepath.Join(dir, "postgres.log")}
	defer func() {
		if err != nil {
			_ = s.Stop()
		}
	}()
	for _, d := range []string{s.SocketDir, filepath.Join(dir, "data")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	if cred != nil {
		for _, d := range []string{dir, s.SocketDir, filepath.Join(dir, "data")} {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, fmt.Errorf("pgtest: chown %s to postgres: %w", d, err)
			}
		}
	}

	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", filepath.Join(dir, "data"), "-U", Superuser, "-E", "UTF8", "--locale=C",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync")
	s.prepare(initdb, cred)
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}

	if s.Port, err = freePort(); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close()
	s.cmd = exec.Command(filepath.Join(bin, "postgres"),
		"-D", filepath.Join(dir, "data"), "-k", s.SocketDir, "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port),
		// A throwaway cluster: durability off, small footprint.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=40", "-c", "shared_buffers=16MB", "-c", "log_min_messages=warning")
	s.prepare(s.cmd, cred)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// If the test binary dies (a -timeout panic, a kill), the postmaster shuts down immediately.
	s.cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("pgtest: start postgres: %w", err)
	}
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.exited) }()

	if err := s.waitReady(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	return s, nil
}

// prepare runs cmd in the server's directory, as postgres when we are root, in the C locale.
func (s *Server) prepare(cmd *exec.Cmd, cred *syscall.Credential) {
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
}

// waitReady polls the socket until the server accepts the superuser, or fails with its log.
func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("pgtest: postgres exited during startup:\n%s", s.Log())
		case <-ctx.Done():
			return fmt.Errorf("pgtest: waiting for postgres: %w", ctx.Err())
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := s.Connect(cctx, "postgres")
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			return nil
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("pgtest: postgres not ready after %v: %v\n%s", limit, last, s.Log())
}

// Log returns the server's log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// Stop shuts the server down (fast shutdown, then immediate, then kill) and removes its directory.
func (s *Server) Stop() error {
	if s == nil {
		return nil
	}
	if s.cmd != nil && s.cmd.Process != nil && s.exited != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Signal(syscall.SIGQUIT)
			select {
			case <-s.exited:
			case <-time.After(5 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.exited
			}
		}
	}
	if s.Dir == "" {
		return nil
	}
	return os.RemoveAll(s.Dir)
}

// Connect opens a superuser connection to database db over the private socket.
func (s *Server) Connect(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Database, cfg.Password = s.SocketDir, uint16(s.Port), Superuser, db, ""
	cfg.Fallbacks = nil
	cfg.TLSConfig = nil
	return pgx.ConnectConfig(ctx, cfg)
}

// Exec runs sql, which may hold several statements, as the superuser in database db.
func (s *Server) Exec(ctx context.Context, db, sql string) error {
	conn, err := s.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	return err
}

// URL is a DSN reaching database db over TCP as user with password.
func (s *Server) URL(user, password, db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// KeywordDSN is the keyword/value form of URL.
func (s *Server) KeywordDSN(user, password, db string) string {
	q := func(v string) string { return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'" }
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s dbname=%s sslmode=disable", s.Port, q(user), q(password), q(db))
}

// credential is who runs initdb and postgres: the postgres OS user when we are root
// (both refuse root), else ourselves (nil).
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, and initdb refuses root, but there is no postgres OS user to run it as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgtest: postgres user: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// tempParent is where the temporary directory goes: $PGTEST_DIR when set; else /dev/shm
// when it is a memory file system with room (creating a database from a template there takes
// milliseconds, on a slow disk hundreds); else os.TempDir(), or /tmp when the postgres user
// could not reach os.TempDir() (say TMPDIR under /root). A short path also keeps the socket
// path within the kernel's limit.
func tempParent(cred *syscall.Credential) string {
	if d := os.Getenv("PGTEST_DIR"); d != "" {
		return d
	}
	var st syscall.Statfs_t
	const tmpfsMagic = 0x01021994
	if err := syscall.Statfs("/dev/shm", &st); err == nil && st.Type == tmpfsMagic &&
		st.Bavail*uint64(st.Bsize) >= 512<<20 && syscall.Access("/dev/shm", 0o7) == nil {
		return "/dev/shm"
	}
	d := os.TempDir()
	if cred == nil {
		return d
	}
	for p := d; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return "/tmp"
		}
		st, _ := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm()&0o001 == 0 && (st == nil || st.Uid != cred.Uid) {
			return "/tmp"
		}
		if p == filepath.Dir(p) {
			return d
		}
	}
}

// freePort asks the kernel for a free loopback TCP port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// QuoteLiteral quotes s as an SQL string literal (standard_conforming_strings on).
func QuoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
