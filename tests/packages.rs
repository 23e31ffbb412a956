//! `packages`: the dpkg and apk databases read layer by layer. The databases are written
//! by the real tools and the answers checked against them: an image whose layers install,
//! upgrade and remove packages with Debian's own `dpkg` (the .debs built here with
//! `dpkg-deb`), checked per layer with `dpkg-query` over umoci's unpack of that layer's
//! prefix; and the fixtures' Alpine minirootfs, whose apk database Alpine's `apk` wrote,
//! checked against its `P:`/`V:`/`F:`/`R:` lines read with awk and its sizes with `tar -tv`.
//!
//! dpkg, dpkg-deb, dpkg-query, umoci and tar are the oracles (`.ci/run` installs them and sets
//! `CI`, so a missing one fails there; elsewhere the tests that need one say so and pass).

mod support;

use layerscope::analysis::packages::{analyze, Manager};
use layerscope::load::LoadedImage;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::rootfs::{
    apply, bytes, image_of, layerscope, load, load_with, prefix_rootfs, regular_files, run,
    LayeredImage, Steps,
};
use support::{ImageSpec, LayerSpec};

/// A tiny arch:all .deb of `files` (path, bytes), built with dpkg-deb.
fn build_deb(dir: &Path, name: &str, version: &str, files: &[(&str, Vec<u8>)]) -> PathBuf {
    let root = dir.join(format!("{name}-{version}"));
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: test <t@example.org>\nDescription: layerscope test package\n"
        ),
    )
    .unwrap();
    for (path, bytes) in files {
        let at = root.join(path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(&at, bytes).unwrap();
    }
    let deb = dir.join(format!("{name}_{version}_all.deb"));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zgzip", "--build"])
        .arg(&root)
        .arg(&deb));
    deb
}

fn dpkg(rootfs: &Path, args: &[&str], debs: &[&Path]) {
    run(Command::new("dpkg")
        .arg(format!("--root={}", rootfs.display()))
        .args(["--log=/dev/null", "--force-not-root"])
        .args(args)
        .args(debs));
}

/// `name version` of every installed package, as dpkg-query reads the admindir.
fn dpkg_query(rootfs: &Path) -> BTreeSet<(String, String)> {
    run(Command::new("dpkg-query")
        .arg(format!(
            "--admindir={}",
            rootfs.join("var/lib/dpkg").display()
        ))
        .args(["-W", "-f=${db:Status-Status} ${Package} ${Version}\\n"]))
    .lines()
    .filter_map(|l| l.strip_prefix("installed "))
    .map(|l| {
        let (n, v) = l.split_once(' ').unwrap();
        (n.to_string(), v.to_string())
    })
    .collect()
}

/// The files dpkg-query says `package` owns, in the unpacked rootfs.
fn dpkg_files(rootfs: &Path, package: &str) -> Vec<String> {
    run(Command::new("dpkg-query")
        .arg(format!(
            "--admindir={}",
            rootfs.join("var/lib/dpkg").display()
        ))
        .args(["-L", package]))
    .lines()
    .filter(|l| l.starts_with('/') && *l != "/.")
    .map(str::to_string)
    .collect()
}

/// Four layers, each made by dpkg on a real rootfs with a merged /usr:
/// 0: an empty database, then alpha 1.0 and beta 1.0 (beta ships /bin/beta, through
///    the /bin symlink); 1: gamma; 2: alpha upgraded to 2.0, beta removed;
/// 3: an application file no package owns.
fn debian_image() -> LayeredImage {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().to_path_buf();
    let debs = work.join("debs");
    std::fs::create_dir_all(&debs).unwrap();
    let alpha1 = build_deb(
        &debs,
        "alpha",
        "1.0",
        &[
            ("usr/share/alpha/data", bytes(3000, 1)),
            ("usr/lib/alpha.so", bytes(1200, 2)),
        ],
    );
    let alpha2 = build_deb(
        &debs,
        "alpha",
        "2.0",
        &[
            ("usr/share/alpha/data", bytes(5000, 3)),
            ("usr/lib/alpha.so", bytes(1300, 4)),
        ],
    );
    let beta = build_deb(
        &debs,
        "beta",
        "1.0",
        &[
            ("bin/beta", bytes(700, 5)),
            ("usr/share/doc/beta/README", bytes(90, 6)),
        ],
    );
    let gamma = build_deb(
        &debs,
        "gamma",
        "0.9-1",
        &[("usr/share/gamma/g.txt", bytes(4096, 7))],
    );

    let rootfs = work.join("rootfs");
    for d in ["usr/bin", "var/lib/dpkg/info", "var/lib/dpkg/updates"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::os::unix::fs::symlink("usr/bin", rootfs.join("bin")).unwrap();
    std::fs::write(rootfs.join("var/lib/dpkg/status"), "").unwrap();

    let mut steps = Steps::default();
    dpkg(&rootfs, &["-i"], &[&alpha1, &beta]);
    steps.step(&rootfs);
    dpkg(&rootfs, &["-i"], &[&gamma]);
    steps.step(&rootfs);
    dpkg(&rootfs, &["-i"], &[&alpha2]);
    dpkg(&rootfs, &["-r", "beta"], &[]);
    steps.step(&rootfs);
    std::fs::create_dir_all(rootfs.join("app")).unwrap();
    std::fs::write(rootfs.join("app/server"), bytes(2500, 8)).unwrap();
    steps.step(&rootfs);

    LayeredImage::new(dir, steps.layers)
}

#[test]
fn dpkg_packages_per_layer_match_dpkg_query_over_each_layer_prefix() {
    if !support::tools::tools(&["umoci", "dpkg", "dpkg-deb", "dpkg-query"], "umoci, dpkg") {
        return;
    }
    let image = debian_image();
    let loaded = load(&image.layout);
    let found = analyze(&loaded);
    assert!(found.warnings.is_empty(), "{:?}", found.warnings);

    let mut ours: BTreeMap<String, String> = BTreeMap::new();
    let mut installed_in: BTreeMap<String, usize> = BTreeMap::new();
    for top in 0..image.layers.len() {
        if let Some(changes) = found.layers.iter().find(|l| l.index == top) {
            apply(&mut ours, changes);
            let shipped = changes
                .added
                .iter()
                .chain(changes.upgraded.iter().map(|(_, p)| p));
            for p in shipped {
                installed_in.insert(p.name.clone(), top);
            }
        }
        let rootfs = prefix_rootfs(&image, top);
        let theirs = dpkg_query(&rootfs);
        let ours_set: BTreeSet<_> = ours.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
        assert_eq!(ours_set, theirs, "after layer {top}");

        // Bytes of what this layer installed: dpkg-query's file list, sized on the
        // rootfs umoci unpacked (every one of them was written by this layer).
        for (name, _) in theirs.iter().filter(|(n, _)| installed_in[n] == top) {
            let measured = found
                .layers
                .iter()
                .find(|l| l.index == top)
                .and_then(|l| {
                    l.added
                        .iter()
                        .chain(l.upgraded.iter().map(|(_, p)| p))
                        .find(|p| &p.name == name)
                })
                .unwrap();
            let listed = dpkg_files(&rootfs, name);
            assert_eq!(
                (measured.bytes, measured.files),
                regular_files(&rootfs, listed.iter().map(String::as_str)),
                "{name} in layer {top}"
            );
        }
    }
    // The changes are where dpkg made them.
    let names = |l: usize| -> Vec<(Vec<String>, Vec<String>, Vec<String>)> {
        found
            .layers
            .iter()
            .filter(|c| c.index == l)
            .map(|c| {
                (
                    c.added.iter().map(|p| p.name.clone()).collect(),
                    c.removed.iter().map(|p| p.name.clone()).collect(),
                    c.upgraded
                        .iter()
                        .map(|(u, _)| format!("{} {} {}", u.name, u.from, u.to))
                        .collect(),
                )
            })
            .collect()
    };
    assert_eq!(
        names(0),
        vec![(vec!["alpha".into(), "beta".into()], vec![], vec![])]
    );
    assert_eq!(names(1), vec![(vec!["gamma".into()], vec![], vec![])]);
    assert_eq!(
        names(2),
        vec![(vec![], vec!["beta".into()], vec!["alpha 1.0 2.0".into()])]
    );
    assert!(names(3).is_empty());

    // The final list: alpha from layer 2, gamma from layer 1; beta's /bin/beta was
    // measured through the merged-/usr symlink when it was installed.
    let fin: Vec<_> = found
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.layer, p.manager))
        .collect();
    assert_eq!(
        fin,
        vec![("alpha", 2, Manager::Dpkg), ("gamma", 1, Manager::Dpkg)]
    );
    let beta = &found.layers[2].removed[0];
    assert_eq!((beta.bytes, beta.files, beta.layer), (790, 2, 0));
    // alpha 1.0's files were overwritten by 2.0: hidden where they shipped.
    let alpha1 = found.layers[0]
        .added
        .iter()
        .find(|p| p.name == "alpha")
        .unwrap();
    assert_eq!(
        (alpha1.bytes, alpha1.hidden_bytes, alpha1.hidden_files),
        (4200, 4200, 2)
    );
}

#[test]
fn dpkg_file_owners_and_unowned_bytes_match_dpkg_query() {
    if !support::tools::tools(&["umoci", "dpkg", "dpkg-deb", "dpkg-query"], "umoci, dpkg") {
        return;
    }
    let image = debian_image();
    let loaded = load(&image.layout);
    let found = analyze(&loaded);
    let top = image.layers.len() - 1;
    let rootfs = prefix_rootfs(&image, top);
    let owner_of = &found.owners;
    let mut owned_paths = BTreeSet::new();
    for (name, _) in dpkg_query(&rootfs) {
        for path in dpkg_files(&rootfs, &name) {
            if !std::fs::symlink_metadata(rootfs.join(path.trim_start_matches('/')))
                .unwrap()
                .is_file()
            {
                continue;
            }
            let node = loaded
                .tree
                .lookup(path.as_bytes())
                .unwrap_or_else(|| panic!("{path} not in the tree"));
            let owner = owner_of
                .get(&node)
                .unwrap_or_else(|| panic!("{path}: no owner"));
            assert_eq!(
                (owner.0, owner.1.as_str()),
                (Manager::Dpkg, name.as_str()),
                "{path}"
            );
            owned_paths.insert(path);
        }
    }
    // Not owned: the application file.
    let app = loaded.tree.lookup(b"/app/server").unwrap();
    assert!(!owner_of.contains_key(&app));
    // Unowned bytes: every regular file the layers store that no package ever listed:
    // the dpkg database itself and /app/server. Sized from the layer tars' own entries.
    let mut expected = 0u64;
    let mut ever_owned: BTreeSet<String> = owned_paths.clone();
    for l in &found.layers {
        for p in l.removed.iter().chain(&l.added) {
            if p.name == "beta" {
                ever_owned.insert("/usr/bin/beta".into());
                ever_owned.insert("/usr/share/doc/beta/README".into());
            }
        }
    }
    for layer in &image.layers {
        let tar = layer.tar_bytes();
        let mut archive = tar::Archive::new(tar.as_slice());
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let path = format!("/{}", entry.path().unwrap().display());
            if entry.header().entry_type().is_file() && !ever_owned.contains(&path) {
                expected += entry.size();
            }
        }
    }
    assert_eq!(found.unowned_bytes, expected);
}

/// The layer tar of a docker-archive's only layer, and the tool's listing of it.
fn alpine_layer() -> Option<(PathBuf, tempfile::TempDir)> {
    let dir = std::env::var_os("LAYERSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    let fixture = dir.join("alpine-base.tar");
    if !fixture.is_file() {
        eprintln!(
            "note: {} not found; set LAYERSCOPE_FIXTURES",
            fixture.display()
        );
        return None;
    }
    let work = tempfile::tempdir().unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(&fixture)
        .arg("-C")
        .arg(work.path()));
    Some((fixture, work))
}

#[test]
fn apk_packages_files_and_bytes_match_alpines_own_database() {
    let Some((fixture, work)) = alpine_layer() else {
        return;
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.path().join("manifest.json")).unwrap()).unwrap();
    let layer_tar = work.path().join(manifest[0]["Layers"][0].as_str().unwrap());
    let db = run(Command::new("tar")
        .arg("-xOf")
        .arg(&layer_tar)
        .arg("lib/apk/db/installed"));
    let db_path = work.path().join("installed");
    std::fs::write(&db_path, &db).unwrap();
    // The oracle: awk over the database text apk wrote.
    let awk = |program: &str| run(Command::new("awk").arg(program).arg(&db_path));
    let theirs: BTreeSet<String> = awk("/^P:/{p=substr($0,3)} /^V:/{print p\" \"substr($0,3)}")
        .lines()
        .map(String::from)
        .collect();
    let file_owner: Vec<(String, String)> =
        awk("/^P:/{p=substr($0,3)} /^F:/{d=substr($0,3)} /^R:/{print p\" /\"d\"/\"substr($0,3)}")
            .lines()
            .map(|l| {
                let (p, f) = l.split_once(' ').unwrap();
                (p.to_string(), f.to_string())
            })
            .collect();
    // Sizes as `tar -tv` lists the layer: `mode owner size date time path`.
    let sizes: BTreeMap<String, u64> = run(Command::new("tar").arg("-tvf").arg(&layer_tar))
        .lines()
        .filter(|l| l.starts_with('-'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                format!("/{}", f[5..].join(" ").trim_start_matches("./")),
                f[2].parse().unwrap(),
            )
        })
        .collect();

    let loaded = load(&fixture);
    let found = analyze(&loaded);
    assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    let ours: BTreeSet<String> = found
        .packages
        .iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect();
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 14);
    assert!(found
        .packages
        .iter()
        .all(|p| p.manager == Manager::Apk && p.layer == 0));
    assert_eq!(found.layers.len(), 1);
    assert_eq!(found.layers[0].added.len(), 14);

    let owner_of = &found.owners;
    let mut expected_bytes: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (package, path) in &file_owner {
        let node = loaded
            .tree
            .lookup(path.as_bytes())
            .unwrap_or_else(|| panic!("{path} not in the tree"));
        let owner = &owner_of[&node];
        assert_eq!(
            (owner.0, owner.1.as_str()),
            (Manager::Apk, package.as_str()),
            "{path}"
        );
        if let Some(size) = sizes.get(path) {
            let e = expected_bytes.entry(package).or_default();
            e.0 += size;
            e.1 += 1;
        }
    }
    for p in &found.packages {
        let (bytes, files) = expected_bytes
            .get(p.name.as_str())
            .copied()
            .unwrap_or_default();
        assert_eq!((p.bytes, p.files), (bytes, files), "{}", p.name);
    }
    // Not vacuous: the layer's packages hold most of its 3.8 MB.
    assert!(expected_bytes.values().map(|(b, _)| b).sum::<u64>() > 3_000_000);

    // A file's explanation names its package, as apk's database does.
    let facts = layerscope::analysis::explain::Facts::gather(&loaded, None, None);
    let context = facts.context(&loaded.tree);
    for (package, path) in file_owner.iter().step_by(7) {
        let node = loaded.tree.lookup(path.as_bytes()).unwrap();
        let story = layerscope::commands::explain::render_text(
            &layerscope::analysis::explain::explain_path(&context, node),
        );
        assert!(
            story.contains(&format!("It belongs to the package `{package}` ")),
            "{path}: {story}"
        );
    }

    // `explain` names the layer's packages, the largest (by tar's sizes) first.
    let largest = expected_bytes
        .iter()
        .max_by_key(|(_, (b, _))| *b)
        .unwrap()
        .0;
    let out = layerscope(&["explain", fixture.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    let sentence = text
        .lines()
        .find(|l| l.starts_with("It installs 14 packages (apk)"))
        .unwrap_or_else(|| panic!("no package sentence in:\n{text}"));
    assert!(
        sentence.contains(&format!("the largest: `{largest}` ")),
        "{sentence}"
    );
}

#[test]
fn packages_command_json_and_layer_view() {
    let image = debian_image();
    let layout = image.layout.to_str().unwrap();
    let out = layerscope(&["packages", layout, "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["schema"], "layerscope.packages/v1");
    let packages = json["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 2);
    assert_eq!(packages[0]["name"], "alpha");
    assert_eq!(packages[0]["manager"], "dpkg");
    assert_eq!(packages[0]["version"], "2.0");
    assert_eq!(packages[0]["layer"], 2);
    assert_eq!(packages[0]["bytes"], 6300);
    assert_eq!(packages[0]["files"], 2);
    assert_eq!(json["layers"][2]["index"], 2);
    assert_eq!(json["layers"][2]["removed"], serde_json::json!(["beta"]));
    assert_eq!(json["layers"][2]["upgraded"][0]["from"], "1.0");
    assert_eq!(json["layers"][2]["upgraded"][0]["to"], "2.0");
    assert!(json["unowned_bytes"].as_u64().unwrap() >= 2500);

    let out = layerscope(&["packages", layout, "--layer", "0"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("installed 2 packages"), "{text}");
    // Biggest first: alpha (4.2 kB) before beta.
    let (a, b) = (
        text.find("+ alpha 1.0").unwrap(),
        text.find("+ beta 1.0").unwrap(),
    );
    assert!(a < b, "{text}");

    let out = layerscope(&["packages", layout, "--layer", "9"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_corrupt_database_is_a_warning_naming_layer_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let many = "Package: p\nStatus: install ok installed\nVersion: 1\n\n".repeat(100_001);
    let image = ImageSpec::new()
        .layer(LayerSpec::new().file("lib/apk/db/installed", "P:musl\nV:1\n\n"))
        .layer(LayerSpec::new().file("var/lib/dpkg/status", "Version: 1\nno colon here\n"))
        .layer(LayerSpec::new().file("lib/apk/db/installed", many))
        // A file list past its 16 MiB cap is not kept in memory at all.
        .layer(LayerSpec::new().file("var/lib/dpkg/info/big.list", vec![b'/'; (16 << 20) + 1]));
    let path = dir.path().join("image.tar");
    image.write_oci_archive(&path).unwrap();
    let out = layerscope(&["packages", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("layer 1: /var/lib/dpkg/status: package database not read"),
        "{stderr}"
    );
    assert!(
        stderr.contains("layer 2: /lib/apk/db/installed"),
        "{stderr}"
    );
    // The absurd record count is refused (bounded), and the earlier state stands.
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["packages"][0]["name"], "musl");
    assert_eq!(json["warnings"].as_array().unwrap().len(), 3);
}

/// The explorer's load runs the secret rules and the package reader in one parse: each
/// reads back what it found, as when it runs alone.
#[test]
fn secrets_and_packages_share_one_parse() {
    let dir = tempfile::tempdir().unwrap();
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n";
    let image = ImageSpec::new().layer(
        LayerSpec::new()
            .file(
                "lib/apk/db/installed",
                "P:musl\nV:1.2\nF:lib\nR:libc.so\n\n",
            )
            .file("lib/libc.so", bytes(321, 9))
            .file("root/.ssh/id_rsa", key),
    );
    let path = dir.path().join("image.tar");
    image.write_oci_archive(&path).unwrap();
    let both = load_with(&path, layerscope::analysis::explorer_hooks());
    let alone = load_with(&path, layerscope::analysis::secrets::Scan::hook());
    let rules = |loaded: &LoadedImage| -> Vec<&str> {
        layerscope::analysis::secrets::findings(loaded, None)
            .iter()
            .map(|f| f.rule.id)
            .collect()
    };
    assert!(!rules(&alone).is_empty());
    assert_eq!(rules(&both), rules(&alone));
    let packages = analyze(&both).packages;
    assert_eq!(packages.len(), 1);
    assert_eq!(
        (
            packages[0].name.as_str(),
            packages[0].bytes,
            packages[0].files
        ),
        ("musl", 321, 1)
    );
    assert!(analyze(&alone).packages.is_empty());
}

/// distroless keeps no `status` and no `info/`: one stanza per package in
/// `var/lib/dpkg/status.d/NAME` and its file list as `NAME.md5sums`. This image is laid out
/// that way from dpkg's own files (each stanza as `dpkg-query -s` prints it, each md5sums
/// as dpkg wrote it), and must read as dpkg-query reads the real database.
#[test]
fn distroless_status_d_reads_as_dpkg_query_reads_the_real_database() {
    if !support::tools::tools(&["umoci", "dpkg", "dpkg-deb", "dpkg-query"], "umoci, dpkg") {
        return;
    }
    let image = debian_image();
    // After layer 1: alpha 1.0, beta 1.0 and gamma installed.
    let rootfs = prefix_rootfs(&image, 1);
    let admin = rootfs.join("var/lib/dpkg");
    let theirs = dpkg_query(&rootfs);
    assert_eq!(theirs.len(), 3);
    let mut layer = LayerSpec::new().symlink("bin", "usr/bin");
    let mut expected = BTreeMap::new();
    for (name, _) in &theirs {
        let stanza = run(Command::new("dpkg-query")
            .arg(format!("--admindir={}", admin.display()))
            .args(["-s", name]));
        layer = layer
            .file(format!("var/lib/dpkg/status.d/{name}"), stanza)
            .file(
                format!("var/lib/dpkg/status.d/{name}.md5sums"),
                std::fs::read(admin.join(format!("info/{name}.md5sums"))).unwrap(),
            );
        let (mut size, mut files) = (0, 0);
        for path in dpkg_files(&rootfs, name) {
            let at = rootfs.join(path.trim_start_matches('/'));
            let meta = std::fs::metadata(&at).unwrap();
            if meta.is_file() {
                let stored = std::fs::canonicalize(&at).unwrap();
                let stored = stored
                    .strip_prefix(std::fs::canonicalize(&rootfs).unwrap())
                    .unwrap();
                layer = layer.file(stored.to_str().unwrap(), std::fs::read(&at).unwrap());
                size += meta.len();
                files += 1;
            }
        }
        expected.insert(name.clone(), (size, files));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("distroless.tar");
    ImageSpec::new()
        .layer(layer)
        .write_oci_archive(&path)
        .unwrap();
    let found = analyze(&load(&path));
    assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    let ours: BTreeSet<(String, String)> = found
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(ours, theirs);
    for p in &found.packages {
        assert_eq!((p.bytes, p.files), expected[&p.name], "{}", p.name);
        assert!(p.files > 0);
    }
}

/// With `--dockerfile`, each package names the Dockerfile line of the layer that installed
/// it.
#[test]
fn dockerfile_lines_name_where_each_package_was_installed() {
    let image = debian_image();
    let steps = [
        "RUN dpkg -i alpha_1.0_all.deb beta_1.0_all.deb",
        "RUN dpkg -i gamma_0.9-1_all.deb",
        "RUN dpkg -i alpha_2.0_all.deb && dpkg -r beta",
        "COPY server /app/server",
    ];
    let spec = steps.iter().fold(image_of(&image.layers), |spec, step| {
        let created = match step.strip_prefix("RUN ") {
            Some(command) => format!("RUN /bin/sh -c {command} # buildkit"),
            None => format!("{step} # buildkit"),
        };
        spec.history(support::HistoryEntry::layer(&created))
    });
    let layout = image.work.join("with-history");
    spec.write_oci_layout(&layout).unwrap();
    let dockerfile = image.work.join("Dockerfile");
    std::fs::write(&dockerfile, format!("FROM scratch\n{}\n", steps.join("\n"))).unwrap();
    let out = layerscope(&[
        "packages",
        layout.to_str().unwrap(),
        "--format",
        "json",
        "--dockerfile",
        dockerfile.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let line_of = |name: &str| {
        let package = json["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap();
        (
            package["dockerfile"]["line"].as_u64(),
            package["dockerfile"]["instruction"].clone(),
        )
    };
    assert_eq!(line_of("alpha").0, Some(4), "{json:#}");
    assert_eq!(line_of("gamma").0, Some(3), "{json:#}");
    assert!(line_of("gamma").1.as_str().unwrap().contains("gamma"));
}
