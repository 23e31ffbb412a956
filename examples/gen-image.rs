//! Synthetic container images for benchmarks, of any size, in bounded memory.
//!
//! cargo run --release --example gen-image -- --paths 1000000 --layers 50 \
//!     --whiteouts 10000 --opaque 100 --format docker --compression gzip \
//!     --total-bytes 10G --seed 1 OUT
//!
//! The image is planned first (a few bytes of metadata per path), then each
//! layer is streamed to a temp file next to OUT while being hashed, and the
//! archive is assembled by streaming those files. Layers, digests and archive
//! layouts all come from tests/support, the same code the tests use.

#[path = "../tests/support/mod.rs"]
mod support;

use clap::{Parser, ValueEnum};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;
use support::{
    mix_seed, Blob, BlobData, Compression, Content, DockerLayout, Entry, HistoryEntry, ImageSpec,
    Kind, LayerWriter, Rng,
};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// Legacy `docker save` (<id>/layer.tar)
    Docker,
    /// skopeo/podman docker-archive (root-level <diff_id>.tar + symlinks)
    DockerSkopeo,
    /// Docker >= 25 `docker save` (OCI layout + manifest.json)
    Docker25,
    /// crane/kaniko tarball (config named sha256:<hex>)
    Crane,
    /// OCI image layout as a tar
    Oci,
    /// OCI image layout as a directory
    OciDir,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Preset {
    /// Layer 0 with 50k files, layer 1 with 10,000 whiteouts (other flags still override)
    Whiteouts,
}

#[derive(Parser, Debug)]
#[command(about = "Generate a synthetic container image for benchmarks")]
struct Args {
    /// Distinct file paths (regular files and symlinks) [default: 20000]
    #[arg(long)]
    paths: Option<u64>,
    /// Number of layers [default: 5]
    #[arg(long)]
    layers: Option<u16>,
    /// Whiteouts deleting existing files, spread over the upper layers [default: 0]
    #[arg(long)]
    whiteouts: Option<u64>,
    /// Opaque directories (`.wh..wh..opq`) in upper layers; half their files are re-added [default: 0]
    #[arg(long)]
    opaque: Option<u64>,
    /// Percent of paths rewritten by a later layer [default: 5]
    #[arg(long)]
    overwrite_pct: Option<f64>,
    /// Fraction of paths created in layer 0, the "base image" [default: 0.3]
    #[arg(long)]
    base_share: Option<f64>,
    /// Percent of paths that are symlinks
    #[arg(long, default_value_t = 1.0)]
    symlink_pct: f64,
    /// Percent of written files that hold text (compresses ~3-4x); the rest are random
    /// bytes, which do not compress
    #[arg(long, default_value_t = 50.0)]
    text_pct: f64,
    #[arg(long, value_enum, default_value = "docker")]
    format: Format,
    /// Layer blob compression: none, gzip, zstd
    #[arg(long, default_value = "none", value_parser = parse_compression)]
    compression: Compression,
    /// Compression of the whole archive file: none, gzip, zstd
    #[arg(long, default_value = "none", value_parser = parse_compression)]
    outer: Compression,
    /// Every file has exactly this many bytes (accepts K/M/G suffixes)
    #[arg(long, value_parser = parse_size, conflicts_with = "total_bytes")]
    file_size: Option<u64>,
    /// Total file content bytes, spread over files with a skewed size distribution
    /// (accepts K/M/G suffixes) [default: 4 KiB per written file]
    #[arg(long, value_parser = parse_size)]
    total_bytes: Option<u64>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_enum)]
    preset: Option<Preset>,
    #[arg(long, default_value = "layerscope-bench:latest")]
    tag: String,
    /// Layers written in parallel [default: number of CPUs]
    #[arg(long)]
    jobs: Option<usize>,
    /// Output archive (or directory for --format oci-dir)
    out: PathBuf,
}

fn parse_compression(s: &str) -> Result<Compression, String> {
    Compression::parse(s).ok_or_else(|| format!("unknown compression {s:?} (none, gzip, zstd)"))
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim().trim_end_matches(['B', 'b']).trim_end_matches('i');
    let (num, mult) = match s.chars().last() {
        Some('K' | 'k') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&s[..s.len() - 1], 1 << 20),
        Some('G' | 'g') => (&s[..s.len() - 1], 1 << 30),
        Some('T' | 't') => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|e| format!("bad size {s:?}: {e}"))?;
    Ok((n * mult as f64) as u64)
}

/// Flags after applying the preset and defaults.
struct Shape {
    paths: u64,
    layers: u16,
    whiteouts: u64,
    opaque: u64,
    overwrite_pct: f64,
    base_share: f64,
}

impl Shape {
    fn from(a: &Args) -> Shape {
        let preset = a.preset.map(|Preset::Whiteouts| Shape {
            paths: 50_000,
            layers: 2,
            whiteouts: 10_000,
            opaque: 0,
            overwrite_pct: 0.0,
            base_share: 1.0,
        });
        let d = preset.unwrap_or(Shape {
            paths: 20_000,
            layers: 5,
            whiteouts: 0,
            opaque: 0,
            overwrite_pct: 5.0,
            base_share: 0.3,
        });
        Shape {
            paths: a.paths.unwrap_or(d.paths),
            layers: a.layers.unwrap_or(d.layers).max(1),
            whiteouts: a.whiteouts.unwrap_or(d.whiteouts),
            opaque: a.opaque.unwrap_or(d.opaque),
            overwrite_pct: a.overwrite_pct.unwrap_or(d.overwrite_pct),
            base_share: a.base_share.unwrap_or(d.base_share),
        }
    }
}

const NONE: u16 = u16::MAX;
const MAX_DEPTH: u8 = 8;
const TOP_DIRS: [&str; 8] = ["usr", "opt", "var", "srv", "app", "lib", "etc", "home"];
const WORDS: [&str; 16] = [
    "core", "util", "data", "index", "module", "config", "handler", "client", "server", "common",
    "types", "cache", "static", "assets", "locale", "vendor",
];
const EXTS: [&str; 8] = ["py", "js", "so", "h", "txt", "json", "pyc", "go"];

struct Dir {
    path: String,
    parent: u32,
    depth: u8,
    leaf: bool,
    /// The files of a directory are a contiguous id range.
    files: std::ops::Range<u32>,
    /// Layer with this dir's `.wh..wh..opq`, or NONE.
    opaque: u16,
}

/// Per-path plan: which layer creates, rewrites, re-adds or deletes it.
#[derive(Clone, Copy)]
struct FilePlan {
    dir: u32,
    layer: u16,
    overwrite: u16,
    readd: u16,
    whiteout: u16,
    symlink: bool,
}

struct Plan {
    dirs: Vec<Dir>,
    files: Vec<FilePlan>,
    layers: u16,
    seed: u64,
    overwrites: u64,
    whiteouts: u64,
    opaques: u64,
    text_pct: f64,
}

impl Plan {
    /// Whether the file version with this content seed holds text. Even seeds are text
    /// at the default 50%, as they always were, so the default images stay the same
    /// bytes; other shares add (or take away) a random pick of the rest.
    fn is_text(&self, seed: u64) -> bool {
        let u = Rng::new(mix_seed(&[seed, 6])).unit() * 50.0;
        if seed & 1 == 0 {
            u < self.text_pct
        } else {
            u < self.text_pct - 50.0
        }
    }

    fn new(shape: &Shape, symlink_pct: f64, text_pct: f64, seed: u64) -> Plan {
        let mut rng = Rng::new(mix_seed(&[seed, 1]));
        let last = shape.layers - 1;
        let mut dirs: Vec<Dir> = TOP_DIRS
            .iter()
            .map(|name| Dir {
                path: (*name).into(),
                parent: u32::MAX,
                depth: 1,
                leaf: true,
                files: 0..0,
                opaque: NONE,
            })
            .collect();
        let mut files: Vec<FilePlan> = Vec::with_capacity(shape.paths as usize);

        // Grow a random tree: half the time extend the newest dir (depth),
        // otherwise branch from any dir (breadth). Dirs at depth >= 3 hold
        // 50-200 files, shallower ones only a few.
        let mut newest = 0usize;
        while (files.len() as u64) < shape.paths {
            let parent = if rng.unit() < 0.5 && dirs[newest].depth < MAX_DEPTH {
                newest
            } else {
                loop {
                    let p = rng.below(dirs.len() as u64) as usize;
                    if dirs[p].depth < MAX_DEPTH {
                        break p;
                    }
                }
            };
            let depth = dirs[parent].depth + 1;
            let name = format!("{}-{}", WORDS[rng.below(16) as usize], dirs.len());
            let path = format!("{}/{}", dirs[parent].path, name);
            let want = if depth >= 3 {
                rng.range(50, 200)
            } else {
                rng.range(0, 5)
            };
            let n = want.min(shape.paths - files.len() as u64) as u32;
            let start = files.len() as u32;
            let layer = if shape.layers == 1 || rng.unit() < shape.base_share {
                0
            } else {
                rng.range(1, last as u64) as u16
            };
            for _ in 0..n {
                // Mostly the dir's own layer; some files arrive later.
                let file_layer = if rng.unit() < 0.9 {
                    layer
                } else {
                    rng.range(layer as u64, last as u64) as u16
                };
                files.push(FilePlan {
                    dir: dirs.len() as u32,
                    layer: file_layer,
                    overwrite: NONE,
                    readd: NONE,
                    whiteout: NONE,
                    symlink: rng.unit() * 100.0 < symlink_pct,
                });
            }
            dirs[parent].leaf = false;
            dirs.push(Dir {
                path,
                parent: parent as u32,
                depth,
                leaf: true,
                files: start..files.len() as u32,
                opaque: NONE,
            });
            newest = dirs.len() - 1;
        }

        let mut plan = Plan {
            dirs,
            files,
            layers: shape.layers,
            seed,
            overwrites: 0,
            whiteouts: 0,
            opaques: 0,
            text_pct: text_pct.clamp(0.0, 100.0),
        };
        if shape.layers > 1 {
            plan.choose_opaque(&mut rng, shape.opaque);
            plan.choose_overwrites(
                &mut rng,
                (shape.paths as f64 * shape.overwrite_pct / 100.0) as u64,
            );
            plan.choose_whiteouts(&mut rng, shape.whiteouts);
        }
        plan
    }

    /// Leaf dirs become opaque in some layer above their first file: files
    /// from lower layers are hidden and half of them re-added there (a
    /// directory replaced wholesale); files from that layer on are unaffected.
    /// Overwrites and whiteouts then leave these dirs alone.
    fn choose_opaque(&mut self, rng: &mut Rng, want: u64) {
        let last = self.layers - 1;
        for _ in 0..want.saturating_mul(50) {
            if self.opaques == want {
                break;
            }
            let d = rng.below(self.dirs.len() as u64) as usize;
            let dir = &self.dirs[d];
            if !dir.leaf || dir.files.is_empty() || dir.opaque != NONE {
                continue;
            }
            let files = dir.files.start as usize..dir.files.end as usize;
            let first = self.files[files.clone()]
                .iter()
                .map(|f| f.layer)
                .min()
                .unwrap_or(0);
            if first >= last {
                continue;
            }
            let layer = rng.range(first as u64 + 1, last as u64) as u16;
            self.dirs[d].opaque = layer;
            for f in &mut self.files[files] {
                if f.layer < layer && rng.unit() < 0.5 {
                    f.readd = layer;
                }
            }
            self.opaques += 1;
        }
        if self.opaques < want {
            eprintln!(
                "gen-image: only {} of {want} opaque dirs fit this shape",
                self.opaques
            );
        }
    }

    fn free(&self, f: &FilePlan) -> bool {
        self.dirs[f.dir as usize].opaque == NONE
    }

    fn choose_overwrites(&mut self, rng: &mut Rng, want: u64) {
        let last = self.layers - 1;
        for _ in 0..want.saturating_mul(20) {
            if self.overwrites == want {
                break;
            }
            let i = rng.below(self.files.len() as u64) as usize;
            let f = self.files[i];
            if !self.free(&f) || f.overwrite != NONE || f.layer >= last {
                continue;
            }
            self.files[i].overwrite = rng.range(f.layer as u64 + 1, last as u64) as u16;
            self.overwrites += 1;
        }
    }

    fn choose_whiteouts(&mut self, rng: &mut Rng, want: u64) {
        let last = self.layers - 1;
        for _ in 0..want.saturating_mul(50) {
            if self.whiteouts == want {
                break;
            }
            let i = rng.below(self.files.len() as u64) as usize;
            let f = self.files[i];
            let written = if f.overwrite == NONE {
                f.layer
            } else {
                f.overwrite
            };
            if !self.free(&f) || f.whiteout != NONE || written >= last {
                continue;
            }
            self.files[i].whiteout = rng.range(written as u64 + 1, last as u64) as u16;
            self.whiteouts += 1;
        }
        if self.whiteouts < want {
            eprintln!(
                "gen-image: only {} of {want} whiteouts fit this shape",
                self.whiteouts
            );
        }
    }

    fn file_name(&self, id: u32) -> String {
        let h = mix_seed(&[self.seed, 2, id as u64]);
        let word = WORDS[(h % 16) as usize];
        let ext = EXTS[((h >> 8) % 8) as usize];
        if (h >> 16) % 500 == 0 {
            // Occasional long names exercise PAX headers, as real images do.
            format!("{}-{id}.{ext}", word.repeat(12))
        } else {
            format!("{word}_{id}.{ext}")
        }
    }

    /// Each write of a path (creation = version 0, overwrite = 1, re-add
    /// after opaque = 2) gets its own size weight and content seed.
    fn weight(&self, id: u32, version: u64) -> f64 {
        let u = Rng::new(mix_seed(&[self.seed, 3, id as u64, version])).unit();
        // Log-uniform over 1000x: many small files, a few big ones.
        (u * 1000f64.ln()).exp()
    }

    fn writes(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.files.iter().enumerate().flat_map(|(i, f)| {
            let id = i as u32;
            let create = (!f.symlink).then_some((id, 0));
            let over = (f.overwrite != NONE).then_some((id, 1));
            let readd = (f.readd != NONE).then_some((id, 2));
            create.into_iter().chain(over).chain(readd)
        })
    }
}

/// One tar entry of a layer; paths are kept next to it for sorting.
enum Event {
    Dir,
    /// (file id, version): see `Plan::weight`.
    Write(u32, u64),
    Whiteout,
    Opaque,
}

/// Sort key giving directory-walk order: comparing with '/' mapped below
/// every other byte orders component by component, so parents precede children.
fn walk_key(path: &str) -> Vec<u8> {
    path.bytes()
        .map(|c| if c == b'/' { 0 } else { c })
        .collect()
}

struct Sizes {
    fixed: Option<u64>,
    scale: f64,
}

impl Sizes {
    fn of(&self, plan: &Plan, id: u32, version: u64) -> u64 {
        self.fixed
            .unwrap_or_else(|| (plan.weight(id, version) * self.scale).round() as u64)
    }
}

/// Streams one layer to `path`; returns its blob and the content bytes in it.
fn write_layer(
    plan: &Plan,
    layer: u16,
    sizes: &Sizes,
    compression: Compression,
    media_type: &str,
    path: &Path,
) -> std::io::Result<(Blob, u64)> {
    let mut events: Vec<(String, Event)> = Vec::new();
    let mut need_dir = vec![false; plan.dirs.len()];
    let mut mark = |mut d: u32| {
        // Every layer carries the parent dirs of what it changes, as docker's diff does.
        while d != u32::MAX && !need_dir[d as usize] {
            need_dir[d as usize] = true;
            d = plan.dirs[d as usize].parent;
        }
    };
    for (i, f) in plan.files.iter().enumerate() {
        let id = i as u32;
        // At most one event per path and layer: the plan keeps each kind of
        // change in a strictly later layer than the previous one.
        let ev = if f.layer == layer {
            Event::Write(id, 0)
        } else if f.overwrite == layer {
            Event::Write(id, 1)
        } else if f.readd == layer {
            Event::Write(id, 2)
        } else if f.whiteout == layer {
            Event::Whiteout
        } else {
            continue;
        };
        let name = plan.file_name(id);
        let dir = &plan.dirs[f.dir as usize].path;
        let path = match ev {
            Event::Whiteout => format!("{dir}/.wh.{name}"),
            _ => format!("{dir}/{name}"),
        };
        events.push((path, ev));
        mark(f.dir);
    }
    for (d, dir) in plan.dirs.iter().enumerate() {
        if dir.opaque == layer {
            events.push((format!("{}/.wh..wh..opq", dir.path), Event::Opaque));
            mark(d as u32);
        }
    }
    for (d, needed) in need_dir.iter().enumerate() {
        if *needed {
            // Trailing '/' on directories, as docker's layer tars have it.
            events.push((format!("{}/", plan.dirs[d].path), Event::Dir));
        }
    }
    events.sort_by_cached_key(|e| walk_key(&e.0));

    let sink = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut w = LayerWriter::new(sink, compression)?;
    let mut content_bytes = 0;
    let mtime = support::layer::DEFAULT_MTIME + layer as u64 * 3600;
    for (path, ev) in &events {
        let kind = match *ev {
            Event::Dir => Kind::Dir,
            Event::Whiteout | Event::Opaque => Kind::File(Content::Bytes(Vec::new())),
            Event::Write(id, 0) if plan.files[id as usize].symlink => {
                let first = plan.dirs[plan.files[id as usize].dir as usize].files.start;
                Kind::Symlink(plan.file_name(first).into_bytes())
            }
            Event::Write(id, version) => {
                let len = sizes.of(plan, id, version);
                content_bytes += len;
                let seed = mix_seed(&[plan.seed, 4, id as u64, version]);
                Kind::File(if plan.is_text(seed) {
                    Content::Text { len, seed }
                } else {
                    Content::Random { len, seed }
                })
            }
        };
        let mut entry = Entry::new(path, kind);
        entry.mtime = mtime;
        if let Event::Write(id, _) = *ev {
            if mix_seed(&[plan.seed, 5, id as u64]) % 10 == 0 {
                entry.mode = 0o755;
            }
        }
        w.append(&entry)?;
    }
    let (_, d) = w.finish()?;
    let blob = Blob {
        media_type: media_type.into(),
        digest: d.digest,
        size: d.size,
        diff_id: d.diff_id,
        annotations: Default::default(),
        data: BlobData::File(path.to_path_buf()),
    };
    Ok((blob, content_bytes))
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let shape = Shape::from(&args);
    let started = Instant::now();

    let plan = Plan::new(&shape, args.symlink_pct, args.text_pct, args.seed);
    let writes = plan.writes().count() as u64;
    let sizes = match args.file_size {
        Some(n) => Sizes {
            fixed: Some(n),
            scale: 0.0,
        },
        None => {
            let total = args.total_bytes.unwrap_or(writes * 4096);
            let sum: f64 = plan.writes().map(|(id, v)| plan.weight(id, v)).sum();
            Sizes {
                fixed: None,
                scale: if sum > 0.0 { total as f64 / sum } else { 0.0 },
            }
        }
    };

    let out = &args.out;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)?;
    // Layers are staged next to OUT (same filesystem, plenty of room) and
    // removed when `tmp` drops.
    let tmp = tempfile::Builder::new()
        .prefix(".gen-image-")
        .tempdir_in(&parent)?;
    let spec = ImageSpec::new()
        .tag(&args.tag)
        .compression(args.compression)
        .outer_compression(args.outer);

    // Layers are independent, so `--jobs` workers take them in turn; each
    // holds only its current layer's entry list.
    let media_type = spec.media_types.layer(args.compression);
    let next = std::sync::atomic::AtomicU16::new(0);
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut results: Vec<(u16, Blob, u64)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..jobs.max(1))
            .map(|_| {
                s.spawn(|| -> std::io::Result<Vec<(u16, Blob, u64)>> {
                    let mut done = Vec::new();
                    loop {
                        let layer = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if layer >= plan.layers {
                            return Ok(done);
                        }
                        let name = format!("layer-{layer:04}.tar{}", args.compression.suffix());
                        let (blob, bytes) = write_layer(
                            &plan,
                            layer,
                            &sizes,
                            args.compression,
                            media_type,
                            &tmp.path().join(name),
                        )?;
                        done.push((layer, blob, bytes));
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.join().expect("layer writer panicked")?);
        }
        Ok::<_, std::io::Error>(all)
    })?;
    results.sort_by_key(|r| r.0);
    let content_bytes: u64 = results.iter().map(|r| r.2).sum();
    let blobs: Vec<Blob> = results.into_iter().map(|r| r.1).collect();

    let mut history = Vec::new();
    for layer in 0..plan.layers {
        history.push(HistoryEntry::layer(&format!("RUN generate layer {layer}")));
        if layer == 0 {
            history.push(HistoryEntry::empty("ENV APP_ENV=bench"));
        }
    }
    history.push(HistoryEntry::empty("CMD [\"/bin/sh\"]"));
    let mut spec = spec;
    spec.history = history;
    let image = spec.assemble(blobs);

    // Write to a side name and rename, so an interrupted run never leaves a
    // plausible-looking OUT behind (bench.sh reuses existing images).
    let partial = parent.join(format!(
        ".{}.partial",
        out.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    remove_any(&partial)?;
    match args.format {
        Format::Docker => image.write_docker_archive_as(DockerLayout::Legacy, &partial)?,
        Format::DockerSkopeo => image.write_docker_archive_as(DockerLayout::Skopeo, &partial)?,
        Format::Docker25 => image.write_docker_archive_as(DockerLayout::Docker25, &partial)?,
        Format::Crane => image.write_docker_archive_as(DockerLayout::Crane, &partial)?,
        Format::Oci => image.write_oci_archive(&partial)?,
        Format::OciDir => image.write_oci_layout(&partial)?,
    }
    remove_any(out)?;
    std::fs::rename(&partial, out)?;

    let archive_bytes = du(out)?;
    let symlinks = plan.files.iter().filter(|f| f.symlink).count();
    eprintln!(
        "gen-image: {} ({:?}, layers {:?}, outer {:?}): {} layers, {} paths ({} dirs, {symlinks} symlinks), \
         {} overwrites, {} whiteouts, {} opaque dirs, {:.2} GiB content, {:.2} GiB archive, {:.1} s",
        out.display(),
        args.format,
        args.compression,
        args.outer,
        plan.layers,
        plan.files.len(),
        plan.dirs.len(),
        plan.overwrites,
        plan.whiteouts,
        plan.opaques,
        content_bytes as f64 / (1u64 << 30) as f64,
        archive_bytes as f64 / (1u64 << 30) as f64,
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

/// Size of a file, or of all files under a directory.
fn du(path: &Path) -> std::io::Result<u64> {
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        total += du(&entry?.path())?;
    }
    Ok(total)
}

/// Removes a file or directory tree if it exists.
fn remove_any(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
