//! Hints: what to change in the Dockerfile, each with the bytes the change saves, measured
//! on the merged tree (never estimated), the layers and paths involved, and the fix.
//!
//! Every byte belongs to at most one hint: the passes run in a fixed order and each claims
//! the file entries it counts, so the hints of an image never add up to more than it ships.
//! Only entries of user layers (`base_layers..`) are claimed: the base image's bytes are not
//! the Dockerfile's to change. Hints never touch the score. `docs/hints.md` defines the bytes
//! of each kind.

use super::waste::{reachable_content, shipped};
use super::{excluded_nodes, AnalysisOptions};
use crate::layer::EntryKind;
use crate::tree::{Change, EntryId, NodeId, Tree, NONE, ROOT};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// What a hint is about. The serialised names are stable (they are in the CI JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HintKind {
    /// A file written again by a later layer with only its mode or owner changed.
    ChmodCopy,
    /// A file added by one layer and deleted (whiteout, opaque directory) by a later one.
    DeletedLater,
    /// A file added by one layer and overwritten by a later one.
    OverwrittenLater,
    /// A package manager's cache or index left in the image.
    PackageCache,
    /// A VCS or editor directory copied in from the build context.
    VcsDirectory,
    /// Compilers, headers or a language toolchain in the final image.
    BuildToolchain,
    /// The same content shipped at several paths or by several layers.
    DuplicateContent,
    /// From the Dockerfile: the whole build context is copied before a dependency install.
    CacheBustingOrder,
    /// Documentation, man pages and locales that OS packages installed.
    PackageDocs,
    /// The largest OS packages that no other package in the image depends on.
    NoDependents,
}

impl HintKind {
    pub const ALL: [HintKind; 10] = [
        HintKind::ChmodCopy,
        HintKind::DeletedLater,
        HintKind::OverwrittenLater,
        HintKind::PackageCache,
        HintKind::VcsDirectory,
        HintKind::BuildToolchain,
        HintKind::DuplicateContent,
        HintKind::CacheBustingOrder,
        HintKind::PackageDocs,
        HintKind::NoDependents,
    ];

    /// The name in reports and JSON: `package-cache`, `deleted-later`, …
    pub fn name(self) -> &'static str {
        match self {
            HintKind::ChmodCopy => "chmod-copy",
            HintKind::DeletedLater => "deleted-later",
            HintKind::OverwrittenLater => "overwritten-later",
            HintKind::PackageCache => "package-cache",
            HintKind::VcsDirectory => "vcs-directory",
            HintKind::BuildToolchain => "build-toolchain",
            HintKind::DuplicateContent => "duplicate-content",
            HintKind::CacheBustingOrder => "cache-busting-order",
            HintKind::PackageDocs => "package-docs",
            HintKind::NoDependents => "no-dependents",
        }
    }

    /// Whether `bytes` counts image bytes (every kind but the build-cache one, whose bytes
    /// are rebuilt and pushed again on each source change).
    pub fn saves_image_bytes(self) -> bool {
        self != HintKind::CacheBustingOrder
    }
}

/// One piece of advice.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hint {
    pub kind: HintKind,
    /// What the fix saves; see `docs/hints.md` for each kind's definition.
    pub bytes: u64,
    /// The layers involved, ascending.
    pub layers: Vec<usize>,
    /// The paths involved, sorted; at most [`MAX_PATHS`] (see `path_count`).
    #[serde(serialize_with = "serialize_paths")]
    pub paths: Vec<Vec<u8>>,
    /// How many paths the hint counts in all.
    pub path_count: usize,
    /// Dockerfile line numbers (1-based) of the instructions involved, when the Dockerfile
    /// is known.
    pub dockerfile_lines: Vec<usize>,
    /// One line: what is wrong, e.g. "pip's cache left in the image by layer 2".
    pub summary: String,
    /// The concrete fix.
    pub fix: String,
}

impl Hint {
    /// Where the hint applies, for every view: `layers 1, 2; Dockerfile lines 4, 5`.
    pub fn place(&self) -> String {
        let list = |items: &[usize]| {
            items
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let plural = |n: usize, one: &'static str, many: &'static str| {
            if n == 1 {
                one
            } else {
                many
            }
        };
        let mut out = format!(
            "{} {}",
            plural(self.layers.len(), "layer", "layers"),
            list(&self.layers)
        );
        if !self.dockerfile_lines.is_empty() {
            out.push_str(&format!(
                "; Dockerfile {} {}",
                plural(self.dockerfile_lines.len(), "line", "lines"),
                list(&self.dockerfile_lines)
            ));
        }
        out
    }
}

/// Packages a package hint names; the rest are counted.
pub const MAX_NAMED_PACKAGES: usize = 5;
/// Packages the no-dependents hint counts: the largest few are the ones worth a look.
pub const MAX_NO_DEPENDENTS: usize = 5;
/// Where packages put documentation, man pages and translations: what dpkg's
/// `path-exclude` (and apk's separate `-doc` packages) keep out of an image.
const DOC_ROOTS: &[&[u8]] = &[b"/usr/share/doc", b"/usr/share/man", b"/usr/share/locale"];

/// Paths listed per hint; the rest are counted in [`Hint::path_count`].
pub const MAX_PATHS: usize = 20;
/// Duplicate content smaller than this is not reported: a few small identical files (licence
/// texts, empty markers) are normal and cost little.
pub const MIN_DUPLICATE_BYTES: u64 = 1024;
/// Duplicate groups reported one by one; smaller groups are folded into one last hint.
pub const MAX_DUPLICATE_GROUPS: usize = 20;

fn serialize_paths<S: serde::Serializer>(paths: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(paths.len()))?;
    for path in paths {
        seq.serialize_element(&crate::escape::escape_bytes(path))?;
    }
    seq.end()
}

/// A directory tree known to hold one kind of content. `~` is `/root` or `/home/*`; `*`
/// matches within one path component.
struct Place {
    label: &'static str,
    roots: &'static [&'static str],
    fix: &'static str,
}

const CACHES: &[Place] = &[
    Place {
        label: "apt's package lists and downloaded .deb files",
        roots: &["/var/lib/apt/lists", "/var/cache/apt"],
        fix: "run `apt-get update`, `apt-get install --no-install-recommends …` and \
              `rm -rf /var/lib/apt/lists/*` in the same RUN (apt-get clean removes the .deb files), \
              or keep them out of the layer with `RUN --mount=type=cache,target=/var/cache/apt`",
    },
    Place {
        label: "apk's package cache",
        roots: &["/var/cache/apk", "/etc/apk/cache"],
        fix: "use `apk add --no-cache …`, which neither keeps the index nor the packages",
    },
    Place {
        label: "dnf/yum's package cache",
        roots: &["/var/cache/dnf", "/var/cache/yum", "/var/cache/libdnf5"],
        fix: "end the RUN that installs with `&& dnf clean all` (or `yum clean all`), \
              or install with `--setopt=keepcache=0`",
    },
    Place {
        label: "pip's cache",
        roots: &["~/.cache/pip"],
        fix: "use `pip install --no-cache-dir …` (or set `PIP_NO_CACHE_DIR=1`), or \
              `RUN --mount=type=cache,target=/root/.cache/pip`",
    },
    Place {
        label: "npm's cache",
        roots: &["~/.npm"],
        fix: "end the RUN with `&& npm cache clean --force`, or \
              `RUN --mount=type=cache,target=/root/.npm npm ci`",
    },
    Place {
        label: "yarn's cache",
        roots: &["~/.cache/yarn", "/usr/local/share/.cache/yarn", "~/.yarn/berry/cache"],
        fix: "end the RUN with `&& yarn cache clean`, or \
              `RUN --mount=type=cache,target=/usr/local/share/.cache/yarn yarn install`",
    },
    Place {
        label: "Go's build and module caches",
        roots: &["~/.cache/go-build", "~/go/pkg/mod", "/go/pkg/mod"],
        fix: "build in a separate stage and `COPY --from` only the binary, or \
              `RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/go/pkg/mod go build …`",
    },
    Place {
        label: "cargo's registry and git checkouts",
        roots: &[
            "~/.cargo/registry",
            "~/.cargo/git",
            "/usr/local/cargo/registry",
            "/usr/local/cargo/git",
        ],
        fix: "build in a separate stage and `COPY --from` only the binary, or \
              `RUN --mount=type=cache,target=/usr/local/cargo/registry cargo build --release`",
    },
    Place {
        label: "Maven's local repository",
        roots: &["~/.m2"],
        fix: "build in a separate stage and `COPY --from` only the jar, or \
              `RUN --mount=type=cache,target=/root/.m2 mvn package`",
    },
];

const VCS: &[Place] = &[Place {
    label: "version-control and editor files from the build context",
    // Matched by name at any depth (see `is_vcs_name`); the roots are documentation.
    roots: &[],
    fix: "add a `.dockerignore` next to the Dockerfile listing `.git`, `.svn`, `.hg`, `.idea`, \
          `.vscode` and editor swap files, so `COPY`/`ADD` of the context leaves them out",
}];

const TOOLCHAINS: &[Place] = &[
    Place {
        label: "C/C++ compilers, headers and static libraries (-dev packages)",
        roots: &[
            "/usr/lib/gcc",
            "/usr/libexec/gcc",
            "/usr/lib/llvm-*",
            "/usr/include",
            "/usr/local/include",
            "/usr/bin/gcc*",
            "/usr/bin/g++*",
            "/usr/bin/cpp-*",
            "/usr/bin/clang*",
            "/usr/bin/*-linux-gnu-gcc*",
            "/usr/bin/*-linux-gnu-g++*",
            "/usr/bin/*-linux-gnu-cpp*",
            // What -dev packages add beside headers: static libraries and pkg-config files.
            "/usr/lib/*.a",
            "/usr/lib/*/*.a",
            "/usr/local/lib/*.a",
            "/lib/*/*.a",
            "/usr/lib/pkgconfig",
            "/usr/lib/*/pkgconfig",
            "/usr/local/lib/pkgconfig",
            "/usr/share/pkgconfig",
        ],
        fix: "compile in a build stage (`FROM … AS build`) and `COPY --from=build` only the \
              result into a final stage that has no compiler; `-dev` packages belong in the \
              build stage too",
    },
    Place {
        label: "a Go toolchain",
        roots: &[
            "/usr/local/go",
            "/usr/lib/go",
            "/usr/lib/go-*",
            "/usr/share/go-*",
        ],
        fix: "use a multi-stage build: `go build` in a `golang` stage, then \
              `COPY --from=build /out/app /app` into a small final stage",
    },
    Place {
        label: "a Rust toolchain",
        roots: &[
            "~/.rustup",
            "/usr/local/rustup",
            "~/.cargo/bin",
            "/usr/local/cargo/bin",
            "/usr/lib/rustlib",
        ],
        fix: "use a multi-stage build: `cargo build --release` in a `rust` stage, then \
              `COPY --from=build /src/target/release/app /app` into a small final stage",
    },
];

fn is_vcs_name(name: &[u8]) -> bool {
    matches!(
        name,
        b".git" | b".svn" | b".hg" | b".bzr" | b".idea" | b".vscode" | b".DS_Store"
    ) || (name.starts_with(b".") && (name.ends_with(b".swp") || name.ends_with(b".swo")))
}

/// `*` in a pattern component matches any run of bytes.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.iter().position(|&b| b == b'*') {
        None => pattern == name,
        Some(star) => {
            let (head, tail) = (&pattern[..star], &pattern[star + 1..]);
            name.starts_with(head) && (head.len()..=name.len()).any(|cut| glob(tail, &name[cut..]))
        }
    }
}

/// A root pattern split into its components, with `~` written out as the two homes it
/// stands for: `/root/…` and `/home/*/…`.
fn root_patterns(root: &str) -> Vec<Vec<&[u8]>> {
    let parts: Vec<&[u8]> = root
        .trim_start_matches('/')
        .split('/')
        .map(str::as_bytes)
        .collect();
    match parts.split_first() {
        Some((&b"~", rest)) => vec![
            [&b"root"[..]].iter().chain(rest).copied().collect(),
            [&b"home"[..], b"*"].iter().chain(rest).copied().collect(),
        ],
        _ => vec![parts],
    }
}

/// Whether the components of a path match a root pattern exactly.
#[cfg(test)]
fn root_matches(root: &str, components: &[&[u8]]) -> bool {
    root_patterns(root).iter().any(|parts| {
        parts.len() == components.len() && parts.iter().zip(components).all(|(p, c)| glob(p, c))
    })
}

/// Deepest root of any place, in components (`~` counts as two: `/home/user`).
const MAX_ROOT_DEPTH: usize = 6;

/// For every node: the index (+1) into `places` of the place it lies in, 0 for none.
/// Children have larger ids than their parents, so one forward pass inherits correctly.
///
/// Each node carries the set of root patterns its path is still a prefix of, so a node
/// costs one glob per pattern still alive, and nothing once none is: most of a large tree
/// lies outside every root after its first component or two.
fn classify(tree: &Tree, places: &[Place], by_name: bool) -> Vec<u8> {
    let mut class = vec![0u8; tree.node_count()];
    if by_name {
        for node in 1..tree.node_count() as NodeId {
            let parent = tree.node(node).parent;
            class[node as usize] = match class[parent as usize] {
                0 => u8::from(is_vcs_name(tree.name(node))),
                inherited => inherited,
            };
        }
        return class;
    }
    // In place order, so the lowest pattern that matches names the first place.
    let patterns: Vec<(u8, Vec<&[u8]>)> = places
        .iter()
        .enumerate()
        .flat_map(|(i, place)| {
            let class = u8::try_from(i + 1).expect("a handful of places");
            place.roots.iter().flat_map(move |r| {
                root_patterns(r)
                    .into_iter()
                    .map(move |parts| (class, parts))
            })
        })
        .collect();
    assert!(patterns.len() <= 64, "the live set is a u64");
    debug_assert!(patterns.iter().all(|(_, p)| p.len() <= MAX_ROOT_DEPTH));
    let all = u64::MAX >> (64 - patterns.len().max(1));
    // Per node: the patterns still alive, and its depth (deeper than any root: 0 alive).
    let mut alive = vec![0u64; tree.node_count()];
    let mut depth = vec![0u8; tree.node_count()];
    alive[ROOT as usize] = if patterns.is_empty() { 0 } else { all };
    for node in 1..tree.node_count() as NodeId {
        let parent = tree.node(node).parent as usize;
        if class[parent] != 0 {
            class[node as usize] = class[parent];
            continue;
        }
        let mut from = alive[parent];
        if from == 0 {
            continue;
        }
        let d = depth[parent] as usize + 1;
        depth[node as usize] = d as u8;
        let name = tree.name(node);
        let mut still = 0u64;
        while from != 0 {
            let i = from.trailing_zeros() as usize;
            from &= from - 1;
            let (place, parts) = &patterns[i];
            if !glob(parts[d - 1], name) {
                continue;
            }
            if parts.len() == d {
                class[node as usize] = *place;
                still = 0;
                break;
            }
            still |= 1 << i;
        }
        alive[node as usize] = still;
    }
    class
}

/// Files counted by one hint while it is being built. Only the first [`MAX_PATHS`] paths
/// (bytewise) are kept, so a cache of a million files costs a million node ids, not paths.
#[derive(Default)]
struct Tally {
    bytes: u64,
    layers: BTreeSet<usize>,
    nodes: HashSet<NodeId>,
    paths: BTreeSet<Vec<u8>>,
}

impl Tally {
    fn add(&mut self, tree: &Tree, bytes: u64, layer: usize, node: NodeId) {
        self.bytes = self.bytes.saturating_add(bytes);
        self.layers.insert(layer);
        if self.nodes.insert(node) {
            self.keep_path(tree.path(node));
        }
    }

    fn keep_path(&mut self, path: Vec<u8>) {
        if self.paths.len() < MAX_PATHS {
            self.paths.insert(path);
        } else if self.paths.last().is_some_and(|last| path < *last) {
            self.paths.insert(path);
            self.paths.pop_last();
        }
    }

    fn into_hint(self, kind: HintKind, summary: String, fix: String) -> Hint {
        Hint {
            kind,
            bytes: self.bytes,
            layers: self.layers.into_iter().collect(),
            paths: self.paths.into_iter().collect(),
            path_count: self.nodes.len(),
            dockerfile_lines: Vec::new(),
            summary,
            fix,
        }
    }
}

fn layer_list(layers: &BTreeSet<usize>) -> String {
    let names: Vec<String> = layers.iter().map(|l| l.to_string()).collect();
    match names.len() {
        1 => format!("layer {}", names[0]),
        _ => format!("layers {}", names.join(", ")),
    }
}

/// Every hint the tree supports, most bytes first (ties: kind, then first path).
///
/// `options` must be the ones the waste analysis used: the same base layers and exclusions.
pub fn hints(tree: &Tree, options: &AnalysisOptions) -> Vec<Hint> {
    let layers = tree.layer_count();
    let base = options.base_layers.unwrap_or(1).min(layers);
    let excluded = options.exclude.map(|f| excluded_nodes(tree, f));
    let is_excluded = |node: NodeId| excluded.as_ref().is_some_and(|e| e[node as usize]);
    let (reachable, _) = reachable_content(tree);
    let mut claimed = vec![false; tree.entries().len()];
    let mut out = Vec::new();

    // 1. Copies a later layer hid: chmod-only rewrites, deletions, overwrites. Grouped by
    //    (kind, shipping layer, hiding layer): one RUN to fix per hint.
    let mut hidden: HashMap<(HintKind, usize, usize), Tally> = HashMap::new();
    for node in 1..tree.node_count() as NodeId {
        if is_excluded(node) {
            continue;
        }
        let versions = tree.versions(node);
        for (i, version) in versions.iter().enumerate() {
            let bytes = shipped(tree, version);
            let layer = version.layer as usize;
            if bytes == 0 || layer < base || reachable[version.entry as usize] {
                continue;
            }
            let Some(hider) = versions.get(i + 1) else {
                continue;
            };
            // A removal is named by its cause (the deleted directory, not every file in it).
            let (kind, named) = if hider.change.is_removal() {
                (HintKind::DeletedLater, tree.entry(hider.entry).node)
            } else if only_metadata_changed(tree, version.entry, hider) {
                (HintKind::ChmodCopy, node)
            } else {
                (HintKind::OverwrittenLater, node)
            };
            claimed[version.entry as usize] = true;
            hidden
                .entry((kind, layer, hider.layer as usize))
                .or_default()
                .add(tree, bytes, hider.layer as usize, named);
        }
    }
    for ((kind, shipped_by, hidden_by), mut tally) in hidden {
        tally.layers.insert(shipped_by);
        let (summary, fix) = match kind {
            HintKind::ChmodCopy => (
                format!(
                    "layer {hidden_by} changes only the mode or owner of files that layer \
                     {shipped_by} added, which ships their whole content again"
                ),
                "set the mode and owner where the files are added: `COPY --chmod=0755 \
                 --chown=user:group …` (or chmod/chown in the same RUN that creates them) and \
                 drop the separate chmod/chown RUN"
                    .to_string(),
            ),
            HintKind::DeletedLater => (
                format!(
                    "layer {shipped_by} adds files that layer {hidden_by} deletes; deleting \
                     hides them but they are still shipped in layer {shipped_by}"
                ),
                format!(
                    "delete them in the same RUN that creates them (`… && rm -rf …` in the \
                     instruction of layer {shipped_by}), or never create them there"
                ),
            ),
            _ => (
                format!(
                    "layer {shipped_by} adds files that layer {hidden_by} overwrites; the \
                     first copies are still shipped in layer {shipped_by}"
                ),
                format!(
                    "write each file once, in its final form: make the change in the \
                     instruction of layer {shipped_by} instead of a later one"
                ),
            ),
        };
        out.push(tally.into_hint(kind, summary, fix));
    }

    // 2. With the package databases read: compilers and -dev packages, then the docs that
    //    packages installed, named by package (before the toolchain places below, which
    //    count what no package owns).
    let packages = options.packages.filter(|p| !p.packages.is_empty());
    let mut entry_owners = PackageFiles::default();
    if let Some(packages) = packages {
        entry_owners = PackageFiles::new(tree, packages, base, &is_excluded);
        out.extend(entry_owners.dev_packages(tree, packages, &mut claimed));
        out.extend(entry_owners.docs(tree, packages, &mut claimed));
    }

    // 3. Files under places known to be caches, VCS directories or toolchains, still in the
    //    image (what pass 1 claimed is already counted there).
    for (kind, places, by_name) in [
        (HintKind::PackageCache, CACHES, false),
        (HintKind::VcsDirectory, VCS, true),
        (HintKind::BuildToolchain, TOOLCHAINS, false),
    ] {
        let class = classify(tree, places, by_name);
        let mut tallies: Vec<Tally> = places.iter().map(|_| Tally::default()).collect();
        for (id, entry) in tree.entries().iter().enumerate() {
            let place = class[entry.node as usize];
            if place == 0
                || entry.meta.kind != EntryKind::File
                || (entry.layer as usize) < base
                || claimed[id]
                || is_excluded(entry.node)
            {
                continue;
            }
            claimed[id] = true;
            tallies[place as usize - 1].add(
                tree,
                entry.meta.size,
                entry.layer as usize,
                entry.node,
            );
        }
        for (place, tally) in places.iter().zip(tallies) {
            if tally.bytes == 0 {
                continue;
            }
            let summary = format!("{} shipped by {}", place.label, layer_list(&tally.layers));
            out.push(tally.into_hint(kind, summary, place.fix.to_string()));
        }
    }

    // 4. The same content (size and xxh3) in several entries still reachable. One copy
    //    stays (a base-image copy if there is one); the user layers' other copies are saved.
    //    One sorted list of entry ids, not a map of small lists: most contents occur
    //    once, and a list each would cost more than the tree's own entry for them.
    let content = |id: &EntryId| {
        let meta = &tree.entry(*id).meta;
        (meta.size, meta.hash)
    };
    let mut candidates: Vec<EntryId> = tree
        .entries()
        .iter()
        .enumerate()
        .filter(|&(id, entry)| {
            entry.meta.kind == EntryKind::File
                && entry.meta.size >= MIN_DUPLICATE_BYTES
                && reachable[id]
                && !claimed[id]
                && !is_excluded(entry.node)
        })
        .map(|(id, _)| id as EntryId)
        .collect();
    candidates.sort_unstable_by_key(|id| (content(id), *id));
    let mut duplicates: Vec<(u64, Tally)> = Vec::new();
    for ids in candidates.chunk_by(|a, b| content(a) == content(b)) {
        if ids.len() < 2 {
            continue;
        }
        let size = content(&ids[0]).0;
        let user = ids
            .iter()
            .filter(|&&id| tree.entry(id).layer as usize >= base)
            .count() as u64;
        let removable = if user as usize == ids.len() {
            user - 1
        } else {
            user
        };
        if removable == 0 {
            continue;
        }
        let mut tally = Tally::default();
        for &id in ids {
            let entry = tree.entry(id);
            tally.add(tree, 0, entry.layer as usize, entry.node);
        }
        tally.bytes = size.saturating_mul(removable);
        duplicates.push((size, tally));
    }
    duplicates.sort_by(|a, b| {
        b.1.bytes
            .cmp(&a.1.bytes)
            .then_with(|| a.1.paths.iter().next().cmp(&b.1.paths.iter().next()))
    });
    let mut rest = Tally::default();
    let mut rest_groups = 0;
    for (i, (size, tally)) in duplicates.into_iter().enumerate() {
        if i >= MAX_DUPLICATE_GROUPS {
            rest.bytes = rest.bytes.saturating_add(tally.bytes);
            rest.layers.extend(tally.layers);
            rest.nodes.extend(tally.nodes);
            for path in tally.paths {
                rest.keep_path(path);
            }
            rest_groups += 1;
            continue;
        }
        let copies = tally.nodes.len();
        let summary = format!(
            "the same {} of content is shipped {copies} times, by {}",
            crate::size::human(size),
            layer_list(&tally.layers)
        );
        let fix = if tally.layers.len() == 1 {
            "keep one copy and make the others hardlinks or symlinks to it (`ln`), or do not \
             copy it twice"
                .to_string()
        } else {
            "ship it once: copy it in one instruction only, and link to it where it is needed"
                .to_string()
        };
        out.push(tally.into_hint(HintKind::DuplicateContent, summary, fix));
    }
    if rest_groups > 0 {
        let summary = format!("{rest_groups} more groups of identical files");
        out.push(rest.into_hint(
            HintKind::DuplicateContent,
            summary,
            "keep one copy of each and link to it, or copy it once".to_string(),
        ));
    }

    // 5. Last, as the least certain: the largest packages nothing else depends on.
    if let Some(packages) = packages {
        out.extend(entry_owners.no_dependents(tree, packages, &mut claimed));
    }

    sort(&mut out);
    out
}

/// Whether a package is a compiler or a `-dev` package: what a build stage needs and a
/// final image does not. `gcc-12-base` is not one: the C and C++ runtime libraries need it.
pub fn is_build_package(name: &str) -> bool {
    let name = name.split(':').next().unwrap_or(name);
    let compiler = ["gcc", "g++", "cpp", "clang"].iter().any(|c| {
        name == *c
            || name
                .strip_prefix(c)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|rest| !rest.ends_with("-base") && !rest.is_empty())
    });
    compiler
        || name.ends_with("-dev")
        || matches!(name, "build-essential" | "build-base" | "musl-dev")
}

/// The file entries of user layers that OS packages own, for the package hints: each
/// entry's package, by index into [`super::packages::Packages::packages`].
#[derive(Default)]
struct PackageFiles {
    /// (entry, package index, under a documentation root).
    entries: Vec<(EntryId, usize, bool)>,
}

impl PackageFiles {
    fn new(
        tree: &Tree,
        packages: &super::packages::Packages,
        base: usize,
        is_excluded: &dyn Fn(NodeId) -> bool,
    ) -> PackageFiles {
        let index: HashMap<(super::packages::Manager, &str), usize> = packages
            .packages
            .iter()
            .enumerate()
            .map(|(i, p)| ((p.manager, p.name.as_str()), i))
            .collect();
        let owner: HashMap<NodeId, usize> = packages
            .owners
            .iter()
            .filter_map(|(node, key)| index.get(&(key.0, key.1.as_str())).map(|&i| (*node, i)))
            .collect();
        // Documentation roots, marked top-down: a child's id is above its parent's.
        let mut docs = vec![false; tree.node_count()];
        for root in DOC_ROOTS.iter().filter_map(|r| tree.lookup(r)) {
            docs[root as usize] = true;
        }
        for node in 1..tree.node_count() as NodeId {
            let parent = tree.node(node).parent as usize;
            docs[node as usize] |= docs[parent];
        }
        let entries = tree
            .entries()
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.meta.kind == EntryKind::File && e.layer as usize >= base && !is_excluded(e.node)
            })
            .filter_map(|(id, e)| {
                let package = *owner.get(&e.node)?;
                Some((id as EntryId, package, docs[e.node as usize]))
            })
            .collect();
        PackageFiles { entries }
    }

    /// Claim the unclaimed entries `wanted` picks, tallied per package (bytes) and all
    /// together.
    fn claim(
        &self,
        tree: &Tree,
        claimed: &mut [bool],
        wanted: impl Fn(usize, bool) -> bool,
    ) -> (Tally, BTreeMap<usize, u64>) {
        let mut tally = Tally::default();
        let mut per_package = BTreeMap::new();
        for &(id, package, doc) in &self.entries {
            if claimed[id as usize] || !wanted(package, doc) {
                continue;
            }
            claimed[id as usize] = true;
            let entry = tree.entry(id);
            tally.add(tree, entry.meta.size, entry.layer as usize, entry.node);
            *per_package.entry(package).or_insert(0u64) += entry.meta.size;
        }
        (tally, per_package)
    }

    fn dev_packages(
        &self,
        tree: &Tree,
        packages: &super::packages::Packages,
        claimed: &mut [bool],
    ) -> Option<Hint> {
        let build: Vec<bool> = packages
            .packages
            .iter()
            .map(|p| is_build_package(&p.name))
            .collect();
        let (tally, per_package) = self.claim(tree, claimed, |p, _| build[p]);
        (tally.bytes > 0).then(|| {
            let summary = format!(
                "compilers and -dev packages installed by {}: {}",
                layer_list(&tally.layers),
                named_packages(packages, &per_package)
            );
            tally.into_hint(
                HintKind::BuildToolchain,
                summary,
                "install them in a build stage (`FROM … AS build`) and `COPY --from=build` only \
                 the result into a final stage that has no compiler; or remove them in the RUN \
                 that built with them (`apt-get purge --auto-remove`, `apk del`)"
                    .to_string(),
            )
        })
    }

    fn docs(
        &self,
        tree: &Tree,
        packages: &super::packages::Packages,
        claimed: &mut [bool],
    ) -> Option<Hint> {
        let (tally, per_package) = self.claim(tree, claimed, |_, doc| doc);
        (tally.bytes > 0).then(|| {
            let summary = format!(
                "documentation, man pages and locales that packages installed in {}: {}",
                layer_list(&tally.layers),
                named_packages(packages, &per_package)
            );
            let apk = per_package
                .keys()
                .any(|&p| packages.packages[p].manager == super::packages::Manager::Apk);
            let fix = if apk {
                "apk puts documentation in separate `-doc` packages: leave them out of `apk add`"
            } else {
                "before the install, tell dpkg to skip them: a file in `/etc/dpkg/dpkg.cfg.d/` \
                 with `path-exclude=/usr/share/doc/*`, `path-include=/usr/share/doc/*/copyright`, \
                 `path-exclude=/usr/share/man/*` and `path-exclude=/usr/share/locale/*` (as the \
                 Debian slim images do)"
            };
            tally.into_hint(HintKind::PackageDocs, summary, fix.to_string())
        })
    }

    /// The largest user-layer packages no other package depends on (by name or by what it
    /// provides), for the managers whose databases record dependencies at all.
    fn no_dependents(
        &self,
        tree: &Tree,
        packages: &super::packages::Packages,
        claimed: &mut [bool],
    ) -> Option<Hint> {
        let list = &packages.packages;
        let records_depends: HashSet<super::packages::Manager> = list
            .iter()
            .filter(|p| !p.depends.is_empty())
            .map(|p| p.manager)
            .collect();
        let required: HashSet<(super::packages::Manager, &str)> = list
            .iter()
            .flat_map(|p| p.depends.iter().map(move |d| (p.manager, d.as_str())))
            .collect();
        let depended_on = |p: &super::packages::Package| {
            std::iter::once(p.base_name())
                .chain(p.provides.iter().map(String::as_str))
                .any(|name| required.contains(&(p.manager, name)))
        };
        // Their bytes as the hints count them: unclaimed user-layer entries.
        let mut bytes: BTreeMap<usize, u64> = BTreeMap::new();
        for &(id, package, _) in &self.entries {
            if !claimed[id as usize] {
                *bytes.entry(package).or_insert(0) += tree.entry(id).meta.size;
            }
        }
        let mut leaves: Vec<(u64, usize)> = bytes
            .into_iter()
            .filter(|&(p, b)| {
                b > 0
                    && records_depends.contains(&list[p].manager)
                    && !is_build_package(&list[p].name)
                    && !depended_on(&list[p])
            })
            .map(|(p, b)| (b, p))
            .collect();
        leaves.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        leaves.truncate(MAX_NO_DEPENDENTS);
        let chosen: HashSet<usize> = leaves.iter().map(|&(_, p)| p).collect();
        let (tally, per_package) = self.claim(tree, claimed, |p, _| chosen.contains(&p));
        (tally.bytes > 0).then(|| {
            let summary = format!(
                "the largest packages that nothing in the image depends on, installed by {}: {}",
                layer_list(&tally.layers),
                named_packages(packages, &per_package)
            );
            tally.into_hint(
                HintKind::NoDependents,
                summary,
                "no other package needs them; if the application does not either, leave them \
                 out of the install (apt-get's `--no-install-recommends` skips what was only \
                 recommended) or remove them in the same RUN"
                    .to_string(),
            )
        })
    }
}

/// "`gcc-12` 70 MB, `cpp-12` 34 MB and 3 more": the packages of a tally, most bytes first.
fn named_packages(
    packages: &super::packages::Packages,
    per_package: &BTreeMap<usize, u64>,
) -> String {
    let mut sorted: Vec<(u64, &str)> = per_package
        .iter()
        .map(|(&p, &b)| (b, packages.packages[p].name.as_str()))
        .collect();
    sorted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let named: Vec<String> = sorted
        .iter()
        .take(MAX_NAMED_PACKAGES)
        .map(|(b, name)| {
            format!(
                "`{}` {}",
                crate::escape::escape_str(name),
                crate::size::human(*b)
            )
        })
        .collect();
    let rest = sorted.len().saturating_sub(MAX_NAMED_PACKAGES);
    if rest > 0 {
        format!("{} and {rest} more", named.join(", "))
    } else {
        named.join(", ")
    }
}

/// Most bytes first; ties by kind, then by first path, so output is stable.
pub fn sort(hints: &mut [Hint]) {
    hints.sort_by(|a, b| {
        b.bytes
            .cmp(&a.bytes)
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.layers.cmp(&b.layers))
            .then_with(|| a.paths.cmp(&b.paths))
    });
}

/// Dependency installers, and the files to copy before running them so that the install
/// layer stays cached while only the sources change.
const INSTALLERS: &[(&str, &str)] = &[
    (
        r"\bnpm\s+(ci|install|i)\b",
        "package.json package-lock.json",
    ),
    (
        r"\byarn(\s+install)?\s*($|&&|;|\|)",
        "package.json yarn.lock",
    ),
    (r"\bpnpm\s+(install|i)\b", "package.json pnpm-lock.yaml"),
    (r"\bpip3?\s+install\b", "requirements.txt"),
    (
        r"\b(poetry|pipenv|uv)\s+(install|sync)\b",
        "pyproject.toml and its lock file",
    ),
    (r"\bgo\s+mod\s+download\b", "go.mod go.sum"),
    (r"\bcargo\s+(fetch|build)\b", "Cargo.toml Cargo.lock"),
    (r"\bmvn\b", "pom.xml"),
    (r"\bgradle(w)?\b", "build.gradle settings.gradle"),
    (r"\bbundle\s+install\b", "Gemfile Gemfile.lock"),
    (r"\bcomposer\s+install\b", "composer.json composer.lock"),
    (
        r"\b(apt-get|apt|apk|dnf|yum|microdnf)\s+(-\S+\s+)*(install|add)\b",
        "",
    ),
    // A project's own install script (`sh install-deps.sh`, `./scripts/install_deps.sh`).
    (
        r"\binstall[-_.\w]*\.sh\b",
        "the install script and the files it reads",
    ),
];

/// Whether a COPY or ADD takes the whole build context (`COPY . .`, `ADD . /app`).
fn copies_whole_context(step: &crate::dockerfile::Step) -> bool {
    use crate::image::history::InstructionKind;
    if !matches!(step.kind, InstructionKind::Copy | InstructionKind::Add)
        || step.copy_from.is_some()
    {
        return false;
    }
    let words: Vec<&str> = step.arguments.split_whitespace().collect();
    words.len() >= 2
        && words[..words.len() - 1]
            .iter()
            .any(|w| matches!(*w, "." | "./" | "*" | "./*"))
}

/// Fill in the Dockerfile lines of every hint from the layers' mapping, and add the hints
/// only a Dockerfile shows: a whole-context `COPY` before a dependency install in the same
/// stage. Their bytes are the install layer's shipped bytes (`layer_bytes[layer]`), which
/// every source change rebuilds and pushes again; 0 when the install is in an earlier stage
/// (no layer of the image to measure).
pub fn add_dockerfile(
    hints: &mut Vec<Hint>,
    dockerfile: &crate::dockerfile::Dockerfile,
    mapping: &crate::dockerfile::Mapping,
    layer_bytes: &[u64],
) {
    use crate::dockerfile::LayerOrigin;
    use crate::image::history::InstructionKind;
    let line_of = |layer: usize| mapping.layer_line(layer).map(|l| l.line);
    for hint in hints.iter_mut() {
        let mut lines: Vec<usize> = hint.layers.iter().filter_map(|&l| line_of(l)).collect();
        lines.sort_unstable();
        lines.dedup();
        hint.dockerfile_lines = lines;
    }
    let layer_of_step = |step: usize| {
        mapping
            .layers
            .iter()
            .position(|l| l.origin == LayerOrigin::Step { step })
    };
    let installers: Vec<(regex::Regex, &str)> = INSTALLERS
        .iter()
        .map(|(pattern, manifests)| {
            (
                regex::Regex::new(pattern).expect("valid pattern"),
                *manifests,
            )
        })
        .collect();
    for stage in &dockerfile.stages {
        let Some(copy_at) = stage
            .steps
            .iter()
            .position(|&s| copies_whole_context(&dockerfile.steps[s]))
        else {
            continue;
        };
        let copy = stage.steps[copy_at];
        for &run in &stage.steps[copy_at + 1..] {
            let step = &dockerfile.steps[run];
            if step.kind != InstructionKind::Run {
                continue;
            }
            let command = std::iter::once(step.arguments.as_str())
                .chain(step.heredocs.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join("\n");
            let Some((_, manifests)) = installers.iter().find(|(re, _)| re.is_match(&command))
            else {
                continue;
            };
            let copy_layer = layer_of_step(copy);
            let run_layer = layer_of_step(run);
            let bytes = run_layer
                .and_then(|l| layer_bytes.get(l).copied())
                .unwrap_or(0);
            let copy_step = &dockerfile.steps[copy];
            let fix = if manifests.is_empty() {
                format!(
                    "move the package install (line {}) above `{}` (line {}): it does not \
                     need the sources, and then stays cached when they change",
                    step.line, copy_step.text, copy_step.line
                )
            } else {
                let copy_first = if manifests.starts_with("the ") {
                    format!("copy only {manifests} first")
                } else {
                    format!("copy only {manifests} first (`COPY {manifests} ./`)")
                };
                format!(
                    "{copy_first}, run the install, and `{}` after it: a source change then \
                     reuses the cached install layer",
                    copy_step.text
                )
            };
            hints.push(Hint {
                kind: HintKind::CacheBustingOrder,
                bytes,
                layers: copy_layer.into_iter().chain(run_layer).collect(),
                paths: Vec::new(),
                path_count: 0,
                dockerfile_lines: vec![copy_step.line, step.line],
                summary: format!(
                    "line {} copies the whole build context before the install on line {}, \
                         so every source change runs the install again",
                    copy_step.line, step.line
                ),
                fix,
            });
        }
    }
    sort(hints);
}

/// Whether the version that hid `lower` keeps its type and content and changes only the
/// mode or owner (a `chmod`/`chown` after the fact).
fn only_metadata_changed(tree: &Tree, lower: EntryId, hider: &crate::tree::Version) -> bool {
    if hider.change != Change::Modified || hider.entry == NONE {
        return false;
    }
    let (a, b) = (tree.entry(lower).meta, tree.entry(hider.entry).meta);
    b.kind == EntryKind::File
        && a.size == b.size
        && a.hash == b.hash
        && (a.mode != b.mode || a.uid != b.uid || a.gid != b.gid)
}

/// Sum of the bytes of hints whose bytes are image bytes: never more than the image ships.
pub fn image_bytes_saved(hints: &[Hint]) -> u64 {
    hints
        .iter()
        .filter(|h| h.kind.saves_image_bytes())
        .fold(0, |sum, h| sum.saturating_add(h.bytes))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{tree, E::*};
    use super::*;

    #[test]
    fn build_packages_are_compilers_and_dev_packages_not_runtimes() {
        for name in [
            "gcc",
            "gcc-12",
            "g++-12",
            "cpp",
            "cpp-12",
            "clang-15",
            "libc6-dev:amd64",
            "musl-dev",
            "build-essential",
            "build-base",
            "zlib-dev",
        ] {
            assert!(is_build_package(name), "{name}");
        }
        for name in [
            "gcc-12-base:amd64",
            "libgcc-s1:amd64",
            "gccgo",
            "cpio",
            "devscripts",
        ] {
            assert!(!is_build_package(name), "{name}");
        }
    }

    fn run(layers: &[&[crate::analysis::testutil::E]]) -> Vec<Hint> {
        hints(&tree(layers), &AnalysisOptions::default())
    }

    fn one(hints: &[Hint], kind: HintKind) -> &Hint {
        let found: Vec<_> = hints.iter().filter(|h| h.kind == kind).collect();
        assert_eq!(found.len(), 1, "{kind:?} in {hints:#?}");
        found[0]
    }

    fn paths(hint: &Hint) -> Vec<&str> {
        hint.paths
            .iter()
            .map(|p| std::str::from_utf8(p).unwrap())
            .collect()
    }

    #[test]
    fn globs_and_roots() {
        assert!(glob(b"gcc*", b"gcc-12"));
        assert!(glob(b"*-linux-gnu-gcc*", b"x86_64-linux-gnu-gcc-12"));
        assert!(!glob(b"gcc*", b"xgcc"));
        assert!(glob(b"llvm-*", b"llvm-16"));
        assert!(root_matches("~/.cache/pip", &[b"root", b".cache", b"pip"]));
        assert!(root_matches(
            "~/.cache/pip",
            &[b"home", b"ann", b".cache", b"pip"]
        ));
        assert!(!root_matches("~/.cache/pip", &[b"root", b".cache"]));
        assert!(!root_matches("~/.cache/pip", &[b"home", b".cache", b"pip"]));
    }

    /// `classify`'s pruned walk against the plain rule: a node lies where its topmost
    /// ancestor (or itself) that matches a root lies, in the first place with such a root.
    #[test]
    fn classify_agrees_with_matching_each_path() {
        let mut paths: Vec<String> = Vec::new();
        for place in CACHES.iter().chain(TOOLCHAINS) {
            for root in place.roots {
                for home in ["root", "home/ann"] {
                    let root = root.replacen('~', home, 1).replace('*', "x86_64-linux-gnu");
                    let root = root.trim_start_matches('/');
                    paths.push(root.to_string());
                    paths.push(format!("{root}/inner/deeper"));
                    // Near misses: a sibling that shares the prefix, and a parent alone.
                    paths.push(format!("{root}x/file"));
                    if let Some((parent, _)) = root.rsplit_once('/') {
                        paths.push(format!("{parent}/other"));
                    }
                }
            }
        }
        paths.extend(
            [
                "home/.cache/pip",
                "home/ann/bob/.cache/pip",
                "usr/bin/gcc",
                "usr/bin/xgcc",
                "usr/lib/libz.a",
                "usr/lib/libz.so",
                "srv/usr/lib/gcc",
                "a/b/c/d/e/f/g/h",
            ]
            .map(String::from),
        );
        let entries: Vec<crate::analysis::testutil::E> =
            paths.iter().map(|p| File(p.as_str(), b"x")).collect();
        let tree = tree(&[&entries]);
        for places in [CACHES, TOOLCHAINS] {
            let class = classify(&tree, places, false);
            for node in 1..tree.node_count() as NodeId {
                let mut expected = 0;
                let mut current = node;
                while current != ROOT {
                    let path = tree.path(current);
                    let components: Vec<&[u8]> = path
                        .split(|&b| b == b'/')
                        .filter(|c| !c.is_empty())
                        .collect();
                    if let Some(i) = places
                        .iter()
                        .position(|p| p.roots.iter().any(|r| root_matches(r, &components)))
                    {
                        expected = i as u8 + 1;
                    }
                    current = tree.node(current).parent;
                }
                let path = String::from_utf8_lossy(&tree.path(node)).into_owned();
                assert_eq!(class[node as usize], expected, "{path}");
            }
            assert!(class.iter().filter(|&&c| c != 0).count() > places.len());
        }
    }

    #[test]
    fn base_layers_get_no_hints() {
        let h = run(&[&[File("var/cache/apk/APKINDEX.tar.gz", &[1; 50])]]);
        assert!(h.is_empty(), "{h:#?}");
    }

    #[test]
    fn deleted_later_counts_the_hidden_copies_once() {
        let h = run(&[
            &[Dir("bin")],
            &[
                File("tmp/a", &[1; 10]),
                File("tmp/b", &[2; 5]),
                File("k", b"k"),
            ],
            &[Whiteout("tmp")],
        ]);
        let d = one(&h, HintKind::DeletedLater);
        assert_eq!((d.bytes, d.layers.clone()), (15, vec![1, 2]));
        assert_eq!(paths(d), ["/tmp"]);
        assert!(d.fix.contains("same RUN"));
    }

    #[test]
    fn chmod_and_overwrite_are_told_apart() {
        let h = run(&[
            &[Dir("bin")],
            &[FileMode("a", &[1; 10], 0o644), File("b", &[1; 7])],
            &[FileMode("a", &[1; 10], 0o755), File("b", &[2; 3])],
        ]);
        let c = one(&h, HintKind::ChmodCopy);
        assert_eq!((c.bytes, paths(c)), (10, vec!["/a"]));
        let o = one(&h, HintKind::OverwrittenLater);
        assert_eq!((o.bytes, paths(o)), (7, vec!["/b"]));
    }

    #[test]
    fn caches_toolchains_and_vcs_are_found_by_place() {
        let h = run(&[
            &[Dir("bin")],
            &[
                File("root/.cache/pip/http/x", &[1; 30]),
                File("home/ann/.npm/_cacache/y", &[1; 20]),
                File("usr/include/stdio.h", &[2; 9]),
                File("usr/bin/gcc-12", &[3; 11]),
                File("usr/lib/x86_64-linux-gnu/libz.a", &[3; 5]),
                File("usr/lib/x86_64-linux-gnu/libz.so.1", &[3; 50]),
                File("app/.git/objects/ab", &[4; 6]),
                File("app/src/.main.rs.swp", &[4; 2]),
                File("app/gitignore", &[5; 3]),
            ],
        ]);
        let caches: Vec<_> = h
            .iter()
            .filter(|h| h.kind == HintKind::PackageCache)
            .map(|h| (h.bytes, paths(h)))
            .collect();
        assert_eq!(
            caches,
            vec![
                (30, vec!["/root/.cache/pip/http/x"]),
                (20, vec!["/home/ann/.npm/_cacache/y"])
            ]
        );
        let t = one(&h, HintKind::BuildToolchain);
        assert_eq!(t.bytes, 25);
        let v = one(&h, HintKind::VcsDirectory);
        assert_eq!(
            (v.bytes, paths(v)),
            (8, vec!["/app/.git/objects/ab", "/app/src/.main.rs.swp"])
        );
    }

    #[test]
    fn a_deleted_cache_is_counted_once_as_deleted_later() {
        let h = run(&[
            &[Dir("bin")],
            &[File("var/lib/apt/lists/Packages", &[1; 40])],
            &[Whiteout("var/lib/apt/lists/Packages")],
        ]);
        assert_eq!(h.len(), 1, "{h:#?}");
        assert_eq!((h[0].kind, h[0].bytes), (HintKind::DeletedLater, 40));
    }

    #[test]
    fn duplicates_keep_one_copy_and_prefer_the_base_one() {
        let big = [7u8; 2000];
        let h = run(&[
            &[Dir("bin")],
            &[File("a", &big), File("b", &big), File("c", &big)],
        ]);
        let d = one(&h, HintKind::DuplicateContent);
        assert_eq!((d.bytes, d.path_count), (4000, 3));
        let h = run(&[&[File("base", &big)], &[File("copy", &big)]]);
        let d = one(&h, HintKind::DuplicateContent);
        assert_eq!((d.bytes, d.layers.clone()), (2000, vec![0, 1]));
        // Small files and hardlinks are no duplicates.
        let h = run(&[
            &[Dir("bin")],
            &[File("a", &[1; 100]), File("b", &[1; 100]), Link("c", "a")],
        ]);
        assert!(h.is_empty(), "{h:#?}");
    }

    #[test]
    fn hints_never_add_up_to_more_than_is_shipped() {
        let big = [9u8; 3000];
        let t = tree(&[
            &[Dir("bin")],
            &[
                File("root/.cache/pip/a", &big),
                File("root/.cache/pip/b", &big),
            ],
            &[Whiteout("root/.cache/pip/a")],
        ]);
        let h = hints(&t, &AnalysisOptions::default());
        let waste = super::super::analyze(&t, &AnalysisOptions::default());
        assert_eq!(image_bytes_saved(&h), 6000, "{h:#?}");
        assert!(image_bytes_saved(&h) <= waste.total_bytes);
    }

    #[test]
    fn paths_are_capped_but_counted() {
        let names: Vec<String> = (0..30).map(|i| format!("root/.npm/f{i:02}")).collect();
        let mut layer = vec![];
        for name in &names {
            layer.push(File(name, &[1; 3]));
        }
        let h = run(&[&[Dir("bin")], &layer]);
        let npm = one(&h, HintKind::PackageCache);
        assert_eq!(
            (npm.bytes, npm.path_count, npm.paths.len()),
            (90, 30, MAX_PATHS)
        );
        assert_eq!(npm.paths[0], b"/root/.npm/f00");
        assert_eq!(npm.paths[MAX_PATHS - 1], b"/root/.npm/f19");
    }

    #[test]
    fn excluded_paths_give_no_hints() {
        let t = tree(&[&[Dir("bin")], &[File("root/.npm/x", &[1; 5])]]);
        let filter = |p: &[u8]| p.starts_with(b"/root");
        let h = hints(
            &t,
            &AnalysisOptions {
                base_layers: None,
                exclude: Some(&filter),
                packages: None,
            },
        );
        assert!(h.is_empty());
    }
}
