//! `fleet --db`, `fleet report`, `--shard` and the layer leases, with real parts: the fleet
//! test set pushed to a real registry (Debian's docker-registry), SQLite (read back with
//! SQLite itself) and a real PostgreSQL (tests/support/postgres.rs; psql and pg_dump are
//! the oracles). `fleet report` must equal, byte for byte, what `fleet` prints over the
//! same set; each distinct layer must be parsed once, counted in the database.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use support::fleet_set::{blob_gets, build_set, NETRC};
use support::postgres::Postgres;
use support::registry::{free_port, tools_present, Env, Registry};

/// Distinct layers of the set's first three images (app1 and app2 share a two-layer base
/// and add one each; app3 is a newer base and one layer): 3 + 1 + 2.
const FIRST_THREE_LAYERS: i64 = 6;
/// The fourth image ("other") adds one layer of its own.
const ALL_LAYERS: i64 = 7;

/// The secret's text, which no database may hold.
fn planted() -> &'static str {
    NETRC.split_whitespace().last().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The set pushed to a registry: one `registry://…:v1` reference per image.
/// `layerscope --quiet ARGS…` in `env`, the database URL given by environment (as a
/// Kubernetes Secret gives it), never in argv.
/// An empty `db`: no database (plain `fleet`).
fn layerscope(env: &Env, db: &str, args: &[&str]) -> Command {
    let mut command = env.command();
    command.env_remove("LAYERSCOPE_FLEET_DB");
    if !db.is_empty() {
        command.env("LAYERSCOPE_FLEET_DB", db);
    }
    command.env("NO_COLOR", "1").arg("--quiet").args(args);
    command
}

fn ok(mut command: Command) -> Vec<u8> {
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    out.stdout
}

/// Exit 2 with one line on stderr, which is returned.
fn fails(mut command: Command) -> String {
    let out = command.output().unwrap();
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_eq!(text.trim_end().lines().count(), 1, "one line: {text}");
    text
}

/// `fleet report` over `list` equals plain `fleet` over the same images, in every format.
fn report_equals_fleet(env: &Env, db: &str, list: &Path) {
    let list = list.to_str().unwrap();
    for format in ["text", "json", "markdown", "html"] {
        let direct = ok(layerscope(
            env,
            "",
            &["fleet", "--format", format, "--from-file", list],
        ));
        let mut report = layerscope(
            env,
            db,
            &["fleet", "report", "--format", format, "--from-file", list],
        );
        // No image access: the registry's credentials and cache are out of reach too.
        report.env("HOME", "/nonexistent");
        let stored = ok(report);
        assert!(
            direct == stored,
            "fleet report --format {format} differs from fleet:\n--- fleet\n{}\n--- report\n{}",
            String::from_utf8_lossy(&direct),
            String::from_utf8_lossy(&stored)
        );
        if format == "text" {
            println!(
                "--- fleet report --db over the registry set\n{}",
                String::from_utf8_lossy(&stored)
            );
        }
    }
}

fn write_list(dir: &Path, name: &str, references: &[String]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, references.join("\n") + "\n").unwrap();
    path
}

/// Every stored parse, decompressed with zstd (a real codec, not layerscope's reader).
fn without_secret(blobs: &[Vec<u8>], what: &str) {
    for blob in blobs {
        let text = zstd::decode_all(blob.as_slice()).unwrap();
        assert!(
            !String::from_utf8_lossy(&text).contains(planted()),
            "a stored parse in {what} holds the secret"
        );
    }
}

#[test]
fn sqlite_report_equals_fleet_and_a_second_run_parses_only_the_new_layers() {
    if !tools_present() {
        return;
    }
    let set = build_set();
    let registry = Registry::start_with(support::registry::Auth::None, true);
    let references = set.push_to(&registry);
    let env = Env::new(env!("CARGO_BIN_EXE_layerscope"));
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("fleet.db");
    let db = format!("sqlite:{}", path.display());
    let three = write_list(work.path(), "three.txt", &references[..3]);
    let four = write_list(work.path(), "four.txt", &references);

    ok(layerscope(
        &env,
        &db,
        &["fleet", "--from-file", three.to_str().unwrap()],
    ));
    let sqlite = rusqlite::Connection::open(&path).unwrap();
    let counts = |sql: &str| -> (i64, i64, i64) {
        sqlite
            .query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
    };
    let layers = "SELECT count(*), min(parse_count), max(parse_count) FROM layers";
    assert_eq!(counts(layers), (FIRST_THREE_LAYERS, 1, 1));
    assert_eq!(
        counts("SELECT count(*), min(position), max(position) FROM scan_images"),
        (3, 0, 2)
    );
    // The base's .netrc is found once, in the base layer, and only counted.
    let findings: i64 = sqlite
        .query_row("SELECT sum(secret_findings) FROM layers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(findings, 1);
    report_equals_fleet(&env, &db, &three);

    // The fourth image: only its own layer is downloaded and parsed.
    let before = registry.requests().lines().count();
    let out = ok(layerscope(
        &env,
        &db,
        &[
            "--no-cache",
            "fleet",
            "--format",
            "json",
            "--from-file",
            four.to_str().unwrap(),
        ],
    ));
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["totals"]["layers_parsed"], 1);
    assert_eq!(counts(layers), (ALL_LAYERS, 1, 1));
    let log: String = registry
        .requests()
        .lines()
        .skip(before)
        .map(|l| format!("{l}\n"))
        .collect();
    // Four configs and one layer blob, nothing else.
    assert_eq!(blob_gets(&log).values().sum::<usize>(), 5, "{log}");
    report_equals_fleet(&env, &db, &four);
    // Both scans are kept: the first one still reads.
    report_equals_fleet(&env, &db, &three);

    let raw = std::fs::read(&path).unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains(planted()));
    let mut statement = sqlite.prepare("SELECT parse FROM layers").unwrap();
    let blobs: Vec<Vec<u8>> = statement
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    without_secret(&blobs, "SQLite");
}

#[test]
fn a_newer_schema_a_bad_shard_and_an_unfinished_scan_are_one_line_errors() {
    let set = build_set();
    let env = Env::new(env!("CARGO_BIN_EXE_layerscope"));
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("fleet.db");
    let db = format!("sqlite:{}", path.display());
    let names: Vec<&str> = set.images.iter().map(|(n, _)| n.as_str()).collect();

    // Shard 0 of 2 stores images 0 and 2; the report waits for 1 and 3.
    let mut args = vec!["fleet", "--shard", "0/2"];
    args.extend(&names);
    ok(layerscope(&env, &db, &args));
    let mut args = vec!["fleet", "report"];
    args.extend(&names);
    let line = fails(layerscope(&env, &db, &args));
    assert!(
        line.contains("2 of the scan's 4 images are not stored yet"),
        "{line}"
    );
    // JOB_COMPLETION_INDEX gives I for `--shard N`: shard 1 of 2 completes the scan.
    let mut worker = layerscope(&env, &db, &["fleet", "--shard", "2"]);
    worker.args(&names).env("JOB_COMPLETION_INDEX", "1");
    ok(worker);
    let direct = ok(layerscope(&env, "", &[&["fleet"][..], &names].concat()));
    assert_eq!(ok(layerscope(&env, &db, &args)), direct);

    // A layer another worker holds a live lease on is waited for, then taken over when
    // the lease expires; an expired one is taken at once.
    let sqlite = rusqlite::Connection::open(&path).unwrap();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    for (expires_in, waited) in [(3, true), (-10, false)] {
        let diff_id: String = sqlite
            .query_row("SELECT min(diff_id) FROM layers", [], |r| r.get(0))
            .unwrap();
        sqlite
            .execute("DELETE FROM layers WHERE diff_id = ?1", [&diff_id])
            .unwrap();
        sqlite
            .execute(
                "INSERT INTO leases (diff_id, worker, expires_at) VALUES (?1, 'another', ?2)",
                rusqlite::params![diff_id, now() + expires_in],
            )
            .unwrap();
        let started = std::time::Instant::now();
        ok(layerscope(&env, &db, &[&["fleet"][..], &names].concat()));
        let took = started.elapsed().as_secs_f64();
        assert_eq!(waited, took >= 2.0, "took {took:.1} s");
        let (count, leases): (i64, i64) = sqlite
            .query_row(
                "SELECT (SELECT parse_count FROM layers WHERE diff_id = ?1), (SELECT count(*) FROM leases)",
                [&diff_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((count, leases), (1, 0), "parsed again once, its lease gone");
    }

    // The URL's password, from the environment, is not shown by --help.
    let help = layerscope(&env, "postgres://u:help-secret@h/d", &["fleet", "--help"]);
    let help = String::from_utf8(ok(help)).unwrap();
    assert!(help.contains("LAYERSCOPE_FLEET_DB") && !help.contains("help-secret"));

    for (shard, says) in [
        ("2/2", "I (2) must be less than N (2)"),
        ("0/0", "N must be at least 1"),
        ("x/2", "I is not a whole number"),
        ("3", "JOB_COMPLETION_INDEX is not set"),
    ] {
        let mut command = layerscope(&env, &db, &["fleet", "--shard", shard]);
        command.args(&names).env_remove("JOB_COMPLETION_INDEX");
        let line = fails(command);
        assert!(line.contains(says), "--shard {shard}: {line}");
    }

    // With --keep-going an image that fails is stored as failed, and the report lists it
    // as fleet does (exit 2 both).
    let missing = work.path().join("missing.tar");
    let mut kept = names.clone();
    kept.push(missing.to_str().unwrap());
    let keep = [&["fleet", "--keep-going"][..], &kept].concat();
    let out = layerscope(&env, &db, &keep).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let direct = layerscope(&env, "", &keep).output().unwrap();
    let report = layerscope(&env, &db, &[&["fleet", "report"][..], &kept].concat())
        .output()
        .unwrap();
    assert_eq!(report.status.code(), Some(2));
    assert_eq!(report.stdout, direct.stdout);
    assert!(String::from_utf8_lossy(&report.stdout).contains("left out, failed to open"));

    // A database a newer layerscope migrated.
    sqlite
        .execute("UPDATE schema_version SET version = version + 1", [])
        .unwrap();
    let line = fails(layerscope(&env, &db, &args));
    assert!(line.contains("newer than this layerscope knows"), "{line}");
    assert!(
        line.contains(path.to_str().unwrap()),
        "names the file: {line}"
    );
}

/// A worker process over `list` with `--shard I/3`.
fn worker(env: &Env, db: &str, list: &Path, shard: usize) -> Command {
    let shard = format!("{shard}/3");
    let mut command = layerscope(
        env,
        db,
        &[
            "fleet",
            "--shard",
            &shard,
            "--from-file",
            list.to_str().unwrap(),
        ],
    );
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    command
}

fn waited(child: std::process::Child) {
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn postgres_three_shards_parse_each_layer_once_even_with_a_worker_killed() {
    if !tools_present() {
        return;
    }
    let Some(pg) = Postgres::start() else { return };
    let set = build_set();
    let registry = Registry::start_with(support::registry::Auth::None, false);
    let references = set.push_to(&registry);
    let env = Env::new(env!("CARGO_BIN_EXE_layerscope"));
    let work = tempfile::tempdir().unwrap();
    let list = write_list(work.path(), "images.txt", &references);
    let url = pg.url();

    let workers: Vec<_> = (0..3)
        .map(|i| worker(&env, &url, &list, i).spawn().unwrap())
        .collect();
    workers.into_iter().for_each(waited);
    let layers = "SELECT count(*), sum(parse_count), max(parse_count) FROM layers";
    assert_eq!(pg.query(layers), format!("{ALL_LAYERS}|{ALL_LAYERS}|1"));
    assert_eq!(pg.query("SELECT count(*) FROM leases"), "0");
    assert_eq!(
        pg.query("SELECT string_agg(DISTINCT worker, ',' ORDER BY worker) FROM scan_images"),
        "shard 0/3,shard 1/3,shard 2/3"
    );
    report_equals_fleet(&env, &url, &list);

    // Again from an empty database (the tables emptied), with worker 1 killed while it holds
    // a lease and started again at once (its leases are its shard's, so it takes them back;
    // the others wait for them). A trigger makes every store of a parse take a second, so
    // that the kill lands while a lease is held however fast the parses are; a worker that
    // ends first fails the test rather than passing it untested.
    pg.query("TRUNCATE image_packages, scan_images, scans, leases, layers");
    pg.query(
        "CREATE FUNCTION slow_store() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$; \
         CREATE TRIGGER slow_store BEFORE INSERT ON layers \
         FOR EACH ROW EXECUTE FUNCTION slow_store();",
    );
    let mut others: Vec<_> = [0, 2]
        .iter()
        .map(|&i| worker(&env, &url, &list, i).spawn().unwrap())
        .collect();
    let mut killed = worker(&env, &url, &list, 1).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while pg.query("SELECT count(*) FROM leases WHERE worker = 'shard 1/3'") == "0" {
        assert!(
            killed.try_wait().unwrap().is_none(),
            "worker 1 ended before it held a lease"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "worker 1 took no lease"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: kill(2) on our own child's PID, not reaped yet, so not reused.
    unsafe { libc::kill(killed.id() as libc::pid_t, libc::SIGKILL) };
    killed.wait().unwrap();
    assert_ne!(
        pg.query("SELECT count(*) FROM leases WHERE worker = 'shard 1/3'"),
        "0",
        "the killed worker's lease outlives it"
    );
    pg.query("DROP TRIGGER slow_store ON layers; DROP FUNCTION slow_store()");
    others.push(worker(&env, &url, &list, 1).spawn().unwrap());
    others.into_iter().for_each(waited);
    assert_eq!(pg.query(layers), format!("{ALL_LAYERS}|{ALL_LAYERS}|1"));
    report_equals_fleet(&env, &url, &list);

    // Nothing secret in the database: not in pg_dump's text, not in a stored parse.
    let dump = Command::new("pg_dump")
        .args(["-h", "127.0.0.1", "-p", &pg.port.to_string()])
        .args([
            "-U",
            support::postgres::USER,
            "-d",
            support::postgres::DATABASE,
        ])
        .env("PGPASSWORD", &pg.password)
        .env("PGPASSFILE", "/nonexistent")
        .output()
        .unwrap();
    assert!(dump.status.success(), "{}", stderr(&dump));
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("CREATE TABLE public.layers"), "a real dump");
    assert!(!dump.contains(planted()));
    let blobs: Vec<Vec<u8>> = pg
        .query("SELECT encode(parse, 'hex') FROM layers")
        .lines()
        .map(|hex| hex::decode(hex).unwrap())
        .collect();
    assert_eq!(blobs.len() as i64, ALL_LAYERS);
    without_secret(&blobs, "PostgreSQL");

    // Wrong password, unreachable server: one line naming host, port and database, and
    // the password given appears nowhere.
    let wrong = "not-the-password-4711";
    let dead = format!(
        "postgres://{}:{wrong}@127.0.0.1:{}/{}",
        support::postgres::USER,
        free_port(),
        support::postgres::DATABASE
    );
    for (db, port) in [(pg.url_with_password(wrong), pg.port), (dead, 0)] {
        let mut command = layerscope(&env, &db, &["fleet", "report"]);
        command.arg("--from-file").arg(&list);
        let out = command.output().unwrap();
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert_eq!(text.trim_end().lines().count(), 1, "{text}");
        assert!(
            text.contains("127.0.0.1:") && text.contains("/fleet"),
            "{text}"
        );
        if port != 0 {
            assert!(text.contains(&format!(":{port}/")), "{text}");
        }
        let all = format!("{text}{}", String::from_utf8_lossy(&out.stdout));
        assert!(!all.contains(wrong) && !all.contains(&pg.password), "{all}");
    }
    assert!(!pg.log().contains(&pg.password));
}

/// Each image's packages, stored in `image_packages`, are what `dpkg-query` lists on the
/// image's unpacked rootfs (umoci's unpack of all its layers), with the layer that
/// installed each version. A second scan whose layers are all stored already reads them
/// from the database's parses, not the blobs, and must find the same packages.
#[test]
fn image_packages_match_dpkg_query_also_when_layers_come_from_the_database() {
    use support::dpkg::{debian_image, dpkg_query};
    use support::rootfs::prefix_rootfs;
    if !support::tools::tools(&["umoci", "dpkg", "dpkg-deb", "dpkg-query"], "umoci, dpkg") {
        return;
    }
    let image = debian_image();
    let top = image.layers.len() - 1;
    let theirs = dpkg_query(&prefix_rootfs(&image, top));
    assert!(theirs.len() >= 2, "{theirs:?}");

    let env = Env::new(env!("CARGO_BIN_EXE_layerscope"));
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("fleet.db");
    let db = format!("sqlite:{}", path.display());
    let layout = image.layout.to_str().unwrap().to_string();
    let Some(fixtures) = support::tools::fixtures() else {
        return;
    };
    let other = fixtures.join("alpine-base.tar");
    let first = write_list(work.path(), "first.txt", std::slice::from_ref(&layout));
    let second = write_list(
        work.path(),
        "second.txt",
        &[other.to_str().unwrap().to_string(), layout.clone()],
    );
    ok(layerscope(
        &env,
        &db,
        &["fleet", "--from-file", first.to_str().unwrap()],
    ));
    let sqlite = rusqlite::Connection::open(&path).unwrap();
    let parses = |sqlite: &rusqlite::Connection| -> i64 {
        sqlite
            .query_row("SELECT sum(parse_count) FROM layers", [], |r| r.get(0))
            .unwrap()
    };
    let stored_before = parses(&sqlite);
    assert_eq!(stored_before, image.layers.len() as i64);
    ok(layerscope(
        &env,
        &db,
        &["fleet", "--from-file", second.to_str().unwrap()],
    ));
    // Only alpine's one layer was parsed the second time.
    assert_eq!(parses(&sqlite), stored_before + 1);

    // (name, version, layer) of the image in each scan, from the database alone.
    let packages = |position: i64, images: i64| -> Vec<(String, String, i64, String)> {
        let mut query = sqlite
            .prepare(
                "SELECT p.name, p.version, p.layer, p.layer_diff_id FROM image_packages p \
                 JOIN scans s ON s.scan_id = p.scan_id \
                 WHERE s.images = ?1 AND p.position = ?2 AND p.manager = 'dpkg' ORDER BY p.name",
            )
            .unwrap();
        query
            .query_map(rusqlite::params![images, position], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let parsed = packages(0, 1);
    let from_database = packages(1, 2);
    let names: std::collections::BTreeSet<(String, String)> = parsed
        .iter()
        .map(|(n, v, _, _)| (n.clone(), v.clone()))
        .collect();
    assert_eq!(names, theirs);
    assert_eq!(from_database, parsed);
    // Each version is attributed to the layer that installed it, by index and diff_id:
    // `alpha` was upgraded to 2.0 in layer 2, `gamma` installed in layer 1.
    let layer_of = |name: &str| parsed.iter().find(|p| p.0 == name).map(|p| p.2);
    assert_eq!(layer_of("alpha"), Some(2));
    assert_eq!(layer_of("gamma"), Some(1));
    assert!(
        parsed.iter().all(|p| p.3.starts_with("sha256:")),
        "{parsed:?}"
    );

    // The waste each layer carries in this image, kept with the image's facts: layer 0's
    // alpha 1.0 and beta are hidden by layer 2's upgrade and removal (alpha 1.0 alone
    // ships 3,000 + 1,200 bytes), and the layers' shares add up to the image's.
    let facts: String = sqlite
        .query_row(
            "SELECT facts FROM scan_images i JOIN scans s ON s.scan_id = i.scan_id \
             WHERE s.images = 1 AND i.position = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let facts: serde_json::Value = serde_json::from_str(&facts).unwrap();
    let per_layer: Vec<u64> = facts["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["wasted_bytes"].as_u64().unwrap())
        .collect();
    assert!(per_layer[0] >= 4200, "{per_layer:?}");
    assert_eq!(per_layer[top], 0, "{per_layer:?}");
    assert_eq!(
        per_layer.iter().sum::<u64>(),
        facts["wasted_bytes"].as_u64().unwrap()
    );
}
