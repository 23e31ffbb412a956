//! The fleet test set, shared by tests/fleet.rs and tests/fleet_db.rs: two apps on one
//! base, one app on a newer base, and an unrelated image, as gzip OCI archives; the base
//! ships a credential ([`NETRC`]).

use super::{Compression, Content, ImageSpec, LayerSpec};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Incompressible bytes, so blob sizes differ layer by layer.
pub fn random(len: u64, seed: u64) -> Content {
    Content::Random { len, seed }
}

/// A credential left in the shared base: every image on that base ships it.
pub const NETRC: &str = "machine registry.example login builder password hunter2-but-longer\n";

pub fn base_layer() -> LayerSpec {
    LayerSpec::new()
        .dir("etc", 0o755)
        .file("etc/os-release", "ID=test\nVERSION_ID=1\n")
        .dir("root", 0o700)
        .file("root/.netrc", NETRC)
        .content("usr/lib/libbase.so", random(200_000, 1))
}

pub fn newer_base_layer() -> LayerSpec {
    LayerSpec::new()
        .dir("etc", 0o755)
        .file("etc/os-release", "ID=test\nVERSION_ID=2\n")
        .content("usr/lib/libbase.so", random(210_000, 2))
}

/// Bytes of the base's file that app2 deletes: its wasted bytes.
pub const DELETED: usize = 30_000;

pub struct Set {
    pub _dir: tempfile::TempDir,
    /// (name as passed to fleet, path)
    pub images: Vec<(String, PathBuf)>,
}

/// app1 and app2 on one base (two layers), app3 on a newer base, and an unrelated image.
impl Set {
    /// Push every image to `registry` as `NAME:v1` (its file's stem); their references,
    /// in the set's order.
    pub fn push_to(&self, registry: &super::registry::Registry) -> Vec<String> {
        self.images
            .iter()
            .map(|(name, path)| {
                let repo = std::path::Path::new(name)
                    .file_stem()
                    .unwrap()
                    .to_str()
                    .unwrap();
                registry.push(path, &format!("{repo}:v1"), false, None);
                format!("registry://{}/{repo}:v1", registry.host())
            })
            .collect()
    }
}

pub fn build_set() -> Set {
    let dir = tempfile::tempdir().unwrap();
    let base = || {
        ImageSpec::new().layer(base_layer()).layer(
            LayerSpec::new()
                .dir("opt", 0o755)
                .content("opt/tools.bin", random(DELETED as u64, 3)),
        )
    };
    let specs = [
        (
            "app1",
            base().layer(LayerSpec::new().content("app/one", random(50_000, 4))),
        ),
        (
            "app2",
            base().layer(
                LayerSpec::new()
                    .content("app/two", random(70_000, 5))
                    .whiteout("opt/tools.bin"),
            ),
        ),
        (
            "app3",
            ImageSpec::new()
                .layer(newer_base_layer())
                .layer(LayerSpec::new().content("app/three", random(40_000, 6))),
        ),
        (
            "other",
            ImageSpec::new().layer(LayerSpec::new().content("data/blob", random(90_000, 7))),
        ),
    ];
    let images = specs
        .into_iter()
        .map(|(name, spec)| {
            let path = dir.path().join(format!("{name}.tar"));
            spec.compression(Compression::Gzip)
                .write_oci_archive(&path)
                .unwrap();
            (path.to_str().unwrap().to_string(), path)
        })
        .collect();
    Set { _dir: dir, images }
}

/// The blob GETs in a registry's access log, by digest.
pub fn blob_gets(log: &str) -> BTreeMap<String, usize> {
    let mut gets = BTreeMap::new();
    for line in log.lines().filter(|l| l.contains("\"GET /v2/")) {
        if let Some((_, rest)) = line.split_once("/blobs/") {
            let digest: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
            *gets.entry(digest).or_insert(0) += 1;
        }
    }
    gets
}
