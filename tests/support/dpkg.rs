//! A Debian image whose package database Debian's own `dpkg` wrote: tiny .debs built with
//! `dpkg-deb`, installed, upgraded and removed with `dpkg --root` on a real rootfs, each
//! step's changes turned into a layer. Shared by the tests whose oracle is dpkg
//! (`packages`, the report's Packages section).

use super::rootfs::{bytes, run, LayeredImage, Steps};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tiny arch:all .deb of `files` (path, bytes), built with dpkg-deb.
pub fn build_deb(dir: &Path, name: &str, version: &str, files: &[(&str, Vec<u8>)]) -> PathBuf {
    build_deb_for(dir, (name, version, "all"), "", files)
}

/// A tiny .deb for `arch`, with `control` (more fields, one per line) in its control file.
pub fn build_deb_for(
    dir: &Path,
    (name, version, arch): (&str, &str, &str),
    control: &str,
    files: &[(&str, Vec<u8>)],
) -> PathBuf {
    let root = dir.join(format!("{name}-{version}-{arch}"));
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: {arch}\n{control}Maintainer: test <t@example.org>\nDescription: layerscope test package\n"
        ),
    )
    .unwrap();
    for (path, bytes) in files {
        let at = root.join(path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(&at, bytes).unwrap();
    }
    let deb = dir.join(format!("{name}_{version}_{arch}.deb"));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zgzip", "--build"])
        .arg(&root)
        .arg(&deb));
    deb
}

pub fn dpkg(rootfs: &Path, args: &[&str], debs: &[&Path]) {
    run(Command::new("dpkg")
        .arg(format!("--root={}", rootfs.display()))
        .args(["--log=/dev/null", "--force-not-root"])
        .args(args)
        .args(debs));
}

/// Four layers, each made by dpkg on a real rootfs with a merged /usr:
/// 0: an empty database, then alpha 1.0 and beta 1.0 (beta ships /bin/beta, through
///    the /bin symlink); 1: gamma; 2: alpha upgraded to 2.0, beta removed;
/// 3: an application file no package owns.
pub fn debian_image() -> LayeredImage {
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

/// `name version` of every installed package, as dpkg-query reads the admindir.
pub fn dpkg_query(rootfs: &Path) -> BTreeSet<(String, String)> {
    run(Command::new("dpkg-query")
        .arg(format!(
            "--admindir={}",
            rootfs.join("var/lib/dpkg").display()
        ))
        .args([
            "-W",
            "-f=${db:Status-Status} ${binary:Package} ${Version}\\n",
        ]))
    .lines()
    .filter_map(|l| l.strip_prefix("installed "))
    .map(|l| {
        let (n, v) = l.split_once(' ').unwrap();
        (n.to_string(), v.to_string())
    })
    .collect()
}
