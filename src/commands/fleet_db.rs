//! `fleet --db URL`: the fleet database (docs/fleet-db.md). Each distinct layer's parse is
//! stored once, keyed by diff_id, so that no run and no worker parses it again; each
//! image's facts are stored in its scan (the ordered input list), so that `fleet report`
//! prints the set from the database alone. SQLite for one machine, PostgreSQL for many;
//! one schema, versioned, migrated at connect.
//!
//! The load does not know the database: it asks a [`LayerStore`] (this [`Db`]) for a
//! layer before parsing it, and a worker claims a layer with a lease before parsing it.

use crate::analysis::fleet::ImageFacts;
use crate::analysis::packages::{self, Package};
use crate::analysis::secrets::{self, Hit};
use crate::error::{Error, Result};
use crate::layer::{EntryKind, Meta, ParsedLayer, Record, Span};
use crate::load::LayerStore;
use crate::source::Compression;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The schema this binary writes; a database at a later version is refused.
pub const SCHEMA_VERSION: i64 = 2;

/// How long a claim on a layer lasts: past it, another worker takes the layer over.
pub const LEASE_SECONDS: i64 = 300;

/// How often a layer another worker holds is looked at again.
const POLL: Duration = Duration::from_millis(250);

/// Bytes a stored parse may decompress to: the blob is read back into memory whole.
pub const MAX_STORED_PARSE_BYTES: usize = 1 << 30;

/// How long a PostgreSQL server has to answer a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The migrations, in order: migration `n` takes a database from version `n` to `n + 1`.
/// `{blob}` is the binary column type (SQLite BLOB, PostgreSQL BYTEA). Version 2 adds each
/// image's packages; the layers version 1 stored kept no package databases in their
/// parses, so it drops them, to be parsed again.
const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE layers (
    diff_id TEXT PRIMARY KEY,
    compressed_download BIGINT NOT NULL,
    layer_content BIGINT NOT NULL,
    files BIGINT NOT NULL,
    secret_findings BIGINT NOT NULL,
    parse {blob} NOT NULL,
    parsed_by TEXT NOT NULL,
    parsed_at BIGINT NOT NULL,
    parse_count BIGINT NOT NULL
);
CREATE TABLE leases (
    diff_id TEXT PRIMARY KEY,
    worker TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE scans (
    scan_id TEXT PRIMARY KEY,
    images BIGINT NOT NULL,
    skipped TEXT NOT NULL,
    started_at BIGINT NOT NULL
);
CREATE TABLE scan_images (
    scan_id TEXT NOT NULL REFERENCES scans (scan_id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    platform TEXT NOT NULL,
    config_digest TEXT NOT NULL,
    layers TEXT NOT NULL,
    facts TEXT NOT NULL,
    error TEXT NOT NULL,
    worker TEXT NOT NULL,
    stored_at BIGINT NOT NULL,
    PRIMARY KEY (scan_id, position)
);
",
    "
DELETE FROM layers;
CREATE TABLE image_packages (
    scan_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    manager TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    arch TEXT NOT NULL,
    layer BIGINT NOT NULL,
    layer_diff_id TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    PRIMARY KEY (scan_id, position, manager, name)
);
CREATE INDEX image_packages_by_name ON image_packages (name, version);
",
];

/// A value bound to or read from a statement. Columns are never NULL.
#[derive(Debug, Clone)]
enum V {
    I(i64),
    T(String),
    B(Vec<u8>),
}

impl V {
    fn int(&self) -> i64 {
        match self {
            V::I(i) => *i,
            _ => 0,
        }
    }

    fn text(self) -> String {
        match self {
            V::T(t) => t,
            _ => String::new(),
        }
    }

    fn bytes(self) -> Vec<u8> {
        match self {
            V::B(b) => b,
            V::T(t) => t.into_bytes(),
            V::I(_) => Vec::new(),
        }
    }
}

/// The statements both databases run; errors are one-line details.
trait Sql {
    fn exec(&mut self, sql: &str, params: &[V]) -> std::result::Result<u64, String>;
    fn rows(&mut self, sql: &str, params: &[V]) -> std::result::Result<Vec<Vec<V>>, String>;
    fn batch(&mut self, sql: &str) -> std::result::Result<(), String>;
}

impl rusqlite::ToSql for V {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(match self {
            V::I(i) => (*i).into(),
            V::T(t) => t.as_str().into(),
            V::B(b) => b.as_slice().into(),
        })
    }
}

impl Sql for rusqlite::Connection {
    fn exec(&mut self, sql: &str, params: &[V]) -> std::result::Result<u64, String> {
        self.execute(sql, rusqlite::params_from_iter(params))
            .map(|n| n as u64)
            .map_err(|e| e.to_string())
    }

    fn rows(&mut self, sql: &str, params: &[V]) -> std::result::Result<Vec<Vec<V>>, String> {
        let mut statement = self.prepare(sql).map_err(|e| e.to_string())?;
        let columns = statement.column_count();
        let rows = statement
            .query_map(rusqlite::params_from_iter(params), |row| {
                (0..columns)
                    .map(|i| {
                        use rusqlite::types::ValueRef;
                        Ok(match row.get_ref(i)? {
                            ValueRef::Integer(i) => V::I(i),
                            ValueRef::Text(t) => V::T(String::from_utf8_lossy(t).into_owned()),
                            ValueRef::Blob(b) => V::B(b.to_vec()),
                            ValueRef::Real(r) => V::I(r as i64),
                            ValueRef::Null => V::T(String::new()),
                        })
                    })
                    .collect::<rusqlite::Result<Vec<V>>>()
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| e.to_string())
    }

    fn batch(&mut self, sql: &str) -> std::result::Result<(), String> {
        self.execute_batch(sql).map_err(|e| e.to_string())
    }
}

impl Sql for postgres::Transaction<'_> {
    fn exec(&mut self, sql: &str, params: &[V]) -> std::result::Result<u64, String> {
        self.execute(sql, &pg_params(params)).map_err(pg_error)
    }

    fn rows(&mut self, sql: &str, params: &[V]) -> std::result::Result<Vec<Vec<V>>, String> {
        use postgres::types::Type;
        let rows = self.query(sql, &pg_params(params)).map_err(pg_error)?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        let ty = row.columns()[i].type_().clone();
                        Ok(if ty == Type::INT8 {
                            V::I(row.try_get(i).map_err(pg_error)?)
                        } else if ty == Type::INT4 {
                            V::I(row.try_get::<_, i32>(i).map_err(pg_error)?.into())
                        } else if ty == Type::BYTEA {
                            V::B(row.try_get(i).map_err(pg_error)?)
                        } else {
                            V::T(row.try_get(i).map_err(pg_error)?)
                        })
                    })
                    .collect()
            })
            .collect()
    }

    fn batch(&mut self, sql: &str) -> std::result::Result<(), String> {
        self.batch_execute(sql).map_err(pg_error)
    }
}

fn pg_params(params: &[V]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|v| match v {
            V::I(i) => i as &(dyn postgres::types::ToSql + Sync),
            V::T(t) => t,
            V::B(b) => b,
        })
        .collect()
}

/// A PostgreSQL error on one line: the server's message when it sent one (it never
/// repeats a password), else the client's.
fn pg_error(error: postgres::Error) -> String {
    let text = match error.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => error.to_string(),
    };
    one_line(&text)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

enum Conn {
    Sqlite(Mutex<rusqlite::Connection>),
    Postgres(Mutex<postgres::Client>),
}

/// An open fleet database, migrated to [`SCHEMA_VERSION`]. It is the run's [`LayerStore`]:
/// errors met while the load uses it are kept and returned by [`Db::check`].
pub struct Db {
    conn: Conn,
    /// What errors name: the file, or user@host:port/database (never the password).
    target: String,
    /// Who holds this run's leases ([`worker_id`]).
    worker: String,
    /// The first error met by the store while the load ran.
    failed: Mutex<Option<Error>>,
}

/// A scan: the ordered input list, keyed by its hash so that every worker of one job
/// writes into the same one.
pub struct Scan {
    pub id: String,
    pub images: usize,
}

impl Scan {
    pub fn of(names: &[String]) -> Scan {
        let mut hash = Sha256::new();
        for name in names {
            hash.update(name.as_bytes());
            hash.update(b"\n");
        }
        Scan {
            id: hex::encode(hash.finalize()),
            images: names.len(),
        }
    }
}

/// A stored scan: its images in input order, and the Compose services it skipped
/// (service, reason).
pub struct StoredScan {
    pub images: Vec<StoredImage>,
    pub skipped: Vec<(String, String)>,
}

/// One image of a scan as stored: its facts, or the error it failed with.
pub struct StoredImage {
    pub name: String,
    pub facts: Option<ImageFacts>,
    pub error: String,
}

/// Columns of an `image_packages` row, and rows an insert carries (SQLite and PostgreSQL
/// both take this many parameters in one statement).
const PACKAGE_COLUMNS: usize = 9;
const PACKAGE_ROWS_PER_INSERT: usize = 500;

/// An image's packages as `image_packages` rows. Names and versions come from the image's
/// own databases, so they are escaped as every name from an image is.
fn package_rows(
    scan: &Scan,
    position: usize,
    facts: &ImageFacts,
    packages: &[Package],
) -> Vec<Vec<V>> {
    use crate::escape::escape_str;
    packages
        .iter()
        .map(|p| {
            let layer = facts.layers.get(p.layer).map_or("", |l| l.key.as_str());
            vec![
                V::T(scan.id.clone()),
                V::I(position as i64),
                V::T(p.manager.name().to_string()),
                V::T(escape_str(&p.name).into_owned()),
                V::T(escape_str(&p.version).into_owned()),
                V::T(escape_str(&p.arch).into_owned()),
                V::I(p.layer as i64),
                V::T(layer.to_string()),
                V::I(p.bytes.min(i64::MAX as u64) as i64),
            ]
        })
        .collect()
}

/// Seconds since the epoch, on this worker's clock (leases compare the workers' clocks).
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The worker id leases are held under: the shard, so that a worker run again for the same
/// shard (a retried Job index) takes its own leases back at once; else this host and process.
pub fn worker_id(shard: Option<(usize, usize)>) -> String {
    match shard {
        Some((index, count)) => format!("shard {index}/{count}"),
        None => {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
            format!("{} pid {}", host.trim(), std::process::id())
        }
    }
}

impl Db {
    /// Open `url` (`sqlite:PATH`, `postgres://…`, `postgresql://…`) and migrate it.
    pub fn open(url: &str, worker: String) -> Result<Db> {
        let (conn, target) = if let Some(path) = url.strip_prefix("sqlite:") {
            let target = format!("sqlite:{}", crate::escape::escape_str(path));
            let fail = |e: rusqlite::Error| Error::Database {
                target: target.clone(),
                detail: one_line(&e.to_string()),
            };
            let conn = rusqlite::Connection::open(path).map_err(fail)?;
            // Workers of one machine share the file: a writer waits for the other.
            conn.busy_timeout(Duration::from_secs(60)).map_err(fail)?;
            // A run commits a transaction per layer claimed and per image: with the
            // rollback journal each costs fsyncs (3.4 s of 4.5 on 1,000 images). A
            // write-ahead log synced at checkpoints stays consistent on a crash, and what
            // a crash loses a rerun stores again.
            conn.pragma_update(None, "journal_mode", "WAL")
                .and_then(|()| conn.pragma_update(None, "synchronous", "NORMAL"))
                .map_err(fail)?;
            (Conn::Sqlite(Mutex::new(conn)), target)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut config: postgres::Config = url.parse().map_err(|_| Error::Database {
                target: "postgres".into(),
                detail: "not a valid URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE)".into(),
            })?;
            config.connect_timeout(CONNECT_TIMEOUT);
            let target = pg_target(&config);
            let client = config
                .connect(postgres::NoTls)
                .map_err(|e| Error::Database {
                    target: target.clone(),
                    detail: scrub(&pg_error(e), config.get_password()),
                })?;
            (Conn::Postgres(Mutex::new(client)), target)
        } else {
            return Err(Error::Usage(
                "--db: give sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE".into(),
            ));
        };
        let db = Db {
            conn,
            target,
            worker,
            failed: Mutex::new(None),
        };
        db.migrate()?;
        Ok(db)
    }

    /// Run `work` in one transaction: SQLite's `BEGIN IMMEDIATE` takes the write lock
    /// first, so two workers never both read and then write.
    fn tx<R>(
        &self,
        work: impl FnOnce(&mut dyn Sql) -> std::result::Result<R, String>,
    ) -> Result<R> {
        let result = match &self.conn {
            Conn::Sqlite(conn) => {
                let mut conn = lock(conn);
                conn.batch("BEGIN IMMEDIATE")
                    .and_then(|()| match work(&mut *conn) {
                        Ok(r) => conn.batch("COMMIT").map(|()| r),
                        Err(e) => {
                            let _ = conn.batch("ROLLBACK");
                            Err(e)
                        }
                    })
            }
            Conn::Postgres(client) => {
                let mut client = lock(client);
                client.transaction().map_err(pg_error).and_then(|mut tx| {
                    let r = work(&mut tx)?;
                    tx.commit().map_err(pg_error)?;
                    Ok(r)
                })
            }
        };
        result.map_err(|detail| self.error(detail))
    }

    fn error(&self, detail: String) -> Error {
        Error::Database {
            target: self.target.clone(),
            detail,
        }
    }

    fn blob_type(&self) -> &'static str {
        match self.conn {
            Conn::Sqlite(_) => "BLOB",
            Conn::Postgres(_) => "BYTEA",
        }
    }

    /// Bring the schema to [`SCHEMA_VERSION`], in one transaction; refuse a newer one.
    fn migrate(&self) -> Result<()> {
        let postgres = matches!(self.conn, Conn::Postgres(_));
        let blob = self.blob_type();
        let found = self.tx(|sql| {
            if postgres {
                // Workers starting together migrate one after the other.
                sql.rows("SELECT pg_advisory_xact_lock(28028)::text", &[])?;
            }
            sql.batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
            let rows = sql.rows("SELECT version FROM schema_version", &[])?;
            let version = match rows.first() {
                Some(row) => row[0].int(),
                None => {
                    sql.exec("INSERT INTO schema_version (version) VALUES (0)", &[])?;
                    0
                }
            };
            if version > SCHEMA_VERSION {
                return Ok(version);
            }
            for migration in &MIGRATIONS[version as usize..] {
                sql.batch(&migration.replace("{blob}", blob))?;
            }
            sql.exec(
                "UPDATE schema_version SET version = $1",
                &[V::I(SCHEMA_VERSION)],
            )?;
            Ok(version)
        })?;
        if found > SCHEMA_VERSION {
            return Err(self.error(format!(
                "schema version {found} is newer than this layerscope knows ({SCHEMA_VERSION}); use a newer layerscope"
            )));
        }
        Ok(())
    }

    /// Extend every lease this worker holds to a full [`LEASE_SECONDS`] from now.
    fn renew(&self) -> Result<()> {
        let now = now();
        self.tx(|sql| {
            sql.exec(
                "UPDATE leases SET expires_at = $1 WHERE worker = $2",
                &[V::I(now + LEASE_SECONDS), V::T(self.worker.clone())],
            )
        })
        .map(|_| ())
    }

    /// Renew this worker's leases every third of a lease while `db` is alive, so that a
    /// parse longer than a lease keeps its claim; a dead worker's leases then expire one
    /// lease after its last renewal.
    pub fn keep_leases(db: &Arc<Db>) {
        let db = Arc::downgrade(db);
        std::thread::spawn(move || {
            let tick = Duration::from_secs(1);
            let mut waited = 0;
            loop {
                std::thread::sleep(tick);
                let Some(db) = db.upgrade() else { return };
                waited += 1;
                if waited >= LEASE_SECONDS / 3 {
                    waited = 0;
                    if let Err(error) = db.renew() {
                        db.keep_error(error);
                    }
                }
            }
        });
    }

    /// The first error the store met while the load ran.
    pub fn check(&self) -> Result<()> {
        match lock(&self.failed).take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn keep_error(&self, error: Error) {
        lock(&self.failed).get_or_insert(error);
    }

    /// Record the scan (once: every worker of the job names the same one).
    pub fn start_scan(&self, scan: &Scan, skipped: &[(String, String)]) -> Result<()> {
        let skipped = serde_json::to_string(skipped).unwrap_or_default();
        self.tx(|sql| {
            sql.exec(
                "INSERT INTO scans (scan_id, images, skipped, started_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (scan_id) DO NOTHING",
                &[
                    V::T(scan.id.clone()),
                    V::I(scan.images as i64),
                    V::T(skipped),
                    V::I(now()),
                ],
            )
        })
        .map(|_| ())
    }

    /// Store one image of a scan at its position: its facts, or the error it failed with.
    pub fn store_image(
        &self,
        scan: &Scan,
        position: usize,
        name: &str,
        loaded: std::result::Result<(&ImageFacts, String, String), &str>,
        packages: &[Package],
    ) -> Result<()> {
        let rows = match loaded {
            Ok((facts, _, _)) => package_rows(scan, position, facts, packages),
            Err(_) => Vec::new(),
        };
        let (platform, config_digest, layers, facts, error) = match loaded {
            Ok((facts, platform, config_digest)) => {
                let keys: Vec<&str> = facts.layers.iter().map(|l| l.key.as_str()).collect();
                (
                    platform,
                    config_digest,
                    serde_json::to_string(&keys).unwrap_or_default(),
                    serde_json::to_string(facts).unwrap_or_default(),
                    String::new(),
                )
            }
            Err(error) => (
                String::new(),
                String::new(),
                "[]".into(),
                String::new(),
                error.to_string(),
            ),
        };
        self.tx(|sql| {
            sql.exec(
                "INSERT INTO scan_images (scan_id, position, name, platform, config_digest, layers, \
                 facts, error, worker, stored_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (scan_id, position) DO UPDATE SET name = excluded.name, \
                 platform = excluded.platform, config_digest = excluded.config_digest, \
                 layers = excluded.layers, facts = excluded.facts, error = excluded.error, \
                 worker = excluded.worker, stored_at = excluded.stored_at",
                &[
                    V::T(scan.id.clone()),
                    V::I(position as i64),
                    V::T(name.to_string()),
                    V::T(platform),
                    V::T(config_digest),
                    V::T(layers),
                    V::T(facts),
                    V::T(error),
                    V::T(self.worker.clone()),
                    V::I(now()),
                ],
            )?;
            sql.exec(
                "DELETE FROM image_packages WHERE scan_id = $1 AND position = $2",
                &[V::T(scan.id.clone()), V::I(position as i64)],
            )?;
            // Many rows a statement: one round trip per package would be most of a run.
            for chunk in rows.chunks(PACKAGE_ROWS_PER_INSERT) {
                let values: Vec<String> = (0..chunk.len())
                    .map(|row| {
                        let at = row * PACKAGE_COLUMNS;
                        let params: Vec<String> =
                            (1..=PACKAGE_COLUMNS).map(|c| format!("${}", at + c)).collect();
                        format!("({})", params.join(", "))
                    })
                    .collect();
                sql.exec(
                    &format!(
                        "INSERT INTO image_packages (scan_id, position, manager, name, version, \
                         arch, layer, layer_diff_id, bytes) VALUES {}",
                        values.join(", ")
                    ),
                    &chunk.concat(),
                )?;
            }
            Ok(0)
        })
        .map(|_| ())
    }

    /// The scan of `names`, or when none are given the one started last; with its
    /// Compose services skipped and its images in input order. A scan with images not
    /// stored yet is an error that says how many.
    pub fn read_scan(&self, names: Option<&[String]>) -> Result<StoredScan> {
        let wanted = names.map(Scan::of);
        let (scan, images) = self.tx(|sql| {
            let scans = match &wanted {
                Some(scan) => sql.rows(
                    "SELECT scan_id, images, skipped FROM scans WHERE scan_id = $1",
                    &[V::T(scan.id.clone())],
                )?,
                None => sql.rows(
                    "SELECT scan_id, images, skipped FROM scans ORDER BY started_at DESC, scan_id LIMIT 1",
                    &[],
                )?,
            };
            let Some(scan) = scans.into_iter().next() else {
                return Ok(None);
            };
            let mut scan = scan.into_iter();
            let (id, count, skipped) = (
                scan.next().map(V::text).unwrap_or_default(),
                scan.next().map_or(0, |v| v.int()),
                scan.next().map(V::text).unwrap_or_default(),
            );
            let rows = sql.rows(
                "SELECT name, facts, error FROM scan_images WHERE scan_id = $1 ORDER BY position",
                &[V::T(id)],
            )?;
            Ok(Some(((count, skipped), rows)))
        })?
        .ok_or_else(|| {
            self.error(match names {
                Some(names) => format!("no scan of these {} images", names.len()),
                None => "no scan stored".into(),
            })
        })?;
        let (count, skipped) = scan;
        if (images.len() as i64) < count {
            return Err(self.error(format!(
                "{} of the scan's {count} images are not stored yet (run the workers of every shard)",
                count - images.len() as i64
            )));
        }
        let skipped = serde_json::from_str(&skipped).unwrap_or_default();
        let images = images
            .into_iter()
            .map(|row| {
                let mut row = row.into_iter();
                let name = row.next().map(V::text).unwrap_or_default();
                let facts = row.next().map(V::text).unwrap_or_default();
                let error = row.next().map(V::text).unwrap_or_default();
                let facts = if error.is_empty() {
                    Some(serde_json::from_str(&facts).map_err(|e| {
                        self.error(format!(
                            "the facts of {} do not read: {e}",
                            crate::escape::escape_str(&name)
                        ))
                    })?)
                } else {
                    None
                };
                Ok(StoredImage { name, facts, error })
            })
            .collect::<Result<_>>()?;
        Ok(StoredScan { images, skipped })
    }

    /// The stored parse of `diff_id`, decoded.
    fn stored(
        &self,
        sql: &mut dyn Sql,
        diff_id: &str,
    ) -> std::result::Result<Option<Vec<u8>>, String> {
        let rows = sql.rows(
            "SELECT parse FROM layers WHERE diff_id = $1",
            &[V::T(diff_id.to_string())],
        )?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .map(V::bytes))
    }

    /// One try at a layer: its stored parse, the lease taken (`Ok(None)`), or another
    /// worker's live lease (`Err` with when it ends).
    fn try_layer(&self, diff_id: &str) -> Result<std::result::Result<Option<Vec<u8>>, i64>> {
        let now = now();
        self.tx(|sql| {
            if let Some(blob) = self.stored(sql, diff_id)? {
                return Ok(Ok(Some(blob)));
            }
            // Taken when free, expired, or already this worker's (a rerun of its shard).
            let taken = sql.exec(
                "INSERT INTO leases (diff_id, worker, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (diff_id) DO UPDATE SET worker = excluded.worker, \
                 expires_at = excluded.expires_at \
                 WHERE leases.expires_at <= $4 OR leases.worker = excluded.worker",
                &[
                    V::T(diff_id.to_string()),
                    V::T(self.worker.clone()),
                    V::I(now + LEASE_SECONDS),
                    V::I(now),
                ],
            )?;
            if taken == 1 {
                // Looked at again under the lease: a worker may have stored it meanwhile
                // (and then the lease is not needed).
                if let Some(blob) = self.stored(sql, diff_id)? {
                    self.unlease(sql, diff_id)?;
                    return Ok(Ok(Some(blob)));
                }
                return Ok(Ok(None));
            }
            let rows = sql.rows(
                "SELECT expires_at FROM leases WHERE diff_id = $1",
                &[V::T(diff_id.to_string())],
            )?;
            Ok(Err(rows.first().map_or(now, |r| r[0].int())))
        })
    }

    fn fetch_or_claim_result(&self, diff_id: &str) -> Result<Option<ParsedLayer>> {
        // Bounded: a live lease ends by its expiry, and is then taken over.
        let deadline = now() + LEASE_SECONDS + 1;
        loop {
            match self.try_layer(diff_id)? {
                Ok(Some(blob)) => {
                    return decode(&blob).map(Some).map_err(|detail| {
                        self.error(format!(
                            "the stored parse of layer {} does not read: {detail}",
                            crate::escape::escape_str(diff_id)
                        ))
                    })
                }
                Ok(None) => return Ok(None),
                Err(_) if now() > deadline => return Ok(None),
                Err(_) => std::thread::sleep(POLL),
            }
        }
    }

    fn store_result(&self, diff_id: &str, parsed: &ParsedLayer) -> Result<()> {
        let blob = encode(parsed).map_err(|e| self.error(e))?;
        let files = parsed
            .records
            .iter()
            .filter(|r| r.meta.kind == EntryKind::File)
            .count();
        let content = parsed
            .records
            .iter()
            .map(|r| r.meta.size)
            .fold(0, u64::saturating_add);
        let findings: usize = parsed
            .found
            .iter()
            .map(|(_, f)| {
                crate::layer::found_as::<Vec<Hit>>(f)
                    .map(Vec::len)
                    .sum::<usize>()
            })
            .sum();
        let now = now();
        self.tx(|sql| {
            sql.exec(
                "INSERT INTO layers (diff_id, compressed_download, layer_content, files, \
                 secret_findings, parse, parsed_by, parsed_at, parse_count) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1) \
                 ON CONFLICT (diff_id) DO UPDATE SET parse_count = layers.parse_count + 1, \
                 parsed_by = excluded.parsed_by, parsed_at = excluded.parsed_at",
                &[
                    V::T(diff_id.to_string()),
                    V::I(parsed.compressed_bytes as i64),
                    V::I(content as i64),
                    V::I(files as i64),
                    V::I(findings as i64),
                    V::B(blob),
                    V::T(self.worker.clone()),
                    V::I(now),
                ],
            )?;
            self.unlease(sql, diff_id)
        })
    }

    /// Drop this worker's lease on `diff_id`.
    fn unlease(&self, sql: &mut dyn Sql, diff_id: &str) -> std::result::Result<(), String> {
        sql.exec(
            "DELETE FROM leases WHERE diff_id = $1 AND worker = $2",
            &[V::T(diff_id.to_string()), V::T(self.worker.clone())],
        )
        .map(|_| ())
    }
}

impl LayerStore for Db {
    fn fetch_or_claim(&self, diff_id: &str) -> Option<ParsedLayer> {
        self.fetch_or_claim_result(diff_id).unwrap_or_else(|error| {
            self.keep_error(error);
            None
        })
    }

    fn store(&self, diff_id: &str, parsed: &ParsedLayer) {
        if let Err(error) = self.store_result(diff_id, parsed) {
            self.keep_error(error);
        }
    }

    fn release(&self, diff_id: &str) {
        let released = self.tx(|sql| self.unlease(sql, diff_id));
        if let Err(error) = released {
            self.keep_error(error);
        }
    }
}

/// The run's store, as the load takes it.
pub fn store(db: &Arc<Db>) -> Arc<dyn LayerStore> {
    db.clone()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// user@host:port/database, from a parsed URL: what an error may name.
fn pg_target(config: &postgres::Config) -> String {
    use postgres::config::Host;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("");
    let database = config.get_dbname().unwrap_or(user);
    crate::escape::escape_str(&format!("postgres {user}@{host}:{port}/{database}")).into_owned()
}

/// `text` with the password taken out, should a message ever quote it.
fn scrub(text: &str, password: Option<&[u8]>) -> String {
    match password.and_then(|p| std::str::from_utf8(p).ok()) {
        Some(password) if !password.is_empty() => text.replace(password, "***"),
        _ => text.to_string(),
    }
}

/// What a stored parse holds besides its records and names (JSON in the blob's head).
#[derive(serde::Serialize, serde::Deserialize)]
struct Head {
    compression: Option<Compression>,
    compressed_bytes: u64,
    uncompressed_bytes: u64,
    compressed_digest: Option<String>,
    diff_id: Option<String>,
    warnings: Vec<String>,
    records: usize,
    arena: usize,
    /// The secret rules' hits by record: rule id and how it was seen, never the text.
    hits: Vec<(u32, Vec<(String, secrets::Evidence)>)>,
    /// The package databases caught, by record: the package reader's own JSON.
    #[serde(default)]
    packages: Vec<(u32, String)>,
}

/// Bytes of one record in the blob.
const RECORD_BYTES: usize = 4 * 4 + 1 + 2 + 4 + 4 + 8 + 8 + 8;

const KINDS: [EntryKind; 9] = [
    EntryKind::File,
    EntryKind::Dir,
    EntryKind::Symlink,
    EntryKind::Hardlink,
    EntryKind::Char,
    EntryKind::Block,
    EntryKind::Fifo,
    EntryKind::Whiteout,
    EntryKind::Opaque,
];

/// A parse as stored: zstd of a length-prefixed JSON head, the records (fixed width,
/// little-endian) and the names. The secret hits keep the rule and how it was seen; their
/// redacted previews are not stored.
fn encode(parsed: &ParsedLayer) -> std::result::Result<Vec<u8>, String> {
    let hits = parsed
        .found
        .iter()
        .map(|(record, found)| {
            let hits: Vec<_> = crate::layer::found_as::<Vec<Hit>>(found)
                .flatten()
                .map(|h| (h.rule.to_string(), h.evidence))
                .collect();
            (*record, hits)
        })
        .filter(|(_, hits)| !hits.is_empty())
        .collect();
    let packages = parsed
        .found
        .iter()
        .filter_map(|(record, found)| Some((*record, packages::caught_to_json(found)?)))
        .collect();
    let head = Head {
        compression: parsed.compression,
        compressed_bytes: parsed.compressed_bytes,
        uncompressed_bytes: parsed.uncompressed_bytes,
        compressed_digest: parsed.compressed_digest.clone(),
        diff_id: parsed.diff_id.clone(),
        warnings: parsed.warnings.clone(),
        records: parsed.records.len(),
        arena: parsed.arena.len(),
        hits,
        packages,
    };
    let head = serde_json::to_vec(&head).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(
        4 + head.len() + parsed.records.len() * RECORD_BYTES + parsed.arena.len(),
    );
    out.extend_from_slice(&(head.len() as u32).to_le_bytes());
    out.extend_from_slice(&head);
    for r in &parsed.records {
        let kind = KINDS.iter().position(|k| *k == r.meta.kind).unwrap_or(0) as u8;
        out.extend_from_slice(&r.path.start.to_le_bytes());
        out.extend_from_slice(&r.path.len.to_le_bytes());
        out.extend_from_slice(&r.link.start.to_le_bytes());
        out.extend_from_slice(&r.link.len.to_le_bytes());
        out.push(kind);
        out.extend_from_slice(&r.meta.mode.to_le_bytes());
        out.extend_from_slice(&r.meta.uid.to_le_bytes());
        out.extend_from_slice(&r.meta.gid.to_le_bytes());
        out.extend_from_slice(&r.meta.size.to_le_bytes());
        out.extend_from_slice(&r.meta.hash.to_le_bytes());
        out.extend_from_slice(&r.meta.offset.to_le_bytes());
    }
    out.extend_from_slice(&parsed.arena);
    zstd::bulk::compress(&out, 3).map_err(|e| e.to_string())
}

/// A stored parse read back; every span is checked against the names it points into.
fn decode(blob: &[u8]) -> std::result::Result<ParsedLayer, String> {
    let data = zstd::bulk::decompress(blob, MAX_STORED_PARSE_BYTES).map_err(|e| e.to_string())?;
    let bad = || "truncated".to_string();
    let head_len = u32::from_le_bytes(data.get(..4).ok_or_else(bad)?.try_into().unwrap()) as usize;
    let head: Head = serde_json::from_slice(data.get(4..4 + head_len).ok_or_else(bad)?)
        .map_err(|e| e.to_string())?;
    let records_at = 4 + head_len;
    let arena_at = head
        .records
        .checked_mul(RECORD_BYTES)
        .and_then(|n| n.checked_add(records_at))
        .ok_or_else(bad)?;
    let arena = data
        .get(arena_at..arena_at.checked_add(head.arena).ok_or_else(bad)?)
        .ok_or_else(bad)?
        .to_vec();
    let mut records = Vec::with_capacity(head.records);
    for chunk in data[records_at..arena_at].chunks_exact(RECORD_BYTES) {
        let mut at = 0;
        let mut take = |n: usize| {
            let bytes = &chunk[at..at + n];
            at += n;
            bytes
        };
        let u32_ = |b: &[u8]| u32::from_le_bytes(b.try_into().unwrap());
        let u64_ = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap());
        let path = Span {
            start: u32_(take(4)),
            len: u32_(take(4)),
        };
        let link = Span {
            start: u32_(take(4)),
            len: u32_(take(4)),
        };
        let kind = *KINDS.get(take(1)[0] as usize).ok_or_else(bad)?;
        let mode = u16::from_le_bytes(take(2).try_into().unwrap());
        let (uid, gid) = (u32_(take(4)), u32_(take(4)));
        let (size, hash, offset) = (u64_(take(8)), u64_(take(8)), u64_(take(8)));
        for span in [path, link] {
            if span.start as usize + span.len as usize > arena.len() {
                return Err("a name lies outside the stored names".into());
            }
        }
        records.push(Record {
            path,
            link,
            meta: Meta {
                kind,
                mode,
                uid,
                gid,
                size,
                hash,
                offset,
            },
        });
    }
    // Each record's finds, secrets and packages, put back together as the hooks left them.
    let mut by_record: std::collections::BTreeMap<u32, Vec<crate::layer::Found>> =
        Default::default();
    for (record, hits) in head.hits {
        let hits: Vec<Hit> = hits
            .into_iter()
            .filter_map(|(rule, evidence)| {
                Some(Hit {
                    rule: secrets::rule(&rule)?.id,
                    evidence,
                    preview: String::new(),
                })
            })
            .collect();
        by_record
            .entry(record)
            .or_default()
            .push(Arc::new(hits) as crate::layer::Found);
    }
    for (record, json) in head.packages {
        by_record
            .entry(record)
            .or_default()
            .push(packages::caught_from_json(&json)?);
    }
    let found = by_record
        .into_iter()
        .filter(|(record, _)| (*record as usize) < records.len())
        .filter_map(|(record, found)| Some((record, crate::layer::together(found)?)))
        .collect();
    Ok(ParsedLayer {
        records,
        arena,
        compression: head.compression,
        compressed_bytes: head.compressed_bytes,
        uncompressed_bytes: head.uncompressed_bytes,
        compressed_digest: head.compressed_digest,
        diff_id: head.diff_id,
        warnings: head.warnings,
        truncated: false,
        found,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_renews_its_own_leases_and_no_one_elses() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("fleet.db").display());
        let db = Db::open(&url, "shard 0/2".into()).unwrap();
        let other = rusqlite::Connection::open(dir.path().join("fleet.db")).unwrap();
        other
            .execute_batch(
                "INSERT INTO leases VALUES ('sha256:aa', 'shard 0/2', 5);
                 INSERT INTO leases VALUES ('sha256:bb', 'shard 1/2', 5);",
            )
            .unwrap();
        db.renew().unwrap();
        let expires = |id: &str| -> i64 {
            other
                .query_row(
                    "SELECT expires_at FROM leases WHERE diff_id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert!(expires("sha256:aa") >= now() + LEASE_SECONDS - 1);
        assert_eq!(expires("sha256:bb"), 5);
    }

    /// A version-1 database (its layers' parses kept no package databases) is migrated:
    /// `image_packages` appears, and the layers are dropped, to be parsed again.
    #[test]
    fn a_version_1_database_is_migrated_and_its_layers_parsed_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fleet.db");
        let url = format!("sqlite:{}", path.display());
        drop(Db::open(&url, "test".into()).unwrap());
        // Back to version 1, as a build of that schema left it, with one layer stored.
        let sqlite = rusqlite::Connection::open(&path).unwrap();
        sqlite
            .execute_batch(
                "DROP TABLE image_packages; UPDATE schema_version SET version = 1; \
                 INSERT INTO layers VALUES ('sha256:aa', 1, 1, 1, 0, x'00', 'old', 0, 1);",
            )
            .unwrap();
        drop(Db::open(&url, "test".into()).unwrap());
        let count = |sql: &str| -> i64 { sqlite.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT version FROM schema_version"), SCHEMA_VERSION);
        assert_eq!(count("SELECT count(*) FROM layers"), 0);
        assert_eq!(count("SELECT count(*) FROM image_packages"), 0);
    }

    /// `fleet report` prints the efficiency read back from the database: it must be the
    /// same double to the last bit (serde_json parses floats exactly only with
    /// `float_roundtrip`; without it this value came back one unit lower).
    #[test]
    fn an_image_reads_back_to_the_last_bit_of_its_efficiency() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("fleet.db").display());
        let db = Db::open(&url, "test".into()).unwrap();
        let names = vec!["one".to_string()];
        let scan = Scan::of(&names);
        db.start_scan(&scan, &[]).unwrap();
        let facts = ImageFacts {
            name: "one".into(),
            layers: Vec::new(),
            final_filesystem: 7,
            wasted_bytes: 3,
            efficiency: 0.9784018953727789,
            secret_findings: 0,
        };
        db.store_image(
            &scan,
            0,
            "one",
            Ok((&facts, String::new(), String::new())),
            &[],
        )
        .unwrap();
        let stored = db.read_scan(Some(&names)).unwrap();
        let back = stored.images[0].facts.as_ref().unwrap();
        assert_eq!(back.efficiency.to_bits(), facts.efficiency.to_bits());
    }

    #[test]
    fn a_parse_reads_back_as_it_was_stored_without_the_previews() {
        let mut parsed = ParsedLayer {
            compressed_bytes: 10,
            diff_id: Some("sha256:aa".into()),
            ..Default::default()
        };
        parsed.push(b"etc/passwd", b"", crate::tree::IMPLIED_DIR);
        parsed.push(b"root/.netrc", b"", crate::tree::IMPLIED_DIR);
        let hit = Hit {
            rule: secrets::rule("netrc").map_or("netrc", |r| r.id),
            evidence: secrets::Evidence::Path,
            preview: "machine registry login builder password hun…".into(),
        };
        parsed
            .found
            .push((1, Arc::new(vec![hit]) as crate::layer::Found));
        let blob = encode(&parsed).unwrap();
        let back = decode(&blob).unwrap();
        assert_eq!(back.arena, parsed.arena);
        assert_eq!(back.records.len(), 2);
        assert_eq!(back.records[1].path.get(&back.arena), b"root/.netrc");
        assert_eq!(back.diff_id.as_deref(), Some("sha256:aa"));
        let hits: Vec<&Hit> = back
            .found
            .iter()
            .flat_map(|(_, f)| crate::layer::found_as::<Vec<Hit>>(f).flatten())
            .collect();
        assert_eq!(hits.len(), 1);
        assert!(hits[0].preview.is_empty());
        // A damaged blob is an error, never a panic.
        assert!(decode(&blob[..blob.len() / 2]).is_err());
        let mut short = zstd::bulk::decompress(&blob, 1 << 20).unwrap();
        short.truncate(short.len() - 3);
        assert!(decode(&zstd::bulk::compress(&short, 1).unwrap()).is_err());
    }
}
