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
use support::dpkg::{build_deb_for, debian_image, dpkg, dpkg_query};
use support::rootfs::{
    bytes, image_of, layerscope, load, load_with, prefix_rootfs, run, LayeredImage, Steps,
};
use support::{ImageSpec, LayerSpec};

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
            for p in &changes.removed {
                assert_eq!(ours.remove(&p.name).as_deref(), Some(p.version.as_str()));
            }
            for p in &changes.added {
                assert!(ours.insert(p.name.clone(), p.version.clone()).is_none());
                installed_in.insert(p.name.clone(), top);
            }
            for (u, _) in &changes.upgraded {
                assert_eq!(
                    ours.insert(u.name.clone(), u.to.clone()).as_deref(),
                    Some(u.from.as_str())
                );
                installed_in.insert(u.name.clone(), top);
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
            let (mut size, mut files) = (0, 0);
            for path in dpkg_files(&rootfs, name) {
                let meta = std::fs::metadata(rootfs.join(path.trim_start_matches('/'))).unwrap();
                if meta.is_file() {
                    size += meta.len();
                    files += 1;
                }
            }
            assert_eq!(
                (measured.bytes, measured.files),
                (size, files),
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

/// A package installed for two architectures (`Multi-Arch: same`) is two packages, named
/// as dpkg-query names them (`${binary:Package}`), each owning and measured by its own list.
#[test]
fn multi_arch_packages_are_one_per_architecture_as_dpkg_query_names_them() {
    if !support::tools::tools(&["umoci", "dpkg", "dpkg-deb", "dpkg-query"], "umoci, dpkg") {
        return;
    }
    let native = run(Command::new("dpkg").arg("--print-architecture"));
    let native = native.trim();
    let foreign = if native == "i386" { "amd64" } else { "i386" };
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().to_path_buf();
    let lib = |arch: &str, len: usize, seed: u8| {
        let at = format!("usr/lib/{arch}-linux-gnu/libdemo.so.1");
        let copyright = ("usr/share/doc/libdemo1/copyright", bytes(64, 1));
        build_deb_for(
            &work,
            ("libdemo1", "1.0", arch),
            "Multi-Arch: same\n",
            &[(at.as_str(), bytes(len, seed)), copyright],
        )
    };
    let (native_lib, foreign_lib) = (lib(native, 3000, 2), lib(foreign, 2200, 3));
    let tool = build_deb_for(
        &work,
        ("demo-tool", "1.0", native),
        "Depends: libdemo1 (>= 1.0)\n",
        &[("usr/bin/demo", bytes(900, 4))],
    );
    let rootfs = work.join("rootfs");
    for d in ["usr/bin", "var/lib/dpkg/info", "var/lib/dpkg/updates"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::write(rootfs.join("var/lib/dpkg/status"), "").unwrap();
    let mut steps = Steps::default();
    dpkg(&rootfs, &["--add-architecture", foreign], &[]);
    dpkg(&rootfs, &["-i"], &[&native_lib, &foreign_lib, &tool]);
    steps.step(&rootfs);
    dpkg(&rootfs, &["-r", &format!("libdemo1:{foreign}")], &[]);
    steps.step(&rootfs);
    let image = LayeredImage::new(dir, steps.layers);
    let found = analyze(&load(&image.layout));
    assert!(found.warnings.is_empty(), "{:?}", found.warnings);

    let rootfs0 = prefix_rootfs(&image, 0);
    let both: BTreeSet<(String, String)> = dpkg_query(&rootfs0);
    let added: BTreeSet<(String, String)> = found.layers[0]
        .added
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(added, both);
    assert_eq!(both.len(), 3, "{both:?}");
    // Each instance is measured by its own list, as dpkg-query -L lists it.
    for p in &found.layers[0].added {
        let size: u64 = dpkg_files(&rootfs0, &p.name)
            .iter()
            .filter_map(|path| std::fs::metadata(rootfs0.join(path.trim_start_matches('/'))).ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum();
        assert_eq!(p.bytes, size, "{}", p.name);
    }
    let removed: Vec<&str> = found.layers[1]
        .removed
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let after: BTreeSet<String> = dpkg_query(&prefix_rootfs(&image, 1))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let gone: Vec<String> = both
        .iter()
        .map(|(n, _)| n.clone())
        .filter(|n| !after.contains(n))
        .collect();
    assert_eq!(removed, gone);
    assert_eq!(removed, [format!("libdemo1:{foreign}")]);
    let arch: BTreeSet<&str> = found.packages.iter().map(|p| p.arch.as_str()).collect();
    assert_eq!(arch, BTreeSet::from([native]));
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
    assert_eq!(packages[0]["arch"], "all");
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

/// `diff A B` lists the packages B added, removed and upgraded, each with the bytes its
/// files take in the image that has it: checked against dpkg-query over umoci's unpack of
/// each image, and `ls`-style sizes of the files dpkg-query lists.
#[test]
fn diff_lists_package_changes_as_dpkg_query_sees_each_image() {
    if !support::tools::tools(&["umoci", "dpkg", "dpkg-deb", "dpkg-query"], "umoci, dpkg") {
        return;
    }
    let image = debian_image();
    // A: after layer 0 (alpha 1.0, beta); B: the whole image (alpha 2.0, gamma).
    let top = image.layers.len() - 1;
    let (rootfs_a, rootfs_b) = (prefix_rootfs(&image, 0), prefix_rootfs(&image, top));
    let (a, b) = (
        image.work.join("layout-0"),
        image.work.join(format!("layout-{top}")),
    );
    let (in_a, in_b) = (dpkg_query(&rootfs_a), dpkg_query(&rootfs_b));
    let versions = |set: &BTreeSet<(String, String)>| -> BTreeMap<String, String> {
        set.iter().cloned().collect()
    };
    let (in_a, in_b) = (versions(&in_a), versions(&in_b));
    let measured = |rootfs: &Path, name: &str| -> u64 {
        dpkg_files(rootfs, name)
            .iter()
            .filter_map(|path| std::fs::metadata(rootfs.join(path.trim_start_matches('/'))).ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum()
    };

    let out = layerscope(&[
        "diff",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = &json["packages"];
    let listed = |key: &str| -> BTreeMap<String, (String, u64)> {
        packages[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let name = p["name"].as_str().unwrap().to_string();
                (
                    name,
                    (
                        p["version"].as_str().unwrap().into(),
                        p["bytes"].as_u64().unwrap(),
                    ),
                )
            })
            .collect()
    };
    let expected_added: BTreeMap<String, (String, u64)> = in_b
        .iter()
        .filter(|(n, _)| !in_a.contains_key(*n))
        .map(|(n, v)| (n.clone(), (v.clone(), measured(&rootfs_b, n))))
        .collect();
    let expected_removed: BTreeMap<String, (String, u64)> = in_a
        .iter()
        .filter(|(n, _)| !in_b.contains_key(*n))
        .map(|(n, v)| (n.clone(), (v.clone(), measured(&rootfs_a, n))))
        .collect();
    assert_eq!(listed("added"), expected_added);
    assert_eq!(listed("removed"), expected_removed);
    assert_eq!(expected_added.keys().collect::<Vec<_>>(), ["gamma"]);
    assert_eq!(expected_removed.keys().collect::<Vec<_>>(), ["beta"]);
    let upgraded: Vec<(String, String, String, u64, u64)> = packages["upgraded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap().into(),
                u["from"].as_str().unwrap().into(),
                u["to"].as_str().unwrap().into(),
                u["bytes_a"].as_u64().unwrap(),
                u["bytes_b"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected_upgraded: Vec<_> = in_b
        .iter()
        .filter(|(n, v)| in_a.get(*n).is_some_and(|old| old != *v))
        .map(|(n, v)| {
            (
                n.clone(),
                in_a[n].clone(),
                v.clone(),
                measured(&rootfs_a, n),
                measured(&rootfs_b, n),
            )
        })
        .collect();
    assert_eq!(upgraded, expected_upgraded);
    assert_eq!(upgraded.len(), 1);

    // The text names the same changes, with the same measured sizes.
    let out = layerscope(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Packages: 1 added (4.1 kB), 1 removed (790 B), 1 upgraded (+2.1 kB)"),
        "{text}"
    );
    assert!(
        text.contains("^   +2.1 kB  alpha 1.0 -> 2.0 (dpkg, 4.2 kB -> 6.3 kB)"),
        "{text}"
    );
    // Images without a database say nothing about packages.
    let plain = image.work.join("plain.tar");
    ImageSpec::new()
        .layer(LayerSpec::new().file("app/x", "x"))
        .write_oci_archive(&plain)
        .unwrap();
    let p = plain.to_str().unwrap();
    let out = layerscope(&["diff", p, p, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["packages"].is_null());
}

/// The package hints of `ci`, checked against dpkg's own answers over umoci's unpack: which
/// files each package owns (`dpkg-query -L`), their sizes on the unpacked rootfs, and
/// whether anything depends on a package (`dpkg --no-act -r` refuses to remove one that an
/// installed package depends on, by name or through what it provides).
#[test]
fn package_hints_in_ci_match_dpkg_over_the_unpacked_image() {
    if !support::tools::tools(&["umoci", "dpkg", "dpkg-deb", "dpkg-query"], "umoci, dpkg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().to_path_buf();
    let deb = |name: &str, control: &str, files: &[(&str, usize)]| {
        let files: Vec<(&str, Vec<u8>)> = files
            .iter()
            .enumerate()
            .map(|(i, &(path, len))| (path, bytes(len, i as u8)))
            .collect();
        build_deb_for(&work, (name, "1.0", "all"), control, &files)
    };
    let base = deb(
        "basepkg",
        "",
        &[
            ("usr/share/doc/basepkg/README", 900),
            ("usr/lib/base.so", 100),
        ],
    );
    let debs = [
        deb(
            "libfoo1",
            "",
            &[
                ("usr/lib/libfoo.so.1", 3000),
                ("usr/share/doc/libfoo1/changelog", 500),
                ("usr/share/locale/de/LC_MESSAGES/foo.mo", 700),
            ],
        ),
        deb(
            "libfoo-dev",
            "Depends: libfoo1 (= 1.0)\n",
            &[
                ("usr/include/foo.h", 400),
                ("usr/share/man/man3/foo.3", 300),
            ],
        ),
        deb("gcc-99", "", &[("usr/bin/gcc-99", 5000)]),
        deb(
            "footool",
            "Depends: libfoo1, virtual-data | otherdata\n",
            &[
                ("usr/bin/footool", 2000),
                ("usr/share/man/man1/footool.1", 250),
            ],
        ),
        deb(
            "realdata",
            "Provides: virtual-data\n",
            &[("usr/share/realdata/blob", 6000)],
        ),
        deb("bigdata", "", &[("usr/share/bigdata/blob", 8000)]),
    ];
    let rootfs = work.join("rootfs");
    for d in ["usr/bin", "var/lib/dpkg/info", "var/lib/dpkg/updates"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::write(rootfs.join("var/lib/dpkg/status"), "").unwrap();
    let mut steps = Steps::default();
    dpkg(&rootfs, &["-i"], &[&base]);
    steps.step(&rootfs);
    dpkg(
        &rootfs,
        &["-i"],
        &debs.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
    );
    steps.step(&rootfs);
    let image = LayeredImage::new(dir, steps.layers);
    let unpacked = prefix_rootfs(&image, 1);
    let installed_in_base: BTreeSet<String> = dpkg_query(&prefix_rootfs(&image, 0))
        .into_iter()
        .map(|(n, _)| n)
        .collect();

    // The oracle: per package of layer 1, its regular files and their sizes.
    let size_of = |path: &str| {
        std::fs::symlink_metadata(unpacked.join(path.trim_start_matches('/')))
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    };
    let is_doc = |path: &str| {
        ["/usr/share/doc/", "/usr/share/man/", "/usr/share/locale/"]
            .iter()
            .any(|root| path.starts_with(root))
    };
    let removable = |name: &str| {
        Command::new("dpkg")
            .arg(format!("--root={}", unpacked.display()))
            .args([
                "--log=/dev/null",
                "--force-not-root",
                "--no-act",
                "-r",
                name,
            ])
            .output()
            .unwrap()
            .status
            .success()
    };
    let (mut dev, mut docs, mut leaves) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for (name, _) in dpkg_query(&unpacked) {
        if installed_in_base.contains(&name) {
            continue;
        }
        let files: Vec<(String, u64)> = dpkg_files(&unpacked, &name)
            .into_iter()
            .filter_map(|p| size_of(&p).map(|s| (p, s)))
            .collect();
        let sum = |keep: &dyn Fn(&str) -> bool| -> u64 {
            files.iter().filter(|(p, _)| keep(p)).map(|(_, s)| s).sum()
        };
        // The hint's own naming rule: compilers by name, `-dev` packages by suffix.
        if name.starts_with("gcc-") || name.ends_with("-dev") {
            dev.insert(name, sum(&|_| true));
            continue;
        }
        let doc_bytes = sum(&|p| is_doc(p));
        if doc_bytes > 0 {
            docs.insert(name.clone(), doc_bytes);
        }
        if removable(&name) {
            leaves.insert(name, sum(&|p| !is_doc(p)));
        }
    }
    assert_eq!(dev.keys().collect::<Vec<_>>(), ["gcc-99", "libfoo-dev"]);
    assert_eq!(leaves.keys().collect::<Vec<_>>(), ["bigdata", "footool"]);

    let out = layerscope(&["ci", image.layout.to_str().unwrap(), "--format", "json"]);
    assert!(
        out.status.code().unwrap() < 2,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hint = |kind: &str, needle: &str| {
        json["hints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["kind"] == kind && h["summary"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("no {kind} hint in {:#}", json["hints"]))
            .clone()
    };
    let named = |hint: &serde_json::Value, expected: &BTreeMap<String, u64>| {
        let summary = hint["summary"].as_str().unwrap().to_string();
        for (name, bytes) in expected {
            let human = layerscope::size::human(*bytes);
            assert!(summary.contains(&format!("`{name}` {human}")), "{summary}");
        }
        assert_eq!(hint["bytes"], expected.values().sum::<u64>(), "{summary}");
    };
    named(&hint("build-toolchain", "-dev packages"), &dev);
    named(&hint("package-docs", "documentation"), &docs);
    named(&hint("no-dependents", "depends on"), &leaves);
    // The base image's documentation is not the Dockerfile's to change.
    let all = json["hints"].to_string();
    assert!(!all.contains("basepkg"), "{all}");
    // Nothing the image depends on is called that: realdata provides what footool needs.
    assert!(!hint("no-dependents", "depends on")["summary"]
        .as_str()
        .unwrap()
        .contains("realdata"));
}
