//! Bytes in: a file, a directory, stdin, a container engine or a registry becomes a set of
//! named byte streams; [`spec`] says what the IMAGE argument names, [`engine`] and
//! [`registry`] read the other sources, [`container`] a container's changes and archives,
//! [`transfer`] counts each layer blob a source reads.
//!
//! A tar archive is indexed once (member name → offset and size), so that blobs can later
//! be read by offset from several threads at once. An outer gzip/zstd compression is
//! spooled once to an unnamed temporary file, because image formats need random access
//! (`manifest.json` usually comes last). A stream that is read once (an engine's export,
//! stdin for the CLI) is handed to the load whole, in the producer's order, and parsed as
//! it arrives; what it keeps of the stream (the small JSON members, the names and sizes of
//! the others) is a [`Source::from_streamed`]. Nothing here calls the parser, and nothing
//! here knows about images.

mod compression;
pub mod container;
pub mod engine;
#[cfg(layerscope_isal)]
mod gzip;
pub mod reference;
pub mod registry;
pub mod spec;
pub mod transfer;

pub use compression::{decoder, Compression, INFLATER};

use crate::error::{Error, Result};
use crate::limits::MemberCounts;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// JSON documents (manifests, configs, indexes) larger than this are refused: a real one is
/// a few KiB, and reading a hostile multi-GiB "config" into memory is what we must avoid.
pub const JSON_LIMIT: u64 = 64 << 20;

/// Most characters of a server's text (an error message or body) put in a message.
pub const TEXT_CUT: usize = 200;

/// Text a server sent, made fit for a one-line message: control characters and runs of
/// whitespace become one space, and past [`TEXT_CUT`] characters it is cut, saying so.
/// `more`: the caller already cut the text at its read bound.
pub fn one_line(bytes: &[u8], more: bool) -> String {
    // A few bytes per character at most: the rest is never looked at.
    let head = &bytes[..bytes.len().min(4 * TEXT_CUT)];
    let mut text = String::new();
    let mut chars = 0;
    let mut cut = more || head.len() < bytes.len();
    for word in String::from_utf8_lossy(head).split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if !text.is_empty() {
            text.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars >= TEXT_CUT {
                cut = true;
                break;
            }
            text.push(c);
            chars += 1;
        }
        if chars >= TEXT_CUT {
            cut = true;
            break;
        }
    }
    if cut {
        text.push_str(&format!(" … (cut; {} bytes or more)", bytes.len()));
    }
    text
}

/// How many symlink hops between tar members are followed before giving up.
const MAX_LINK_HOPS: usize = 16;

/// Where an image's bytes come from. A clone reads the same file (by offset, so clones
/// read side by side): the explorer's digest check reads while its views do.
#[derive(Clone)]
pub struct Source {
    display: String,
    outer: Compression,
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Dir(PathBuf),
    Tar {
        file: Arc<File>,
        members: HashMap<String, Member>,
    },
    /// What a single pass over a tar stream kept: every member's name and size, and the
    /// bytes of the small ones (keyed by member name).
    Streamed {
        members: HashMap<String, Member>,
        kept: HashMap<String, Arc<[u8]>>,
    },
}

/// One regular member seen in a tar stream, and its bytes if they were kept.
#[derive(Debug, Clone)]
pub struct StreamedMember {
    pub name: String,
    pub size: u64,
    pub data: Option<Arc<[u8]>>,
}

/// A symlink or hardlink member seen in a tar stream.
#[derive(Debug, Clone)]
pub struct StreamedLink {
    pub name: String,
    pub target: String,
    pub symlink: bool,
}

/// One member of an indexed tar archive.
#[derive(Debug, Clone)]
pub struct Member {
    pub offset: u64,
    pub size: u64,
    /// Target member of a symlink or hardlink member, already resolved to a member name.
    pub link: Option<String>,
    /// The archive ends before this member's data does.
    pub truncated: bool,
}

impl Source {
    /// Open `path`: `-` is stdin, a directory is read in place, a file is indexed as a tar,
    /// after undoing an outer gzip or zstd compression.
    pub fn open(path: &str) -> Result<Source> {
        if path == "-" {
            return Self::from_stdin();
        }
        let fs_path = Path::new(path);
        let meta = std::fs::metadata(fs_path).map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            return Ok(Source {
                display: path.to_string(),
                outer: Compression::None,
                kind: Kind::Dir(fs_path.to_path_buf()),
            });
        }
        let file = File::open(fs_path).map_err(|e| Error::io(path, e))?;
        Self::from_file(path.to_string(), file)
    }

    fn from_stdin() -> Result<Source> {
        let display = "<stdin>".to_string();
        let mut spool = tempfile::tempfile().map_err(|e| Error::io("temporary file", e))?;
        io::copy(&mut io::stdin().lock(), &mut spool).map_err(|e| Error::io(&display, e))?;
        // `from_file` reads the magic from the current position: rewind past the copy.
        spool
            .seek(SeekFrom::Start(0))
            .map_err(|e| Error::io("temporary file", e))?;
        Self::from_file(display, spool)
    }

    fn from_file(display: String, mut file: File) -> Result<Source> {
        let mut magic = [0u8; 8];
        let got = read_up_to(&mut file, &mut magic).map_err(|e| Error::io(&display, e))?;
        if got == 0 {
            return Err(Error::NotAnImage {
                path: display,
                reason: "the file is empty".into(),
            });
        }
        let outer = Compression::detect(&magic[..got]);
        file.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(&display, e))?;
        if outer != Compression::None {
            file = spool_decompressed(&display, file, outer)?;
        }
        let members = index_tar(&display, &mut file)?;
        Ok(Source {
            display,
            outer,
            kind: Kind::Tar {
                file: Arc::new(file),
                members,
            },
        })
    }

    /// What one pass over a tar stream saw: `files` are its regular members (already with
    /// normalised names), `links` its symlink and hardlink members. Members whose bytes were
    /// not kept exist and have a size, but cannot be opened.
    pub fn from_streamed(
        display: String,
        files: Vec<StreamedMember>,
        links: Vec<StreamedLink>,
    ) -> Source {
        let mut members = HashMap::with_capacity(files.len() + links.len());
        let mut kept = HashMap::new();
        for file in files {
            if let Some(data) = file.data {
                kept.insert(file.name.clone(), data);
            }
            members.insert(
                file.name,
                Member {
                    offset: 0,
                    size: file.size,
                    link: None,
                    truncated: false,
                },
            );
        }
        let links = links
            .into_iter()
            .map(|l| (l.name, l.target, l.symlink))
            .collect();
        add_links(&mut members, links);
        Source {
            display,
            outer: Compression::None,
            kind: Kind::Streamed { members, kept },
        }
    }

    /// The member a name leads to after following links (for a streamed source, the name
    /// under which its parse result is filed).
    pub fn resolve_member(&self, name: &str) -> Option<String> {
        let members = match &self.kind {
            Kind::Dir(_) => return self.exists(name).then(|| normalize_member(name)),
            Kind::Tar { members, .. } | Kind::Streamed { members, .. } => members,
        };
        let mut current = normalize_member(name);
        for _ in 0..MAX_LINK_HOPS {
            match &members.get(current.as_str())?.link {
                Some(target) => current = target.clone(),
                None => return Some(current),
            }
        }
        None
    }

    /// The name to show for this source in messages.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The compression of the archive as a whole (`docker save | gzip`), if any.
    pub fn outer_compression(&self) -> Compression {
        self.outer
    }

    pub fn is_directory(&self) -> bool {
        matches!(self.kind, Kind::Dir(_))
    }

    /// Does the named file or member exist (after following member links)?
    pub fn exists(&self, name: &str) -> bool {
        match &self.kind {
            Kind::Dir(root) => safe_join(root, name).is_some_and(|p| p.is_file()),
            Kind::Tar { members, .. } | Kind::Streamed { members, .. } => {
                resolve(members, name).is_some()
            }
        }
    }

    /// Size in bytes of the named file or member.
    pub fn size(&self, name: &str) -> Option<u64> {
        match &self.kind {
            Kind::Dir(root) => safe_join(root, name)
                .and_then(|p| std::fs::metadata(p).ok())
                .map(|m| m.len()),
            Kind::Tar { members, .. } | Kind::Streamed { members, .. } => {
                resolve(members, name).map(|m| m.size)
            }
        }
    }

    /// Whether the archive ends before the member's data does.
    pub fn is_truncated(&self, name: &str) -> bool {
        match &self.kind {
            Kind::Dir(_) => false,
            Kind::Tar { members, .. } | Kind::Streamed { members, .. } => {
                resolve(members, name).is_some_and(|m| m.truncated)
            }
        }
    }

    /// Open a blob for streaming. Several readers may be open at once, from several threads.
    pub fn open_member(&self, name: &str) -> Result<BlobReader> {
        match &self.kind {
            Kind::Dir(root) => {
                let path = safe_join(root, name).ok_or_else(|| self.missing(name))?;
                let file = File::open(&path).map_err(|e| {
                    if e.kind() == io::ErrorKind::NotFound {
                        self.missing(name)
                    } else {
                        Error::io(path.display().to_string(), e)
                    }
                })?;
                Ok(BlobReader::File(file))
            }
            Kind::Tar { file, members } => {
                let member = resolve(members, name).ok_or_else(|| self.missing(name))?;
                Ok(BlobReader::Range {
                    file: Arc::clone(file),
                    pos: member.offset,
                    end: member.offset + member.size,
                })
            }
            Kind::Streamed { kept, .. } => {
                let member = self
                    .resolve_member(name)
                    .ok_or_else(|| self.missing(name))?;
                let data = kept.get(&member).ok_or_else(|| Error::MissingBlob {
                    path: self.display.clone(),
                    digest: member.clone(),
                    what: "read once from a stream and not kept".into(),
                })?;
                Ok(BlobReader::Memory(io::Cursor::new(Arc::clone(data))))
            }
        }
    }

    /// Read a small document (JSON) fully, refusing anything over [`JSON_LIMIT`].
    pub fn read_small(&self, name: &str) -> Result<Vec<u8>> {
        let size = self.size(name).ok_or_else(|| self.missing(name))?;
        if size > JSON_LIMIT {
            return Err(Error::MemberTooLarge {
                path: self.display.clone(),
                member: name.to_string(),
                size,
                limit: JSON_LIMIT,
            });
        }
        if self.is_truncated(name) {
            return Err(Error::Truncated {
                path: self.display.clone(),
                detail: format!("{name} is cut short"),
            });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        self.open_member(name)?
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(format!("{}: {name}", self.display), e))?;
        Ok(bytes)
    }

    fn missing(&self, name: &str) -> Error {
        Error::MissingBlob {
            path: self.display.clone(),
            digest: name.to_string(),
            what: "no such file in the image".into(),
        }
    }
}

/// A stream over one blob: a whole file, or a byte range of the indexed archive read with
/// positional reads, so that readers on different threads never share a file cursor.
pub enum BlobReader {
    File(File),
    Range {
        file: Arc<File>,
        pos: u64,
        end: u64,
    },
    /// A small member kept from a stream.
    Memory(io::Cursor<Arc<[u8]>>),
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            BlobReader::File(file) => file.read(buf),
            BlobReader::Memory(cursor) => cursor.read(buf),
            BlobReader::Range { file, pos, end } => {
                let want = (*end - *pos).min(buf.len() as u64) as usize;
                if want == 0 {
                    return Ok(0);
                }
                let got = file.read_at(&mut buf[..want], *pos)?;
                *pos += got as u64;
                Ok(got)
            }
        }
    }
}

/// Join a member name under a directory, refusing names that could leave it.
fn safe_join(root: &Path, name: &str) -> Option<PathBuf> {
    let relative = Path::new(name);
    let clean = relative
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    clean.then(|| root.join(relative))
}

fn resolve<'a>(members: &'a HashMap<String, Member>, name: &str) -> Option<&'a Member> {
    let mut current = members.get(normalize_member(name).as_str())?;
    for _ in 0..MAX_LINK_HOPS {
        match &current.link {
            Some(target) => current = members.get(target)?,
            None => return Some(current),
        }
    }
    None
}

/// Member names are compared without a leading `./` or `/`, and with `.`/`..` resolved.
pub fn normalize_member(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn spool_decompressed(display: &str, file: File, compression: Compression) -> Result<File> {
    let mut spool = tempfile::tempfile().map_err(|e| Error::io("temporary file", e))?;
    let mut decoder = decoder(compression, BufReader::with_capacity(1 << 20, file))
        .map_err(|e| Error::io(display, e))?;
    io::copy(&mut decoder, &mut spool).map_err(|e| Error::CorruptArchive {
        path: display.to_string(),
        detail: format!("outer {compression} stream: {e}"),
    })?;
    spool
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(display, e))?;
    Ok(spool)
}

/// Index every member of a tar archive without reading member data.
fn index_tar(display: &str, file: &mut File) -> Result<HashMap<String, Member>> {
    let len = file.metadata().map_err(|e| Error::io(display, e))?.len();
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(display, e))?;
    let not_tar = |detail: String| Error::NotAnImage {
        path: display.to_string(),
        reason: detail,
    };
    let mut archive = tar::Archive::new(BufReader::new(&*file));
    let entries = archive
        .entries_with_seek()
        .map_err(|e| not_tar(format!("not a tar archive ({e})")))?;
    let mut members = HashMap::new();
    let mut links: Vec<(String, String, bool)> = Vec::new();
    let mut counts = MemberCounts::default();
    for (position, entry) in entries.enumerate() {
        let entry = entry.map_err(|e| {
            if position == 0 {
                not_tar(format!("not a tar archive ({e})"))
            } else if e.kind() == io::ErrorKind::UnexpectedEof || len % 512 != 0 {
                // A tar is whole 512-byte blocks: a ragged end is a cut, whatever the tar
                // crate calls it ("failed to read entire block").
                Error::Truncated {
                    path: display.to_string(),
                    detail: format!("after member {position}: {e}"),
                }
            } else {
                Error::CorruptArchive {
                    path: display.to_string(),
                    detail: format!("member {position}: {e}"),
                }
            }
        })?;
        let kind = entry.header().entry_type();
        let (name, link) = counted_member(&entry, &mut counts, display, position + 1)?;
        if kind.is_symlink() || kind.is_hard_link() {
            if let Some(target) = link {
                links.push((name, target, kind.is_symlink()));
            }
            continue;
        }
        if !(kind.is_file() || kind.is_contiguous()) {
            continue;
        }
        let offset = entry.raw_file_position();
        let size = entry.size();
        let truncated = offset.saturating_add(size) > len;
        let size = if truncated {
            len.saturating_sub(offset)
        } else {
            size
        };
        members.insert(
            name,
            Member {
                offset,
                size,
                link: None,
                truncated,
            },
        );
    }
    if members.is_empty() && links.is_empty() {
        return Err(not_tar("the archive has no files".into()));
    }
    add_links(&mut members, links);
    Ok(members)
}

/// An outer archive's member counted against the archive's limits (the same for a file,
/// stdin and an engine's export): its normalised name, and its link target when it is a
/// symlink or hardlink. `position` (from 1) names it in the error.
pub(crate) fn counted_member<R: Read>(
    entry: &tar::Entry<'_, R>,
    counts: &mut MemberCounts,
    display: &str,
    position: usize,
) -> Result<(String, Option<String>)> {
    let kind = entry.header().entry_type();
    let name = entry.path_bytes();
    let link = (kind.is_symlink() || kind.is_hard_link())
        .then(|| entry.link_name_bytes())
        .flatten();
    counts
        .add(name.len(), link.as_ref().map_or(0, |l| l.len()))
        .map_err(|source| Error::Limit {
            path: display.to_string(),
            at: format!("member {position}"),
            source,
        })?;
    Ok((
        normalize_member(&String::from_utf8_lossy(&name)),
        link.map(|l| String::from_utf8_lossy(&l).into_owned()),
    ))
}

/// Add link members (name, target, is-symlink) to `members`, resolved to member names, each
/// with the size of what it points to, so that `size()` needs no special case.
fn add_links(members: &mut HashMap<String, Member>, links: Vec<(String, String, bool)>) {
    for (name, target, is_symlink) in links {
        // A symlink target is relative to the link's directory; a hardlink names a member.
        let resolved = if is_symlink && !target.starts_with('/') {
            let dir = name.rsplit_once('/').map_or("", |(dir, _)| dir);
            normalize_member(&format!("{dir}/{target}"))
        } else {
            normalize_member(&target)
        };
        members.insert(
            name,
            Member {
                offset: 0,
                size: 0,
                link: Some(resolved),
                truncated: false,
            },
        );
    }
    // Give each link member the size of what it points to, so `size()` needs no special case.
    let sizes: Vec<(String, u64, bool)> = members
        .iter()
        .filter(|(_, m)| m.link.is_some())
        .filter_map(|(name, _)| resolve(members, name).map(|m| (name.clone(), m.size, m.truncated)))
        .collect();
    for (name, size, truncated) in sizes {
        if let Some(member) = members.get_mut(&name) {
            member.size = size;
            member.truncated = truncated;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_are_normalised() {
        assert_eq!(normalize_member("./blobs/sha256/ab"), "blobs/sha256/ab");
        assert_eq!(normalize_member("/a/./b/../c"), "a/c");
        assert_eq!(normalize_member("id/../x.tar"), "x.tar");
    }

    #[test]
    fn server_text_becomes_one_short_line() {
        assert_eq!(
            one_line(b"  no such\n\timage \x1b[31m ", false),
            "no such image [31m"
        );
        assert_eq!(one_line(b"", false), "");
        let long = vec![b'x'; 20 << 20];
        let line = one_line(&long, false);
        assert_eq!(
            line,
            format!("{} … (cut; 20971520 bytes or more)", "x".repeat(TEXT_CUT))
        );
        assert!(one_line(b"short", true).ends_with("… (cut; 5 bytes or more)"));
    }

    #[test]
    fn directory_names_cannot_escape() {
        let root = Path::new("/tmp/root");
        assert!(safe_join(root, "blobs/sha256/ab").is_some());
        assert!(safe_join(root, "../etc/passwd").is_none());
        assert!(safe_join(root, "/etc/passwd").is_none());
    }
}
