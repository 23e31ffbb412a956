//! A set of images (`fleet`): what each image costs on top of the others, what the set
//! shares, what a registry stores and what a fresh node pulls, and the sharing tree. Pure
//! functions of per-image facts: each image's merged tree is measured once
//! ([`ImageFacts::of`]) and dropped, so the set costs memory per layer, not per tree.

use crate::escape::escape_str;
use crate::model::LoadedImage;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One layer of one image: the key it is shared by and its sizes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LayerFacts {
    /// The diff_id; else the blob digest; else a name no other layer has
    /// (`unidentified:IMAGE:INDEX`), so the layer is never counted as shared.
    pub key: String,
    /// The blob's digest, when known.
    pub digest: Option<String>,
    /// The blob as stored: what a pull downloads.
    pub compressed_download: u64,
    /// The layer's file bytes, uncompressed.
    pub layer_content: u64,
    /// Of those, the bytes a later layer of this image hides for good (overwrites or
    /// deletes): the waste this layer carries here. Waste is the stack's, so it is kept
    /// with the image, not with the shared layer.
    #[serde(default)]
    pub wasted_bytes: u64,
}

/// What the set keeps of one image once its tree is dropped (and `fleet --db` stores).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ImageFacts {
    pub name: String,
    pub layers: Vec<LayerFacts>,
    /// What a container sees: each file of the final filesystem once.
    pub final_filesystem: u64,
    pub wasted_bytes: u64,
    pub efficiency: f64,
    /// The secret rules' findings (files of every layer, and the config), when the load
    /// ran the scan ([`super::secrets::Scan`]); else the config's alone.
    pub secret_findings: usize,
}

impl ImageFacts {
    /// Measure a loaded image: its layers' facts, and its tree's final filesystem and
    /// waste (the tree can be dropped afterwards).
    /// Names and keys are escaped here ([`crate::escape`]), so every view may print them.
    pub fn of(name: &str, loaded: &LoadedImage) -> Self {
        let name = escape_str(name).into_owned();
        let waste = super::analyze(&loaded.tree, &super::AnalysisOptions::default());
        let layers = loaded
            .layers
            .iter()
            .map(|layer| LayerFacts {
                key: match layer.diff_id.as_deref().or(layer.digest.as_deref()) {
                    Some(key) => escape_str(key).into_owned(),
                    None => format!("unidentified:{name}:{}", layer.index),
                },
                digest: layer.digest.as_deref().map(|d| escape_str(d).into_owned()),
                compressed_download: layer.compressed_bytes,
                layer_content: layer.content_bytes,
                // The waste analysis keeps one entry per layer, by index.
                wasted_bytes: waste
                    .per_layer
                    .get(layer.index)
                    .map_or(0, |w| w.wasted_bytes),
            })
            .collect();
        ImageFacts {
            name,
            layers,
            final_filesystem: super::compare::final_size(&loaded.tree),
            wasted_bytes: waste.wasted_bytes,
            efficiency: waste.efficiency,
            secret_findings: super::secrets::findings(loaded, None).len(),
        }
    }
}

/// Bytes counted two ways: as downloaded and as files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Bytes {
    pub compressed_download: u64,
    pub layer_content: u64,
}

impl Bytes {
    fn add(&mut self, layer: &LayerFacts) {
        self.compressed_download = self
            .compressed_download
            .saturating_add(layer.compressed_download);
        self.layer_content = self.layer_content.saturating_add(layer.layer_content);
    }
}

/// The longest run of bottom layers an image shares with another image of the set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Base {
    /// The other image (the first in the set's order, when several share as many).
    pub image: String,
    pub layers: usize,
    pub bytes: Bytes,
}

/// One image of the set.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImageRow {
    pub name: String,
    /// Its layers' keys (diff_ids), bottom first.
    pub layers: Vec<String>,
    /// Every layer: the image's own compressed download and layer content.
    pub size: Bytes,
    pub final_filesystem: u64,
    /// Layers no other image of the set has: what this image adds to the set.
    pub unique: Bytes,
    /// Layers at least one other image has.
    pub shared: Bytes,
    pub efficiency: f64,
    pub wasted_bytes: u64,
    pub secret_findings: usize,
    pub base: Option<Base>,
}

/// One distinct layer of the set.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerRow {
    /// The blob digests it is stored under (one per compression).
    pub digests: Vec<String>,
    /// Of the first image that has it.
    pub compressed_download: u64,
    pub layer_content: u64,
    /// The images that have it, in the set's order.
    pub images: Vec<String>,
}

/// A run of layers that the same images share, and the branches above it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Branch {
    /// Keys of the layers, bottom first.
    pub layers: Vec<String>,
    /// Those layers' sizes, each once.
    pub bytes: Bytes,
    /// Every image whose stack goes through this run.
    pub images: Vec<String>,
    /// The images whose stack ends with this run.
    pub ends: Vec<String>,
    pub children: Vec<Branch>,
}

/// Totals across the set.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Totals {
    pub images: usize,
    /// Layers of all images, counted once per image that has them.
    pub layer_references: usize,
    pub distinct_layers: usize,
    /// Layers two or more images have.
    pub shared_layers: usize,
    /// Each distinct blob (by digest) once: what a registry stores for the layers.
    pub stored_bytes: u64,
    /// Each distinct layer (by diff_id) once: what a fresh node pulls for every image.
    pub pull_bytes: u64,
    /// Every image pulled on its own: the sum of their compressed downloads.
    pub naive_pull_bytes: u64,
}

/// The set, measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Fleet {
    pub totals: Totals,
    pub images: Vec<ImageRow>,
    /// Every distinct layer, by key (diff_id).
    pub layers: BTreeMap<String, LayerRow>,
    /// The sharing tree: one root per distinct bottom layer.
    pub tree: Vec<Branch>,
}

/// Measure a set of images.
pub fn fleet(images: &[ImageFacts]) -> Fleet {
    let mut layers: BTreeMap<String, LayerRow> = BTreeMap::new();
    let mut digests: HashMap<&str, u64> = HashMap::new();
    let mut totals = Totals {
        images: images.len(),
        ..Default::default()
    };
    for image in images {
        for layer in &image.layers {
            totals.layer_references += 1;
            totals.naive_pull_bytes = totals
                .naive_pull_bytes
                .saturating_add(layer.compressed_download);
            if let Some(digest) = &layer.digest {
                digests
                    .entry(digest.as_str())
                    .or_insert(layer.compressed_download);
            }
            let row = layers.entry(layer.key.clone()).or_insert_with(|| {
                totals.pull_bytes = totals.pull_bytes.saturating_add(layer.compressed_download);
                LayerRow {
                    digests: Vec::new(),
                    compressed_download: layer.compressed_download,
                    layer_content: layer.layer_content,
                    images: Vec::new(),
                }
            });
            if let Some(digest) = &layer.digest {
                if !row.digests.contains(digest) {
                    row.digests.push(digest.clone());
                }
            }
            if row.images.last() != Some(&image.name) {
                row.images.push(image.name.clone());
            }
        }
    }
    // A layer known by no digest is stored once per key.
    let undigested: u64 = layers
        .values()
        .filter(|row| row.digests.is_empty())
        .map(|row| row.compressed_download)
        .fold(0, u64::saturating_add);
    totals.stored_bytes = digests
        .values()
        .copied()
        .fold(undigested, u64::saturating_add);
    totals.distinct_layers = layers.len();
    totals.shared_layers = layers.values().filter(|row| row.images.len() > 1).count();

    let rows = images
        .iter()
        .enumerate()
        .map(|(index, image)| {
            let (mut size, mut unique, mut shared) = Default::default();
            for layer in &image.layers {
                Bytes::add(&mut size, layer);
                if layers[&layer.key].images.len() > 1 {
                    Bytes::add(&mut shared, layer);
                } else {
                    Bytes::add(&mut unique, layer);
                }
            }
            ImageRow {
                name: image.name.clone(),
                layers: image.layers.iter().map(|l| l.key.clone()).collect(),
                size,
                final_filesystem: image.final_filesystem,
                unique,
                shared,
                efficiency: image.efficiency,
                wasted_bytes: image.wasted_bytes,
                secret_findings: image.secret_findings,
                base: base(images, index),
            }
        })
        .collect();
    Fleet {
        totals,
        images: rows,
        layers,
        tree: branches(images, (0..images.len()).collect(), 0),
    }
}

/// How many bottom layers two images have in common.
fn common_prefix(a: &ImageFacts, b: &ImageFacts) -> usize {
    a.layers
        .iter()
        .zip(&b.layers)
        .take_while(|(x, y)| x.key == y.key)
        .count()
}

fn base(images: &[ImageFacts], index: usize) -> Option<Base> {
    let image = &images[index];
    let (other, layers) = images
        .iter()
        .enumerate()
        .filter(|&(other, _)| other != index)
        .map(|(other, o)| (other, common_prefix(image, o)))
        // The longest; on a tie, the first in the set's order.
        .fold(
            None,
            |best: Option<(usize, usize)>, (other, n)| match best {
                Some((_, m)) if m >= n => best,
                _ => Some((other, n)),
            },
        )?;
    if layers == 0 {
        return None;
    }
    let mut bytes = Bytes::default();
    for layer in &image.layers[..layers] {
        bytes.add(layer);
    }
    Some(Base {
        image: images[other].name.clone(),
        layers,
        bytes,
    })
}

/// The branches above `depth` layers for `members` (images whose first `depth` layers are
/// the same): grouped by their next layer, each group's run extended while all of its
/// images go on together.
fn branches(images: &[ImageFacts], members: Vec<usize>, depth: usize) -> Vec<Branch> {
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for member in members {
        let Some(layer) = images[member].layers.get(depth) else {
            continue;
        };
        match groups.iter_mut().find(|(key, _)| *key == layer.key) {
            Some((_, group)) => group.push(member),
            None => groups.push((&layer.key, vec![member])),
        }
    }
    groups
        .into_iter()
        .map(|(_, group)| {
            let first = &images[group[0]];
            let mut end = depth + 1;
            // Extend while every image of the group has one more layer, the same one, and
            // none of them ends here.
            while group.iter().all(|&m| {
                images[m].layers.len() > end && images[m].layers[end].key == first.layers[end].key
            }) {
                end += 1;
            }
            let mut bytes = Bytes::default();
            for layer in &first.layers[depth..end] {
                bytes.add(layer);
            }
            let names = |set: &mut dyn Iterator<Item = &usize>| -> Vec<String> {
                set.map(|&m| images[m].name.clone()).collect()
            };
            let ends = names(&mut group.iter().filter(|&&m| images[m].layers.len() == end));
            Branch {
                layers: first.layers[depth..end]
                    .iter()
                    .map(|l| l.key.clone())
                    .collect(),
                bytes,
                images: names(&mut group.iter()),
                ends,
                children: branches(images, group, end),
            }
        })
        .collect()
}

/// The images named more than once in a set (each name once), which `fleet` refuses.
pub fn repeated(names: &[String]) -> Vec<&str> {
    let mut seen = BTreeSet::new();
    let mut again = BTreeSet::new();
    for name in names {
        if !seen.insert(name.as_str()) {
            again.insert(name.as_str());
        }
    }
    again.into_iter().collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An image's facts: its layers by key and compressed download (content three times
    /// that), each blob named after its key.
    pub(crate) fn image(name: &str, layers: &[(&str, u64)]) -> ImageFacts {
        ImageFacts {
            name: name.into(),
            layers: layers
                .iter()
                .map(|&(key, size)| LayerFacts {
                    key: key.into(),
                    digest: Some(format!("blob-{key}")),
                    compressed_download: size,
                    layer_content: size * 3,
                    wasted_bytes: 0,
                })
                .collect(),
            final_filesystem: 0,
            wasted_bytes: 0,
            efficiency: 1.0,
            secret_findings: 0,
        }
    }

    #[test]
    fn unique_shared_pull_and_the_sharing_tree() {
        let set = [
            image("app1", &[("base", 100), ("a1", 10)]),
            image("app2", &[("base", 100), ("a2", 20)]),
            image("app3", &[("newbase", 120), ("a3", 30)]),
            image("other", &[("x", 7)]),
        ];
        let f = fleet(&set);
        assert_eq!(f.totals.distinct_layers, 6);
        assert_eq!(f.totals.layer_references, 7);
        assert_eq!(f.totals.naive_pull_bytes, 387);
        assert_eq!(f.totals.pull_bytes, 287);
        assert_eq!(f.totals.stored_bytes, 287);
        assert_eq!(f.totals.shared_layers, 1);
        assert_eq!(f.images[0].unique.compressed_download, 10);
        assert_eq!(f.images[0].shared.compressed_download, 100);
        assert_eq!(f.images[0].shared.layer_content, 300);
        assert_eq!(f.images[2].unique.compressed_download, 150);
        let base = f.images[1].base.as_ref().unwrap();
        assert_eq!((base.image.as_str(), base.layers), ("app1", 1));
        assert!(f.images[2].base.is_none());
        // Three roots: the shared base (two branches), the newer base, the unrelated one.
        assert_eq!(f.tree.len(), 3);
        assert_eq!(f.tree[0].images, ["app1", "app2"]);
        assert_eq!(f.tree[0].bytes.compressed_download, 100);
        assert_eq!(f.tree[0].children.len(), 2);
        assert_eq!(f.tree[0].children[1].ends, ["app2"]);
        // A run the same images go on together is one branch.
        assert_eq!(f.tree[1].layers, ["newbase", "a3"]);
        assert_eq!(f.tree[1].bytes.compressed_download, 150);
    }

    #[test]
    fn one_layer_under_two_compressions_is_pulled_once_and_stored_twice() {
        let mut b = image("b", &[("base", 90)]);
        b.layers[0].digest = Some("blob-base-zstd".into());
        let f = fleet(&[image("a", &[("base", 100)]), b]);
        assert_eq!(f.totals.pull_bytes, 100);
        assert_eq!(f.totals.stored_bytes, 190);
        assert_eq!(f.layers["base"].digests.len(), 2);
    }

    #[test]
    fn a_name_given_twice_is_found() {
        let names: Vec<String> = ["a", "b", "a"].map(String::from).into();
        assert_eq!(repeated(&names), ["a"]);
    }
}
