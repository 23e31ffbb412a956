//! `packages` on rpm databases, checked against rpm itself. Debian's `rpmbuild` builds tiny
//! packages and Debian's `rpm` installs, upgrades and erases them in a root with a
//! Fedora-style database (sqlite, under /usr/lib/sysimage/rpm with /var/lib/rpm a symlink
//! to it); each layer prefix, unpacked by umoci, is queried with `rpm --root … -qa` and
//! `-ql`. Debian's rpm writes no other format, so the Berkeley DB and NDB databases are
//! real ones from public test data (tests/data/rpm/README.md): the Berkeley DB one is
//! queried with Debian's `rpm` through its read-only `bdb_ro` backend, the NDB one is
//! checked against the `rpm -qa` listing recorded with it.

mod support;

use layerscope::analysis::packages::{analyze, rpm, Manager};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::rootfs::{
    apply, bytes, image_of, layerscope, load, prefix_rootfs, regular_files, run, snapshot,
    umoci_unpack, LayeredImage, Snap, Steps,
};
use support::{ImageSpec, LayerSpec};

/// A noarch rpm of `files` (path, bytes), built with rpmbuild.
fn build_rpm(
    dir: &Path,
    (name, epoch, version): (&str, Option<u32>, &str),
    requires: &[&str],
    files: &[(&str, Vec<u8>)],
) -> PathBuf {
    let src = dir.join(format!("src-{name}-{version}"));
    for (path, content) in files {
        let at = src.join(path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(at, content).unwrap();
    }
    let mut spec = format!(
        "Name: {name}\nVersion: {version}\nRelease: 1\nSummary: layerscope test package\nLicense: MIT\nBuildArch: noarch\n"
    );
    if let Some(epoch) = epoch {
        spec += &format!("Epoch: {epoch}\n");
    }
    for r in requires {
        spec += &format!("Requires: {r}\n");
    }
    // No debuginfo and no post-install scripts: the payload is the files as written.
    spec += "%global debug_package %{nil}\n%global __os_install_post %{nil}\n";
    spec += "%description\nA layerscope test package.\n%install\ncp -a %{src}/. %{buildroot}/\n%files\n";
    for (path, _) in files {
        spec += &format!("/{path}\n");
    }
    let spec_path = dir.join(format!("{name}-{version}.spec"));
    std::fs::write(&spec_path, spec).unwrap();
    let top = dir.join("top");
    run(Command::new("rpmbuild")
        .arg("-bb")
        .arg("--define")
        .arg(format!("_topdir {}", top.display()))
        .arg("--define")
        .arg(format!("src {}", src.display()))
        .arg(&spec_path));
    top.join(format!("RPMS/noarch/{name}-{version}-1.noarch.rpm"))
}

/// rpm with `args` on `root`'s database at /var/lib/rpm (a symlink to
/// /usr/lib/sysimage/rpm, as on Fedora); its stdout.
fn rpm(root: &Path, args: &[&str]) -> String {
    run(Command::new("rpm")
        .arg("--root")
        .arg(root)
        .args(["--dbpath", "/var/lib/rpm", "--define", "_db_backend sqlite"])
        .args(args))
}

/// Four layers, each made by rpm on a real root with a merged /usr:
/// 0: alpha 2:1.0 and beta 1.0 (beta ships /bin/beta, through the /bin symlink);
/// 1: gamma, which requires alpha; 2: alpha upgraded to 2:2.0, beta erased;
/// 3: an application file no package owns.
fn rpm_image() -> LayeredImage {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().to_path_buf();
    let alpha1 = build_rpm(
        &work,
        ("alpha", Some(2), "1.0"),
        &[],
        &[
            ("usr/share/alpha/data", bytes(3000, 1)),
            ("usr/lib/alpha.so", bytes(1200, 2)),
        ],
    );
    let alpha2 = build_rpm(
        &work,
        ("alpha", Some(2), "2.0"),
        &[],
        &[
            ("usr/share/alpha/data", bytes(5000, 3)),
            ("usr/lib/alpha.so", bytes(1300, 4)),
        ],
    );
    let beta = build_rpm(
        &work,
        ("beta", None, "1.0"),
        &[],
        &[
            ("bin/beta", bytes(700, 5)),
            ("usr/share/doc/beta/README", bytes(90, 6)),
        ],
    );
    let gamma = build_rpm(
        &work,
        ("gamma", None, "0.9"),
        &["alpha >= 2:1.0", "/bin/sh"],
        &[("usr/share/gamma/g.txt", bytes(4096, 7))],
    );

    let root = work.join("root");
    for d in ["usr/bin", "usr/lib/sysimage/rpm", "var/lib"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::os::unix::fs::symlink("usr/bin", root.join("bin")).unwrap();
    std::os::unix::fs::symlink("../../usr/lib/sysimage/rpm", root.join("var/lib/rpm")).unwrap();
    let install = |args: &[&str], packages: &[&Path]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--nodeps", "--noscripts"]);
        all.extend(packages.iter().map(|p| p.to_str().unwrap()));
        rpm(&root, &all);
    };
    let mut steps = Steps::default();
    install(&["-i"], &[&alpha1, &beta]);
    steps.step(&root);
    install(&["-i"], &[&gamma]);
    steps.step(&root);
    install(&["-U"], &[&alpha2]);
    install(&["-e", "beta"], &[]);
    steps.step(&root);
    std::fs::create_dir_all(root.join("app")).unwrap();
    std::fs::write(root.join("app/server"), bytes(2500, 8)).unwrap();
    steps.step(&root);

    LayeredImage::new(dir, steps.layers)
}

fn have_tools() -> bool {
    support::tools::tools(&["umoci", "rpm", "rpmbuild"], "umoci, rpm")
}

#[test]
fn rpm_packages_per_layer_match_rpm_qa_over_each_layer_prefix() {
    if !have_tools() {
        return;
    }
    let image = rpm_image();
    let loaded = load(&image.layout);
    let found = analyze(&loaded);
    assert!(found.warnings.is_empty(), "{:?}", found.warnings);

    let mut ours: BTreeMap<String, String> = BTreeMap::new();
    for top in 0..image.layers.len() {
        let changes = found.layers.iter().find(|l| l.index == top);
        if let Some(changes) = changes {
            apply(&mut ours, changes);
        }
        let rootfs = prefix_rootfs(&image, top);
        let theirs: BTreeMap<String, String> = rpm(&rootfs, &["-qa", "--qf", "%{NAME} %{EVR}\n"])
            .lines()
            .map(|l| {
                let (n, v) = l.split_once(' ').unwrap();
                (n.to_string(), v.to_string())
            })
            .collect();
        assert_eq!(ours, theirs, "after layer {top}");

        // What this layer installed, measured: rpm -ql's files sized on umoci's unpack
        // (every one of them was written by this layer), and the size rpm declares.
        let shipped = changes
            .into_iter()
            .flat_map(|c| c.added.iter().chain(c.upgraded.iter().map(|(_, p)| p)));
        for package in shipped {
            assert_eq!(package.manager, Manager::Rpm);
            let listed = rpm(&rootfs, &["-ql", &package.name]);
            assert_eq!(
                (package.bytes, package.files),
                regular_files(&rootfs, listed.lines()),
                "{} in layer {top}",
                package.name
            );
            let declared = rpm(&rootfs, &["-q", "--qf", "%{SIZE}", &package.name]);
            assert_eq!(
                package.declared_bytes,
                declared.parse().ok(),
                "{}",
                package.name
            );
        }
    }
    let summary = |l: usize| -> Vec<String> {
        let Some(c) = found.layers.iter().find(|c| c.index == l) else {
            return Vec::new();
        };
        let names = |ps: &[layerscope::analysis::packages::Package]| {
            ps.iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
                .join(",")
        };
        let upgraded: Vec<_> = c
            .upgraded
            .iter()
            .map(|(u, _)| format!("{} {} {}", u.name, u.from, u.to))
            .collect();
        vec![names(&c.added), names(&c.removed), upgraded.join(",")]
    };
    assert_eq!(summary(0), ["alpha,beta", "", ""]);
    assert_eq!(summary(1), ["gamma", "", ""]);
    assert_eq!(summary(2), ["", "beta", "alpha 2:1.0-1 2:2.0-1"]);
    assert!(summary(3).is_empty());
    // beta's /bin/beta was measured through the merged-/usr symlink.
    let beta = &found.layers[2].removed[0];
    assert_eq!((beta.bytes, beta.files, beta.layer), (790, 2, 0));
}

#[test]
fn rpm_file_owners_match_rpm_qf() {
    if !have_tools() {
        return;
    }
    let image = rpm_image();
    let loaded = load(&image.layout);
    let found = analyze(&loaded);
    let rootfs = prefix_rootfs(&image, image.layers.len() - 1);
    let mut checked = 0;
    // Every regular file of the final filesystem, as umoci unpacked it.
    for (rel, snap) in snapshot(&rootfs) {
        if !matches!(snap, Snap::File(..)) {
            continue;
        }
        let path = format!("/{rel}");
        let on_disk = rootfs.join(&rel);
        let node = loaded.tree.lookup(path.as_bytes()).unwrap();
        let owner = Command::new("rpm")
            .arg("--root")
            .arg(&rootfs)
            .args(["--dbpath", "/var/lib/rpm", "-qf", "--qf", "%{NAME}"])
            .arg(&path)
            .output()
            .unwrap();
        // rpm -qf fails for a file no package owns.
        let theirs = owner
            .status
            .success()
            .then(|| String::from_utf8(owner.stdout).unwrap());
        let ours = found.owners.get(&node).map(|(m, n)| {
            assert_eq!(*m, Manager::Rpm);
            n.clone()
        });
        assert_eq!(ours, theirs, "{path} ({})", on_disk.display());
        checked += usize::from(ours.is_some());
    }
    assert_eq!(checked, 3, "alpha's two files and gamma's one");
}

/// `name`'s header fields as rpm's query format prints them, one field per line group.
const QUERY: &str =
    "%{NAME}|%{EVR}|%{ARCH}|%{SIZE}\n[R %{REQUIRENAME}\n][P %{PROVIDENAME}\n][F %{FILENAMES}\n]";

/// The same fields from a record, printed the way `QUERY` prints them (rpm prints
/// `(none)` for a missing arch; requires are listed with rpmlib() ones, which records
/// leave out, and with repeats, which records fold).
fn as_query(record: &layerscope::analysis::packages::db::Record) -> String {
    let mut out = format!(
        "{}|{}|{}|{}\n",
        record.name,
        record.version,
        if record.arch.is_empty() {
            "(none)"
        } else {
            &record.arch
        },
        record.declared.unwrap_or(0)
    );
    for r in &record.depends {
        out += &format!("R {r}\n");
    }
    for p in &record.provides {
        out += &format!("P {p}\n");
    }
    for f in &record.files {
        out += &format!("F {}\n", String::from_utf8_lossy(f));
    }
    out
}

/// rpm's answer to `QUERY`, with requires folded as records fold them.
fn folded(query: &str) -> String {
    let mut seen = BTreeSet::new();
    query
        .lines()
        .filter(|l| match l.strip_prefix("R ") {
            Some(name) => !name.starts_with("rpmlib(") && seen.insert(name.to_string()),
            None => true,
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn sqlite_and_berkeley_db_headers_read_as_rpm_reads_them() {
    if !have_tools() {
        return;
    }
    // sqlite, as Debian's rpm wrote it (in WAL mode, which the reader opens all the same).
    let image = rpm_image();
    let rootfs = prefix_rootfs(&image, 1);
    let db = std::fs::read(rootfs.join("usr/lib/sysimage/rpm/rpmdb.sqlite")).unwrap();
    assert_eq!(db[18..20], [2, 2], "rpm wrote a WAL-mode database");
    let records = rpm::parse_sqlite(&db).unwrap();
    let ours: String = records.iter().map(as_query).collect();
    assert_eq!(ours, folded(&rpm(&rootfs, &["-qa", "--qf", QUERY])));
    assert!(ours.contains("R /bin/sh\nR alpha\n"), "{ours}");

    // Berkeley DB, through rpm's read-only backend.
    let dir = tempfile::tempdir().unwrap();
    let packages = gunzip("libuuid-Packages.gz");
    std::fs::write(dir.path().join("Packages"), &packages).unwrap();
    let theirs = run(Command::new("rpm").arg("--dbpath").arg(dir.path()).args([
        "--define",
        "_db_backend bdb_ro",
        "-qa",
        "--qf",
        QUERY,
    ]));
    let records = rpm::parse_bdb(&packages).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records.iter().map(as_query).collect::<String>(),
        folded(&theirs)
    );
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/rpm")
        .join(name)
}

fn gunzip(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(data(name)).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// A SUSE-style image: the NDB database under /usr/lib/sysimage/rpm, /var/lib/rpm a
/// symlink to it, and `files` (path, size) as a package would have shipped them.
fn ndb_image(dir: &Path, files: &[(&str, usize)]) -> PathBuf {
    let mut layer = LayerSpec::new()
        .dir("usr/lib/sysimage/rpm", 0o755)
        .file(
            "usr/lib/sysimage/rpm/Packages.db",
            gunzip("sle15-bci-Packages.db.gz"),
        )
        .dir("var/lib", 0o755)
        .symlink("var/lib/rpm", "../../usr/lib/sysimage/rpm");
    for (i, (path, size)) in files.iter().enumerate() {
        layer = layer.file(path, bytes(*size, i as u8));
    }
    let path = dir.join("ndb.tar");
    ImageSpec::new()
        .layer(layer)
        .write_oci_archive(&path)
        .unwrap();
    path
}

#[test]
fn ndb_packages_match_the_listing_rpm_printed_for_them() {
    let dir = tempfile::tempdir().unwrap();
    // bash's own binary, shipped beside the database: bash is measured by it.
    let path = ndb_image(dir.path(), &[("usr/bin/bash", 4321)]);
    let loaded = load(&path);
    let found = analyze(&loaded);
    assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    let ours: BTreeSet<String> = found
        .packages
        .iter()
        .map(|p| {
            assert_eq!((p.manager, p.layer), (Manager::Rpm, 0));
            format!("{} {}", p.name, p.version)
        })
        .collect();
    let expected = std::fs::read_to_string(data("sle15-bci.expected")).unwrap();
    let theirs: BTreeSet<String> = expected
        .lines()
        .map(|l| l.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(ours, theirs);
    // Arch and declared size, per package, as rpm printed them.
    let records = rpm::parse_ndb(&gunzip("sle15-bci-Packages.db.gz")).unwrap();
    let listed: BTreeSet<String> = records
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}",
                r.name,
                r.version,
                r.arch,
                r.declared.unwrap()
            )
        })
        .collect();
    assert_eq!(listed, expected.lines().map(str::to_string).collect());
    let bash = found.packages.iter().find(|p| p.name == "bash").unwrap();
    assert_eq!((bash.bytes, bash.files), (4321, 1));
    let node = loaded.tree.lookup(b"/usr/bin/bash").unwrap();
    assert_eq!(found.owners[&node], (Manager::Rpm, "bash".to_string()));
}

#[test]
fn berkeley_db_packages_per_layer_match_rpm_bdb_ro() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = gunzip("libuuid-Packages.gz");
    // 0: the database and libuuid's library; 1: the database deleted; 2: restored.
    let layers = vec![
        LayerSpec::new()
            .dir("var/lib/rpm", 0o755)
            .file("var/lib/rpm/Packages", db.clone())
            .file("usr/lib64/libuuid.so.1.3.0", bytes(33_000, 1)),
        LayerSpec::new().whiteout("var/lib/rpm/Packages"),
        LayerSpec::new().file("var/lib/rpm/Packages", db),
    ];
    let layout = dir.path().join("layout");
    image_of(&layers).write_oci_layout(&layout).unwrap();
    let found = analyze(&load(&layout));
    assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    for top in 0..layers.len() {
        let prefix = dir.path().join(format!("layout-{top}"));
        image_of(&layers[..=top]).write_oci_layout(&prefix).unwrap();
        let rootfs = umoci_unpack(&prefix, &dir.path().join(format!("bundle-{top}")));
        // With no database at all, rpm refuses to run a query: nothing is installed.
        let theirs = if rootfs.join("var/lib/rpm/Packages").exists() {
            run(Command::new("rpm")
                .arg("--dbpath")
                .arg(rootfs.join("var/lib/rpm"))
                .args([
                    "--define",
                    "_db_backend bdb_ro",
                    "-qa",
                    "--qf",
                    "%{NAME} %{EVR}\n",
                ]))
        } else {
            String::new()
        };
        let mut ours: BTreeSet<String> = BTreeSet::new();
        for c in found.layers.iter().filter(|c| c.index <= top) {
            for p in &c.added {
                ours.insert(format!("{} {}", p.name, p.version));
            }
            for p in &c.removed {
                ours.remove(&format!("{} {}", p.name, p.version));
            }
        }
        assert_eq!(
            ours,
            theirs.lines().map(str::to_string).collect(),
            "layer {top}"
        );
    }
    let added = |l: usize| -> Vec<(String, u64)> {
        found
            .layers
            .iter()
            .filter(|c| c.index == l)
            .flat_map(|c| c.added.iter().map(|p| (p.name.clone(), p.bytes)))
            .collect()
    };
    // The library was measured in layer 0; in layer 2 the package came back with no
    // files of its own in that layer.
    assert_eq!(added(0), [("libuuid".to_string(), 33_000)]);
    assert_eq!(added(2), [("libuuid".to_string(), 0)]);
}

#[test]
fn corrupt_rpm_databases_are_warnings_naming_layer_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let ndb = gunzip("sle15-bci-Packages.db.gz");
    let bdb = gunzip("libuuid-Packages.gz");
    let mut bad_slot = ndb.clone();
    // The first package's slot sends its blob past the end of the file.
    bad_slot[32 + 8..32 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut absurd_pages = bdb.clone();
    // The metadata page's last page number, far past the file.
    absurd_pages[32..36].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let mut sqlite_garbage = b"SQLite format 3\0".to_vec();
    sqlite_garbage.extend(bytes(8192, 3));
    let broken = [
        (
            "usr/lib/sysimage/rpm/Packages.db",
            ndb[..ndb.len() / 2].to_vec(),
            "blocks past the end",
        ),
        (
            "usr/lib/sysimage/rpm/Packages.db",
            bad_slot,
            "blocks past the end",
        ),
        (
            "var/lib/rpm/Packages",
            bdb[..bdb.len() / 2].to_vec(),
            "truncated",
        ),
        (
            "var/lib/rpm/Packages",
            absurd_pages,
            "truncated: page 2147483647",
        ),
        ("var/lib/rpm/rpmdb.sqlite", sqlite_garbage, "sqlite:"),
        (
            "var/lib/rpm/rpmdb.sqlite",
            b"not a database".to_vec(),
            "not an SQLite",
        ),
    ];
    // Layer 0 is a good database: each broken one after it leaves its state standing.
    let image = broken.iter().fold(
        ImageSpec::new().layer(LayerSpec::new().file("var/lib/rpm/Packages", bdb.clone())),
        |image, (path, content, _)| image.layer(LayerSpec::new().file(path, content.clone())),
    );
    let path = dir.path().join("image.tar");
    image.write_oci_archive(&path).unwrap();
    let out = layerscope(&["packages", path.to_str().unwrap(), "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for (layer, (path, _, reason)) in broken.iter().enumerate() {
        let line = stderr
            .lines()
            .find(|l| {
                l.contains(&format!(
                    "layer {}: /{path}: package database not read",
                    layer + 1
                ))
            })
            .unwrap_or_else(|| panic!("no warning for layer {}: {stderr}", layer + 1));
        assert!(line.contains(reason), "{line}");
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["packages"][0]["name"], "libuuid");
    assert_eq!(json["packages"][0]["manager"], "rpm");
    assert_eq!(json["warnings"].as_array().unwrap().len(), broken.len());
}
