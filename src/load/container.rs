//! A container as an image with one more layer: its image's layers, exported and loaded as
//! `docker://ID` is, and its writable layer on top.
//!
//! The writable layer is built from the engine's change list and archives
//! ([`crate::source::container`]): a tar stream written on one thread and parsed on the
//! caller's by [`parse_layer`], as any layer is. Added and changed paths are the first
//! member of their own archive, renamed to their path: sizes, modes, owners and contents
//! as the engine sends them, streamed through a pipe and never kept. Deleted paths are
//! OCI whiteouts (`.wh.NAME`). A directory the list calls changed only because a child
//! changed is written with its own metadata, so the tree sees it unchanged.

use super::stream::{next_headers_end, Guard, PipeReader, TopLayer};
use super::{LoadOptions, LoadedImage, Progress};
use crate::error::{Error, Result};
use crate::escape::escape_str;
use crate::image::Writable;
use crate::layer::HEADER_LIMIT;
use crate::layer::{parse_layer, LayerError, ParseControl, ParseOptions, ParsedLayer};
use crate::source::container::{Archive, ChangeKind, Container, Engine, Found, PathChange};
use crate::source::engine::endpoint::{self, Endpoint};
use crate::source::engine::{self, EngineKind};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::io::{self, BufWriter, Read, Write};
use std::sync::mpsc;

/// Bytes of the layer's tar sent to the parse at once, and how many such chunks wait in the
/// pipe: at most about 1 MiB of a file is in memory, on its way through.
const CHUNK: usize = 64 << 10;
const PIPE_CHUNKS: usize = 16;

/// Which members under an archived directory to take, by their path in the layer.
type Take<'a> = dyn Fn(&[u8]) -> bool + 'a;

/// A changed directory holding at least this many added or changed paths directly is read
/// with one archive, instead of one per path.
const GROUP: usize = 16;

/// The writing end of the pipe to the parse: a closed pipe (the parse stopped) is
/// `BrokenPipe`, as a pipe's would be.
struct ChunkWriter(mpsc::SyncSender<Vec<u8>>);

impl Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .send(buf.to_vec())
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Load the container `name` from the engine `kind`, or from whichever engine has it.
pub fn load_container(
    kind: Option<EngineKind>,
    name: &str,
    options: &LoadOptions,
    control: &ParseControl,
    progress: &mut dyn FnMut(Progress),
) -> Result<LoadedImage> {
    let Some(kind) = kind else {
        // The search already asked the engine about it.
        let found = crate::source::container::find(name)?;
        return load_found(found, options, control, progress);
    };
    load_container_at(
        kind,
        &endpoint::resolve(kind)?,
        name,
        options,
        control,
        progress,
    )
}

/// [`load_container`] from a given endpoint.
pub fn load_container_at(
    kind: EngineKind,
    endpoint: &Endpoint,
    name: &str,
    options: &LoadOptions,
    control: &ParseControl,
    progress: &mut dyn FnMut(Progress),
) -> Result<LoadedImage> {
    let engine = Engine::connect(kind, endpoint)?;
    let container = engine.inspect(name)?;
    let found = Found {
        kind,
        endpoint: endpoint.clone(),
        engine,
        container,
    };
    load_found(found, options, control, progress)
}

/// Load a container the engine has described.
fn load_found(
    found: Found,
    options: &LoadOptions,
    control: &ParseControl,
    progress: &mut dyn FnMut(Progress),
) -> Result<LoadedImage> {
    let Found {
        kind,
        endpoint,
        engine,
        container,
    } = found;
    let endpoint = &endpoint;
    let name = container.name.as_str();
    let changes = engine.changes(&container)?;
    let display = format!(
        "{}-container://{} ({endpoint})",
        kind.name(),
        escape_str(name)
    );
    let parse_options = ParseOptions {
        content: options.content.clone(),
        expansion: options.expansion,
        ..Default::default()
    };
    let (parsed, vanished) = writable_layer(
        &engine,
        &container,
        &changes,
        &display,
        parse_options,
        control,
    )?;
    let top = TopLayer {
        parsed,
        writable: Writable {
            engine: kind.name(),
            container: name.to_string(),
            id: container.id.clone(),
        },
        vanished,
    };
    // The image as `docker://ID` reads it: by the ID the container was made from, so a
    // tag moved since does not matter.
    let reader = engine::export(kind, endpoint, &container.image)?;
    super::stream::load_stream_topped(reader, &display, options, control, progress, Some(top))
}

/// Parse the writable layer from the tar that [`write_layer`] makes of the engine's answers,
/// the two running at once through a pipe.
fn writable_layer(
    engine: &Engine,
    container: &Container,
    changes: &[PathChange],
    display: &str,
    options: ParseOptions,
    control: &ParseControl,
) -> Result<(ParsedLayer, Vec<String>)> {
    let (sender, receiver) = mpsc::sync_channel::<Vec<u8>>(PIPE_CHUNKS);
    let (written, parsed) = std::thread::scope(|scope| {
        let writing =
            scope.spawn(move || write_layer(engine, container, changes, ChunkWriter(sender)));
        let parsed = parse_layer(PipeReader::new(receiver), options, control);
        // The parse has dropped its end of the pipe: a writer still going fails and ends.
        let written = writing
            .join()
            .unwrap_or(Err(WriteError::Engine(Error::Interrupted)));
        (written, parsed)
    });
    let layer_error = |error: LayerError| match error {
        LayerError::Cancelled => Error::Interrupted,
        other => engine.error(format!(
            "the writable layer of container {}: {other}",
            escape_str(&container.name)
        )),
    };
    match (written, parsed) {
        // What the engine did comes first: the parse only saw the stream end.
        (Err(WriteError::Engine(error)), _) => Err(error),
        (_, Err(error)) => Err(layer_error(error)),
        (Err(WriteError::Pipe(error)), Ok(_)) => Err(Error::io(display, error)),
        (Ok(vanished), Ok(parsed)) => Ok((parsed, vanished)),
    }
}

/// Why writing the layer stopped: the engine failed (reported), or the pipe closed (the
/// parse stopped first, and its error is the one to report).
enum WriteError {
    Engine(Error),
    Pipe(io::Error),
}

/// Write the writable layer as a tar to `out`: whiteouts for deleted paths, and for the
/// others the first member of their archive, under their own path. Returns the paths
/// that were gone by the time their archive was asked for.
fn write_layer(
    engine: &Engine,
    container: &Container,
    changes: &[PathChange],
    out: ChunkWriter,
) -> std::result::Result<Vec<String>, WriteError> {
    let mut order: Vec<&PathChange> = changes.iter().collect();
    // Parents before children, as a runtime's own layer tar has them.
    order.sort_by(|a, b| a.path.cmp(&b.path));
    let mut tar = tar::Builder::new(BufWriter::with_capacity(CHUNK, out));
    let relative = |change: &PathChange| change.path.trim_start_matches('/').to_string();
    // The added and changed paths, and the changed directories that hold many of them
    // directly: an engine may take a while per archive (Podman 4.3 about 0.25 s), so such a
    // directory's one archive serves them all.
    let wanted: HashSet<String> = order
        .iter()
        .filter(|c| c.kind != ChangeKind::Deleted)
        .map(|c| relative(c))
        .collect();
    let mut children: HashMap<&str, usize> = HashMap::new();
    for path in &wanted {
        *children
            .entry(path.rsplit_once('/').map_or("", |(parent, _)| parent))
            .or_default() += 1;
    }
    let mut vanished = Vec::new();
    let mut deleted: Vec<String> = Vec::new();
    // Paths already written, from an archive of a directory above them.
    let mut done: HashSet<Vec<u8>> = HashSet::new();
    for change in order {
        let relative = relative(change);
        if relative.is_empty() || done.contains(relative.as_bytes()) {
            continue;
        }
        // A path under a deleted directory went with it: one whiteout says so.
        if deleted.iter().any(|dir| {
            relative
                .strip_prefix(dir.as_str())
                .is_some_and(|r| r.starts_with('/'))
        }) {
            continue;
        }
        match change.kind {
            ChangeKind::Deleted => {
                let (parent, name) = match relative.rsplit_once('/') {
                    Some((parent, name)) => (format!("{parent}/"), name),
                    None => (String::new(), relative.as_str()),
                };
                let mut header = tar::Header::new_gnu();
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                header.set_size(0);
                tar.append_data(&mut header, format!("{parent}.wh.{name}"), io::empty())
                    .map_err(WriteError::Pipe)?;
                deleted.push(relative);
            }
            ChangeKind::Added | ChangeKind::Modified => {
                match engine
                    .archive(container, &change.path)
                    .map_err(WriteError::Engine)?
                {
                    Some(archive) => {
                        // An added directory's contents are all added; a changed one's are
                        // taken only when it holds many changed paths, and then only those.
                        let everything = |_: &[u8]| true;
                        let changed = |path: &[u8]| {
                            std::str::from_utf8(path).is_ok_and(|p| wanted.contains(p))
                                && !done.contains(path)
                        };
                        let take: Option<&Take> = match change.kind {
                            ChangeKind::Added => Some(&everything),
                            _ if children.get(relative.as_str()).copied().unwrap_or(0) >= GROUP => {
                                Some(&changed)
                            }
                            _ => None,
                        };
                        let taken = copy_archive(engine, &mut tar, &relative, archive, take)?;
                        done.extend(taken);
                    }
                    None => vanished.push(change.path.clone()),
                }
            }
        }
    }
    tar.into_inner()
        .and_then(|mut out| out.flush())
        .map_err(WriteError::Pipe)?;
    Ok(vanished)
}

/// Append what the archive of `path` holds: its first member (the path itself) as
/// `path`, and when it is a directory and `take` is given, the members under it that
/// `take` wants, renamed to lie under `path` (the others are read past). Directories and
/// symlinks are headers alone, files their header and contents (streamed through). Returns
/// the paths taken under `path`, so that their own change entries can be skipped.
fn copy_archive(
    engine: &Engine,
    tar: &mut tar::Builder<BufWriter<ChunkWriter>>,
    path: &str,
    archive: Archive<'_>,
    take: Option<&Take>,
) -> std::result::Result<Vec<Vec<u8>>, WriteError> {
    let Archive { stat, body } = archive;
    let broke = |error: io::Error| {
        WriteError::Engine(engine.error(format!(
            "the archive of /{}: {}",
            escape_str(path),
            crate::source::one_line(error.to_string().as_bytes(), false)
        )))
    };
    // The tar crate reads a member's PAX records and long names into memory whole: they
    // are bounded as a layer's are, and the bodies are only streamed.
    let limit = Cell::new(HEADER_LIMIT);
    let mut archive = tar::Archive::new(Guard::new(body, &limit));
    let entries = archive.entries().map_err(broke)?;
    // The first member's name, which every other member's starts with.
    let mut top: Option<Vec<u8>> = None;
    let mut taken = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(broke)?;
        limit.set(next_headers_end(&entry));
        let name = entry.path_bytes();
        let name = name.strip_suffix(b"/").unwrap_or(&name).to_vec();
        // A member's name (or a hardlink's target) under the top one, moved under `path`.
        let under = |member: &[u8], top: &[u8]| -> Option<Vec<u8>> {
            let rest = member.strip_prefix(top)?;
            (rest.is_empty() || rest.starts_with(b"/")).then(|| [path.as_bytes(), rest].concat())
        };
        let Some(top_name) = &top else {
            let directory = copy_entry(tar, path.as_bytes(), &mut entry, stat.as_ref(), None)
                .map_err(|error| error.or_broke(&broke))?;
            if !directory || take.is_none() {
                return Ok(taken);
            }
            top = Some(name);
            continue;
        };
        let Some(renamed) = under(&name, top_name) else {
            return Err(broke(io::Error::other(format!(
                "a member outside it: {}",
                crate::escape::escape_bytes(&name)
            ))));
        };
        if !take.is_some_and(|take| take(&renamed)) {
            continue;
        }
        let link = entry
            .link_name_bytes()
            .filter(|_| entry.header().entry_type().is_hard_link())
            .map(|target| under(&target, top_name).unwrap_or_else(|| target.into_owned()));
        copy_entry(tar, &renamed, &mut entry, None, link)
            .map_err(|error| error.or_broke(&broke))?;
        taken.push(renamed);
    }
    match top {
        Some(_) => Ok(taken),
        None => Err(broke(io::Error::other("the archive is empty"))),
    }
}

/// Why copying a member stopped: reading the engine's archive, or writing to the pipe.
enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

impl CopyError {
    fn or_broke(self, broke: &impl Fn(io::Error) -> WriteError) -> WriteError {
        match self {
            CopyError::Read(error) => broke(error),
            CopyError::Write(error) => WriteError::Pipe(error),
        }
    }
}

/// Append one member as `path`. `stat` is the engine's stat of the requested path (for its
/// first member), `hardlink` a hardlink's target already renamed. Returns whether it is a
/// directory.
fn copy_entry(
    tar: &mut tar::Builder<BufWriter<ChunkWriter>>,
    path: &[u8],
    entry: &mut tar::Entry<'_, impl Read>,
    stat: Option<&crate::source::container::PathStat>,
    hardlink: Option<Vec<u8>>,
) -> std::result::Result<bool, CopyError> {
    let path = bytes_path(path);
    let mut header = entry.header().clone();
    let kind = header.entry_type();
    let stat_link = stat
        .filter(|s| s.is_symlink())
        .map(|s| s.link_target.clone());
    if kind.is_symlink() {
        let target = entry.link_name_bytes().unwrap_or_default().into_owned();
        header.set_size(0);
        tar.append_link(&mut header, &path, bytes_path(&target))
            .map_err(CopyError::Write)?;
        Ok(false)
    } else if let Some(target) = stat_link {
        // Podman archives what a symlink leads to; its stat still describes the link
        // (the target as the engine resolves it, from the container's root).
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        header.set_mode(0o777);
        tar.append_link(&mut header, &path, target)
            .map_err(CopyError::Write)?;
        Ok(false)
    } else if let Some(target) = hardlink {
        header.set_size(0);
        tar.append_link(&mut header, &path, bytes_path(&target))
            .map_err(CopyError::Write)?;
        Ok(false)
    } else if kind.is_dir() || !kind.is_file() {
        // A directory, device or fifo: its header alone (a directory's children have
        // members, or change entries, of their own).
        header.set_size(0);
        tar.append_data(&mut header, &path, io::empty())
            .map_err(CopyError::Write)?;
        Ok(kind.is_dir())
    } else {
        // PAX records may hold the true size; the copy is checked against it, so a body
        // that breaks off cannot shift the members after it.
        let size = entry.size();
        header.set_size(size);
        let mut counted = Counted {
            inner: entry,
            count: 0,
            error: None,
        };
        let written = tar.append_data(&mut header, &path, &mut counted);
        if let Some(error) = counted.error {
            return Err(CopyError::Read(error));
        }
        written.map_err(CopyError::Write)?;
        if counted.count != size {
            return Err(CopyError::Read(io::Error::other(format!(
                "it ends after {} of its {size} bytes",
                counted.count
            ))));
        }
        Ok(false)
    }
}

fn bytes_path(bytes: &[u8]) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt;
    std::path::PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

/// Counts what a member's body yields, and keeps a read error apart from a write error.
struct Counted<R> {
    inner: R,
    count: u64,
    error: Option<io::Error>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.count += n as u64;
                Ok(n)
            }
            Err(error) => {
                let copy = io::Error::new(error.kind(), error.to_string());
                self.error = Some(error);
                Err(copy)
            }
        }
    }
}
