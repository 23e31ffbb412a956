//! OS packages per layer: the dpkg, apk and rpm databases read as each layer left them, what
//! every layer installed, removed and upgraded, and what each package costs in the bytes
//! its layer stores.
//!
//! The databases' bytes are caught as the parse streams them past ([`Reader`], the load's
//! content hook): no layer is read twice, and no file but the databases (each under a
//! size cap) is kept. [`analyze`] then walks the layers that touched a database, rebuilds
//! its state after each from the tree's versions, and diffs consecutive states. A
//! package's bytes are those of the files it owns as stored in the layer that installed
//! it (or upgraded it last), never the size it declares. rpm's binary databases are read
//! by [`rpm`].

pub mod db;
pub mod rpm;

use crate::layer::{ContentHook, EntryKind, FileLook, Found};
use crate::model::LoadedImage;
use crate::tree::{NodeId, Tree, NONE, ROOT};
use db::Record;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// The largest `status` or apk `installed` file read: a Debian image with 3,000 packages
/// has a status file of about 6 MB.
pub const MAX_DATABASE_BYTES: u64 = 64 << 20;
/// The largest `info/*.list` or `status.d/*.md5sums` file read.
pub const MAX_LIST_BYTES: u64 = 16 << 20;
/// Database bytes kept per layer, all files together.
pub const MAX_LAYER_BYTES: u64 = 256 << 20;

/// Which package manager a database belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    Dpkg,
    Apk,
    Rpm,
}

impl Manager {
    pub fn name(self) -> &'static str {
        match self {
            Manager::Dpkg => "dpkg",
            Manager::Apk => "apk",
            Manager::Rpm => "rpm",
        }
    }
}

/// What one database file is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Kind {
    /// dpkg `status` or a distroless `status.d/` stanza file.
    DpkgStatus,
    /// A dpkg file list (`info/NAME.list`, `status.d/NAME.md5sums`) of the named package.
    DpkgFiles(String),
    /// apk's `installed`.
    Apk,
    /// An rpm database, in one of its formats.
    Rpm(RpmFormat),
}

/// The three files rpm has kept its database in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum RpmFormat {
    Sqlite,
    Bdb,
    Ndb,
}

impl Kind {
    fn manager(&self) -> Manager {
        match self {
            Kind::DpkgStatus | Kind::DpkgFiles(_) => Manager::Dpkg,
            Kind::Apk => Manager::Apk,
            Kind::Rpm(_) => Manager::Rpm,
        }
    }
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
enum Parsed {
    Records(Vec<Record>),
    Files(Vec<Vec<u8>>),
}

/// One database file as the hook caught it, parsed (or why it could not be).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct DbFile {
    kind: Kind,
    parsed: Result<Parsed, String>,
}

/// Which database file a path is, and its size cap.
fn classify(path: &[u8]) -> Option<(Kind, u64)> {
    let path = std::str::from_utf8(path).ok()?;
    if path == "/var/lib/dpkg/status" {
        return Some((Kind::DpkgStatus, MAX_DATABASE_BYTES));
    }
    if path == "/lib/apk/db/installed" {
        return Some((Kind::Apk, MAX_DATABASE_BYTES));
    }
    // Fedora keeps it under /usr (with /var/lib/rpm a symlink there); the layers store
    // it at whichever path is the real one.
    if let Some(name) = path
        .strip_prefix("/var/lib/rpm/")
        .or_else(|| path.strip_prefix("/usr/lib/sysimage/rpm/"))
    {
        let format = match name {
            "rpmdb.sqlite" => RpmFormat::Sqlite,
            "Packages" => RpmFormat::Bdb,
            "Packages.db" => RpmFormat::Ndb,
            _ => return None,
        };
        return Some((Kind::Rpm(format), MAX_DATABASE_BYTES));
    }
    // A list is named as dpkg names the package: `NAME:ARCH` for a multi-arch one.
    let package = |stem: &str| stem.to_string();
    if let Some(name) = path.strip_prefix("/var/lib/dpkg/info/") {
        let stem = name.strip_suffix(".list")?;
        return (!stem.contains('/')).then(|| (Kind::DpkgFiles(package(stem)), MAX_LIST_BYTES));
    }
    let name = path.strip_prefix("/var/lib/dpkg/status.d/")?;
    if name.contains('/') || name.is_empty() {
        return None;
    }
    Some(match name.strip_suffix(".md5sums") {
        Some(stem) => (Kind::DpkgFiles(package(stem)), MAX_LIST_BYTES),
        None => (Kind::DpkgStatus, MAX_LIST_BYTES),
    })
}

/// The package databases as the parse's content hook: give it to the load
/// (`LoadOptions::content`) and [`analyze`] reads what it caught.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reader;

impl Reader {
    /// The hook, as the load takes it.
    pub fn hook() -> Arc<dyn ContentHook> {
        Arc::new(Reader)
    }
}

impl ContentHook for Reader {
    fn layer(&self) -> Box<dyn FileLook> {
        Box::new(ReaderLook::default())
    }
}

/// One layer's look: the database file being read, and what this layer has kept so far.
#[derive(Default)]
struct ReaderLook {
    current: Option<(Kind, Result<Vec<u8>, String>)>,
    kept: u64,
}

impl FileLook for ReaderLook {
    fn start(&mut self, path: &[u8], size: u64) -> bool {
        let Some((kind, cap)) = classify(path) else {
            self.current = None;
            return false;
        };
        let bytes = if size > cap {
            Err(format!("{size} bytes, past the cap of {cap}"))
        } else if self.kept.saturating_add(size) > MAX_LAYER_BYTES {
            Err(format!(
                "the layer's database files pass {MAX_LAYER_BYTES} bytes"
            ))
        } else {
            self.kept += size;
            // The size is capped above, so this allocation is bounded.
            Ok(Vec::with_capacity(size as usize))
        };
        self.current = Some((kind, bytes));
        true
    }

    fn wants_content(&self) -> bool {
        matches!(self.current, Some((_, Ok(_))))
    }

    fn feed(&mut self, chunk: &[u8]) {
        if let Some((_, Ok(bytes))) = &mut self.current {
            bytes.extend_from_slice(chunk);
        }
    }

    fn finish(&mut self) -> Option<Found> {
        let (kind, bytes) = self.current.take()?;
        let parsed = bytes.and_then(|bytes| match &kind {
            Kind::DpkgStatus => db::parse_dpkg_status(&bytes).map(Parsed::Records),
            Kind::Apk => db::parse_apk_installed(&bytes).map(Parsed::Records),
            Kind::Rpm(RpmFormat::Sqlite) => rpm::parse_sqlite(&bytes).map(Parsed::Records),
            Kind::Rpm(RpmFormat::Bdb) => rpm::parse_bdb(&bytes).map(Parsed::Records),
            Kind::Rpm(RpmFormat::Ndb) => rpm::parse_ndb(&bytes).map(Parsed::Records),
            Kind::DpkgFiles(_) if bytes.contains(&0) => Err("binary content in a file list".into()),
            Kind::DpkgFiles(_) => {
                // An md5sums file has checksums before its paths; a list has paths only.
                if bytes.first() == Some(&b'/') || bytes.is_empty() {
                    db::parse_dpkg_list(&bytes)
                } else {
                    db::parse_md5sums(&bytes)
                }
                .map(Parsed::Files)
            }
        });
        Some(Arc::new(DbFile { kind, parsed }) as Found)
    }
}

/// A package key: its manager and name.
pub type Key = (Manager, String);

/// The package database a parse caught in one file, as JSON, for a store that keeps
/// parses (`fleet --db`); `None` when `found` holds none.
pub fn caught_to_json(found: &Found) -> Option<String> {
    let file = crate::layer::found_as::<DbFile>(found).next()?;
    serde_json::to_string(file).ok()
}

/// A caught database read back from [`caught_to_json`]'s JSON, as the parse's hook made it.
pub fn caught_from_json(text: &str) -> Result<Found, String> {
    let file: DbFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(Arc::new(file) as Found)
}

/// One installed package, measured in the layer that installed it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Package {
    pub manager: Manager,
    pub name: String,
    pub version: String,
    /// The layer that installed this version (or upgraded to it).
    pub layer: usize,
    /// The bytes of the files it owns, as that layer stores them.
    pub bytes: u64,
    /// How many of its files that layer stores (regular files and hardlinks).
    pub files: u64,
    /// Of those, the bytes and files a later layer overwrote or deleted.
    pub hidden_bytes: u64,
    pub hidden_files: u64,
    /// The size the database declares, shown beside the measured one.
    pub declared_bytes: Option<u64>,
    /// The architecture the database records; empty when it records none.
    pub arch: String,
    /// The names it requires and the names it provides, as [`db::Record`] keeps them.
    #[serde(skip)]
    pub depends: Vec<String>,
    #[serde(skip)]
    pub provides: Vec<String>,
}

impl Package {
    /// The name without dpkg's `:ARCH` qualifier: what other packages' dependencies name.
    pub fn base_name(&self) -> &str {
        match self.manager {
            Manager::Dpkg => self.name.split(':').next().unwrap_or(&self.name),
            Manager::Apk | Manager::Rpm => &self.name,
        }
    }
}

/// A version change in one layer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Upgrade {
    pub manager: Manager,
    pub name: String,
    pub from: String,
    pub to: String,
}

/// What one layer did to the package databases. Added and upgraded packages are measured
/// in this layer.
#[derive(Debug, Clone, Default)]
pub struct LayerPackages {
    pub index: usize,
    pub added: Vec<Package>,
    pub removed: Vec<Package>,
    pub upgraded: Vec<(Upgrade, Package)>,
}

/// The packages of an image, layer by layer.
#[derive(Debug, Clone, Default)]
pub struct Packages {
    /// Every package in the final databases, by manager and name.
    pub packages: Vec<Package>,
    /// The layers that changed a database, in order.
    pub layers: Vec<LayerPackages>,
    /// Bytes of regular files, in every layer, that no package of any state lists.
    pub unowned_bytes: u64,
    /// Database files that could not be read, one line each, naming layer and path.
    pub warnings: Vec<String>,
    /// The package of the final databases that lists each path (the first, when several
    /// list one directory), resolved as the layer that installed it left the tree.
    pub owners: HashMap<NodeId, Key>,
}

/// The packages that differ between two images, as Docker Scout and dredge list them:
/// each measured in the image that has it (an upgrade in both).
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// In B only.
    pub added: Vec<Package>,
    /// In A only.
    pub removed: Vec<Package>,
    /// In both with another version: A's package, then B's.
    pub upgraded: Vec<(Package, Package)>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.upgraded.is_empty()
    }
}

/// The package changes from image A to image B, each list by manager and name.
pub fn compare(a: &Packages, b: &Packages) -> Changes {
    let key = |p: &Package| (p.manager, p.name.clone());
    let in_a: BTreeMap<Key, &Package> = a.packages.iter().map(|p| (key(p), p)).collect();
    let in_b: BTreeMap<Key, &Package> = b.packages.iter().map(|p| (key(p), p)).collect();
    let mut changes = Changes::default();
    for (k, &new) in &in_b {
        match in_a.get(k) {
            None => changes.added.push(new.clone()),
            Some(&old) if old.version != new.version => {
                changes.upgraded.push((old.clone(), new.clone()))
            }
            Some(_) => {}
        }
    }
    changes.removed = in_a
        .iter()
        .filter(|(k, _)| !in_b.contains_key(*k))
        .map(|(_, &p)| p.clone())
        .collect();
    changes
}

/// A database state: each package's version, declared size and files, borrowed from the
/// database files the hook caught (states are rebuilt per layer: copying every file list
/// each time would cost more than the rest of the analysis).
type State<'a> = BTreeMap<Key, (&'a Record, &'a [Vec<u8>])>;

/// Read the packages of a loaded image (loaded with [`Reader`]'s hook; without it there
/// are none).
pub fn analyze(loaded: &LoadedImage) -> Packages {
    let tree = &loaded.tree;
    let (files, nodes) = database_files(loaded);
    let mut out = Packages::default();
    let mut failed: Vec<_> = files.iter().filter(|(_, f)| f.parsed.is_err()).collect();
    failed.sort_by_key(|(entry, _)| **entry);
    for (entry, file) in failed {
        let meta = tree.entry(*entry);
        if let Err(reason) = &file.parsed {
            out.warnings.push(format!(
                "layer {}: {}: package database not read: {reason}",
                meta.layer,
                crate::escape::escape_bytes(&tree.path(meta.node)),
            ));
        }
    }
    if files.is_empty() {
        return out;
    }
    // The layers that wrote or removed a database file, in order.
    let touched: BTreeSet<usize> = nodes
        .iter()
        .flat_map(|&node| tree.versions(node).iter().map(|v| v.layer as usize))
        .collect();
    let mut state = State::new();
    // Each package's current version, measured in the layer that installed it.
    let mut installed: HashMap<Key, (Package, Vec<NodeId>)> = HashMap::new();
    // Paths resolve as the layer that listed them left the tree: removing a package
    // may take the /bin symlink with it (dpkg does, on a merged /usr).
    let mut owned: HashSet<NodeId> = HashSet::new();
    for layer in touched {
        // A database file that did not parse leaves the layer's state as it was: better
        // no change than every package reported removed.
        let Some(next) = state_at(tree, &nodes, &files, layer) else {
            continue;
        };
        let mut changes = LayerPackages {
            index: layer,
            ..LayerPackages::default()
        };
        // Packages share directories: each is resolved once per layer.
        let mut dirs = HashMap::new();
        for (key, &(record, paths)) in &next {
            let version = record.version.as_str();
            let old = match state.get(key) {
                Some(&(old, _)) if old.version == version => continue,
                old => old.map(|&(old, _)| old.version.as_str()),
            };
            let (package, nodes) = measure(tree, key, record, paths, (layer, &mut dirs));
            owned.extend(&nodes);
            installed.insert(key.clone(), (package.clone(), nodes));
            match old {
                None => changes.added.push(package),
                Some(from) => changes.upgraded.push((
                    Upgrade {
                        manager: key.0,
                        name: key.1.clone(),
                        from: from.to_string(),
                        to: version.to_string(),
                    },
                    package,
                )),
            }
        }
        for key in state.keys() {
            if !next.contains_key(key) {
                changes
                    .removed
                    .extend(installed.remove(key).map(|(p, _)| p));
            }
        }
        state = next;
        if !(changes.added.is_empty() && changes.removed.is_empty() && changes.upgraded.is_empty())
        {
            out.layers.push(changes);
        }
    }
    for key in state.keys() {
        if let Some((package, nodes)) = installed.get(key) {
            out.packages.push(package.clone());
            for &node in nodes {
                out.owners.entry(node).or_insert_with(|| key.clone());
            }
        }
    }
    out.unowned_bytes = unowned_bytes(tree, &owned);
    out
}

/// The databases as they stand after `layer`; `None` when one of them did not parse.
fn state_at<'a>(
    tree: &Tree,
    nodes: &BTreeSet<NodeId>,
    files: &HashMap<u32, &'a DbFile>,
    layer: usize,
) -> Option<State<'a>> {
    let mut state = State::new();
    let mut lists: HashMap<&str, &[Vec<u8>]> = HashMap::new();
    for &node in nodes {
        let Some(version) = tree.live_at(node, layer) else {
            continue;
        };
        let Some(file) = files.get(&version.entry) else {
            continue;
        };
        let parsed = file.parsed.as_ref().ok()?;
        match (&file.kind, parsed) {
            (Kind::DpkgFiles(name), Parsed::Files(paths)) => {
                lists.insert(name, paths);
            }
            (kind, Parsed::Records(records)) => {
                let manager = kind.manager();
                // rpm installs one name more than once (kernels side by side,
                // gpg-pubkey): in one database, later copies are told apart by version.
                let mut seen = HashSet::new();
                for record in records {
                    let mut key = (manager, record.name.clone());
                    if manager == Manager::Rpm && !seen.insert(record.name.as_str()) {
                        key.1 = format!("{}-{}", record.name, record.version);
                    }
                    state.insert(key, (record, &record.files));
                }
            }
            _ => {}
        }
    }
    if lists.is_empty() {
        return Some(state);
    }
    // dpkg names a list as `${binary:Package}`: `NAME:ARCH` for a multi-arch package and
    // for one of a foreign architecture, `NAME` otherwise; distroless names every list
    // `NAME`. A package is named as its list is, so that it reads as dpkg-query shows it.
    let mut out = State::new();
    for ((manager, name), (record, mut paths)) in state {
        let mut name = name;
        if manager == Manager::Dpkg {
            let base = name.split(':').next().unwrap_or(&name);
            let qualified = format!("{base}:{}", record.arch);
            if let Some(list) = lists.get(name.as_str()) {
                paths = list;
            } else if let Some(list) = lists.get(qualified.as_str()) {
                paths = list;
                name = qualified;
            } else if let Some(list) = lists.get(base) {
                paths = list;
            }
        }
        out.insert((manager, name), (record, paths));
    }
    Some(out)
}

/// A package measured in `layer`: the files it owns as that layer stores them, and the
/// nodes its paths resolve to there. `dirs` keeps the directories resolved in that layer.
fn measure<'a>(
    tree: &'a Tree,
    key: &Key,
    record: &Record,
    paths: &'a [Vec<u8>],
    (layer, dirs): (usize, &mut HashMap<&'a [u8], Option<NodeId>>),
) -> (Package, Vec<NodeId>) {
    let mut nodes = Vec::with_capacity(paths.len());
    let mut package = Package {
        manager: key.0,
        name: key.1.clone(),
        version: record.version.clone(),
        layer,
        bytes: 0,
        files: 0,
        hidden_bytes: 0,
        hidden_files: 0,
        declared_bytes: record.declared,
        arch: record.arch.clone(),
        depends: record.depends.clone(),
        provides: record.provides.clone(),
    };
    for path in paths {
        let (parent, name) = path.split_at(path.iter().rposition(|&b| b == b'/').unwrap_or(0));
        let name = name.strip_prefix(b"/").unwrap_or(name);
        let node = if matches!(name, b"" | b"." | b"..") {
            resolve(tree, path, layer, false)
        } else {
            dirs.entry(parent)
                .or_insert_with(|| resolve(tree, parent, layer, true))
                .and_then(|dir| child(tree, dir, name))
        };
        let Some(node) = node else {
            continue;
        };
        nodes.push(node);
        let versions = tree.versions(node);
        let Some(shipped) = versions
            .iter()
            .find(|v| v.layer as usize == layer && !v.change.is_removal() && v.content != NONE)
        else {
            continue;
        };
        if !matches!(
            tree.meta(shipped).kind,
            EntryKind::File | EntryKind::Hardlink
        ) {
            continue;
        }
        let size = tree.content_size(shipped);
        package.bytes += size;
        package.files += 1;
        if versions.iter().any(|v| v.layer as usize > layer) {
            package.hidden_bytes += size;
            package.hidden_files += 1;
        }
    }
    (package, nodes)
}

/// The node a package's path lands on after `layer`, its directories followed through
/// symlinks (a merged-/usr image lists `/bin/ls`, and its layer stores `usr/bin/ls`).
/// With `follow_last`, the last name is followed too (the path is a directory's).
fn resolve<'a>(tree: &'a Tree, path: &'a [u8], layer: usize, follow_last: bool) -> Option<NodeId> {
    let names = |bytes: &'a [u8]| bytes.split(|&b| b == b'/').filter(|n| !n.is_empty()).rev();
    // The names still to walk, last first; a link's target is pushed in place of its name.
    let mut parts: Vec<&'a [u8]> = names(path).collect();
    // As the kernel does, give up after 40 links.
    let mut hops = 0;
    let mut walked = vec![ROOT];
    while let Some(name) = parts.pop() {
        let at = *walked.last().unwrap_or(&ROOT);
        match name {
            b"." => continue,
            b".." => {
                if walked.len() > 1 {
                    walked.pop();
                }
                continue;
            }
            _ => {}
        }
        let child = child(tree, at, name)?;
        // The last name is the file itself: not followed.
        let link = (follow_last || !parts.is_empty())
            .then(|| tree.live_at(child, layer))
            .flatten()
            .filter(|v| tree.meta(v).kind == EntryKind::Symlink);
        match link {
            Some(version) => {
                hops += 1;
                if hops > 40 {
                    return None;
                }
                let target = tree.version_link(version);
                if target.first() == Some(&b'/') {
                    walked.truncate(1);
                }
                parts.extend(names(target));
            }
            None => walked.push(child),
        }
    }
    walked.last().copied()
}

/// The child of `dir` called `name`, if any layer ever had it.
fn child(tree: &Tree, dir: NodeId, name: &[u8]) -> Option<NodeId> {
    let children = tree.children(dir);
    let index = children
        .binary_search_by(|&child| tree.name(child).cmp(name))
        .ok()?;
    Some(children[index])
}

/// Bytes of regular files, in every layer, at paths no package lists.
fn unowned_bytes(tree: &Tree, owned: &HashSet<NodeId>) -> u64 {
    tree.entries()
        .iter()
        .filter(|e| e.meta.kind == EntryKind::File && !owned.contains(&e.node))
        .map(|e| e.meta.size)
        .sum()
}

/// The database files [`Reader`] caught, by entry, and the nodes they sit on.
fn database_files(loaded: &LoadedImage) -> (HashMap<u32, &DbFile>, BTreeSet<NodeId>) {
    let mut files = HashMap::new();
    let mut nodes = BTreeSet::new();
    for (entry, found) in &loaded.found {
        for file in crate::layer::found_as::<DbFile>(found) {
            files.insert(*entry, file);
            nodes.insert(loaded.tree.entry(*entry).node);
        }
    }
    (files, nodes)
}
