//! A real PostgreSQL for tests: Debian's `postgresql` (its `initdb` and `postgres` from
//! `pg_config --bindir`), a fresh cluster in a temp dir, started on 127.0.0.1 and a free
//! port with password (SCRAM) authentication for a test user who owns a test database,
//! and stopped by its PID when dropped, even on a failed test.
//!
//! ```ignore
//! let Some(pg) = Postgres::start() else { return };  // skipped (or, in CI, failed)
//! let url = pg.url();                                   // postgres://user:password@127.0.0.1:PORT/db
//! assert_eq!(pg.query("SELECT count(*) FROM layers"), "3");
//! ```
//!
//! PostgreSQL refuses to run as root and tests run as root in CI, so when they do the
//! cluster belongs to the `postgres` system user (the Debian package creates it) and the
//! server runs as that user: the child process is the postmaster itself, so its PID is
//! the one to signal.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::registry::{free_port, run};
use super::tools::tools;

/// The database user tests connect as; not a superuser, as a deployed worker would not be.
pub const USER: &str = "layerscope";
/// The database that user owns.
pub const DATABASE: &str = "fleet";

/// A running PostgreSQL cluster; stopped (fast shutdown, then SIGKILL) when dropped.
pub struct Postgres {
    child: Child,
    pub port: u16,
    /// The test user's password (random per cluster): in [`Postgres::url`], never in argv.
    pub password: String,
    superuser_password: String,
    bindir: PathBuf,
    // Dropped after the server is stopped (fields drop after `Drop::drop`).
    dir: tempfile::TempDir,
}

impl Postgres {
    /// A new cluster, running and answering queries; `None` (with a note) where PostgreSQL
    /// is not installed, a failure under `CI`.
    pub fn start() -> Option<Postgres> {
        if !tools(&["pg_config", "psql", "pg_isready"], "postgresql") {
            return None;
        }
        let bindir = PathBuf::from(
            String::from_utf8(run(Command::new("pg_config").arg("--bindir")).stdout)
                .unwrap()
                .trim(),
        );
        if !bindir.join("initdb").is_file() {
            // pg_config comes from libpq-dev too; the server binaries from postgresql.
            assert!(
                std::env::var_os("CI").is_none(),
                "no initdb in {}: .ci/run installs postgresql",
                bindir.display()
            );
            eprintln!(
                "note: no PostgreSQL server in {}; test skipped",
                bindir.display()
            );
            return None;
        }
        let owner = Owner::current();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let sockets = dir.path().join("sock");
        std::fs::create_dir(&data).unwrap();
        std::fs::create_dir(&sockets).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
        let superuser_password = random_password();
        let password = random_password();
        // initdb reads the superuser's password from a file so it is never in argv.
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, format!("{superuser_password}\n")).unwrap();
        owner.give(dir.path());
        owner.give(&data);
        owner.give(&sockets);
        owner.give(&pwfile);

        let mut initdb = owner.command(bindir.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", pwfile.display()));
        run(&mut initdb);
        std::fs::remove_file(&pwfile).unwrap();

        let port = free_port();
        let log = std::fs::File::create(dir.path().join("postgres.log")).unwrap();
        owner.give(&dir.path().join("postgres.log"));
        let child = owner
            .command(bindir.join("postgres"))
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&sockets)
            .args(["-p", &port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            // A throwaway cluster: durability costs time and buys nothing here.
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "shared_buffers=16MB"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start postgres");
        let mut postgres = Postgres {
            child,
            port,
            password,
            superuser_password,
            bindir,
            dir,
        };
        postgres.wait_until_it_answers();
        // The test user and its database, made by the superuser over TCP with its password.
        postgres.superuser_sql(
            "CREATE ROLE",
            &format!("CREATE ROLE {USER} LOGIN PASSWORD '{}'", postgres.password),
        );
        let create = format!("CREATE DATABASE {DATABASE} OWNER {USER}");
        postgres.superuser_sql(&create, &create);
        Some(postgres)
    }

    /// `postgres://layerscope:PASSWORD@127.0.0.1:PORT/fleet`, what `--db` (or
    /// `LAYERSCOPE_FLEET_DB`) takes.
    pub fn url(&self) -> String {
        self.url_with_password(&self.password)
    }

    /// The same URL with another password, for the wrong-credentials test.
    pub fn url_with_password(&self, password: &str) -> String {
        format!(
            "postgres://{USER}:{password}@127.0.0.1:{}/{DATABASE}",
            self.port
        )
    }

    /// The URL without a password: what may appear in output (the password is what must not).
    pub fn url_without_password(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// The server's PID, for a test that kills it to make the database unreachable.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's log (connections, errors), to assert nothing secret reached it.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    /// `psql` as the test user: runs `sql` and returns its output unaligned, tuples only
    /// (`-At`: one row a line, columns separated by `|`), trimmed; panics if psql fails.
    /// The oracle for what a database holds.
    pub fn query(&self, sql: &str) -> String {
        let output = succeed(self.psql(USER, &self.password, DATABASE, sql), sql);
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }

    /// `psql` as the test user, its output whatever it is (for statements expected to fail).
    pub fn psql_output(&self, sql: &str) -> Output {
        self.psql(USER, &self.password, DATABASE, sql)
            .output()
            .expect("run psql")
    }

    /// `sql` as the superuser; `what` names it in a failure (the SQL may hold a password).
    fn superuser_sql(&self, what: &str, sql: &str) {
        succeed(
            self.psql("postgres", &self.superuser_password, "postgres", sql),
            what,
        );
    }

    fn psql(&self, user: &str, password: &str, database: &str, sql: &str) -> Command {
        let mut command = Command::new(self.bindir.join("psql"));
        command
            .args(["-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
            .args(["-p", &self.port.to_string(), "-U", user, "-d", database])
            .args(["-c", sql])
            // The password by environment, never in argv; no ~/.pgpass or service file.
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "10")
            .env_remove("PGSERVICE")
            .env("PGPASSFILE", "/nonexistent")
            .stdin(Stdio::null());
        command
    }

    fn wait_until_it_answers(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "postgres exited ({status}) before answering:\n{}",
                    self.log()
                );
            }
            // pg_isready: 0 accepting connections, 1 starting up, 2 no answer.
            let ready = Command::new(self.bindir.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .args(["-U", "postgres", "-d", "postgres", "-t", "2"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "postgres did not answer on port {}:\n{}",
            self.port,
            self.log()
        );
    }

    /// Stops the server by its PID: SIGINT (fast shutdown: backends end, shared memory is
    /// released), then SIGKILL if it is still there after ten seconds.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on our own child's PID, which is not reaped yet, so not reused.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Who owns the cluster: this user, or, when tests run as root, the `postgres` system user.
struct Owner {
    ids: Option<(u32, u32)>,
}

impl Owner {
    fn current() -> Owner {
        // SAFETY: getuid has no preconditions.
        if unsafe { libc::getuid() } != 0 {
            return Owner { ids: None };
        }
        let name = std::ffi::CString::new("postgres").unwrap();
        // SAFETY: getpwnam with a valid C string; the fields are copied out before any
        // other passwd call could overwrite the static buffer.
        let entry = unsafe { libc::getpwnam(name.as_ptr()) };
        assert!(
            !entry.is_null(),
            "tests run as root and there is no `postgres` user to run PostgreSQL as (Debian's postgresql creates it)"
        );
        // SAFETY: non-null, as checked.
        let ids = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
        Owner { ids: Some(ids) }
    }

    /// A command run as the owner (std drops root's supplementary groups with the uid).
    fn command(&self, program: PathBuf) -> Command {
        let mut command = Command::new(program);
        if let Some((uid, gid)) = self.ids {
            command.uid(uid).gid(gid);
        }
        command
    }

    fn give(&self, path: &Path) {
        if let Some((uid, gid)) = self.ids {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
        }
    }
}

/// 32 hex digits from the standard library's per-process random hash keys: URL-safe, so
/// it goes into a connection URL unescaped.
fn random_password() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    for round in 0..2u64 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(round);
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos(),
        );
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out
}

/// Runs psql and panics if it fails, naming `what` it ran and psql's stderr but not the
/// command, whose Debug form would print PGPASSWORD.
fn succeed(mut psql: Command, what: &str) -> Output {
    let output = psql.output().expect("run psql");
    assert!(
        output.status.success(),
        "psql failed on {what:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
