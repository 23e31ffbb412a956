//! Layer tars: entries, a builder for small test layers, and the streaming
//! writer that both tests and the benchmark generator use.

use super::codec::{Compression, Encoder, HashWriter};
use super::content::Content;
use std::io::{self, Read, Write};
use tar::{EntryType, Header};

/// Fixed mtime so identical specs give identical bytes (and digests).
pub const DEFAULT_MTIME: u64 = 1_700_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File(Content),
    Symlink(Vec<u8>),
    /// Target is a path inside the image (as written in the tar, no leading `/`).
    Hardlink(Vec<u8>),
    CharDev {
        major: u32,
        minor: u32,
    },
    BlockDev {
        major: u32,
        minor: u32,
    },
    Fifo,
}

/// One tar entry. Paths are raw bytes and are written verbatim (no
/// normalisation), so hostile names like `../x` or `/etc/x` go through as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: Vec<u8>,
    pub kind: Kind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    /// Extra PAX records (e.g. `SCHILY.xattr.security.capability`). `path` and
    /// `linkpath` are added automatically when a name does not fit USTAR.
    pub pax: Vec<(String, Vec<u8>)>,
}

impl Entry {
    pub fn new(path: impl AsRef<[u8]>, kind: Kind) -> Self {
        let mode = match kind {
            Kind::Dir => 0o755,
            Kind::Symlink(_) => 0o777,
            Kind::CharDev { .. } | Kind::BlockDev { .. } | Kind::Fifo => 0o666,
            Kind::File(_) | Kind::Hardlink(_) => 0o644,
        };
        Entry {
            path: path.as_ref().to_vec(),
            kind,
            mode,
            uid: 0,
            gid: 0,
            mtime: DEFAULT_MTIME,
            pax: Vec::new(),
        }
    }

    /// Appends this entry the way Go's archive/tar (docker, buildkit) does:
    /// USTAR when the names fit, otherwise a PAX header carrying them.
    pub fn append_to<W: Write>(&self, tar: &mut tar::Builder<W>) -> io::Result<()> {
        let mut header = Header::new_ustar();
        let mut pax = self.pax.clone();

        if !set_ustar_name(&mut header, &self.path) {
            pax.push(("path".into(), self.path.clone()));
            set_ustar_name(&mut header, truncate(&self.path, 100));
        }
        let (entry_type, size, link) = match &self.kind {
            Kind::Dir => (EntryType::Directory, 0, None),
            Kind::File(c) => (EntryType::Regular, c.len(), None),
            Kind::Symlink(t) => (EntryType::Symlink, 0, Some(t)),
            Kind::Hardlink(t) => (EntryType::Link, 0, Some(t)),
            Kind::CharDev { .. } => (EntryType::Char, 0, None),
            Kind::BlockDev { .. } => (EntryType::Block, 0, None),
            Kind::Fifo => (EntryType::Fifo, 0, None),
        };
        header.set_entry_type(entry_type);
        header.set_size(size);
        header.set_mode(self.mode);
        header.set_uid(self.uid);
        header.set_gid(self.gid);
        header.set_mtime(self.mtime);
        if let Some(link) = link {
            let ustar = header.as_ustar_mut().expect("ustar header");
            if link.len() <= ustar.linkname.len() {
                ustar.linkname[..link.len()].copy_from_slice(link);
            } else {
                pax.push(("linkpath".into(), link.clone()));
                ustar.linkname.copy_from_slice(truncate(link, 100));
            }
        }
        if let Kind::CharDev { major, minor } | Kind::BlockDev { major, minor } = self.kind {
            header.set_device_major(major)?;
            header.set_device_minor(minor)?;
        }
        header.set_cksum();

        if !pax.is_empty() {
            let records: Vec<(&str, &[u8])> = pax
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_slice()))
                .collect();
            let (pax_header, data) = pax_entry(&self.path, &records);
            tar.append(&pax_header, data.as_slice())?;
        }
        match &self.kind {
            Kind::File(c) => tar.append(&header, c.reader()),
            _ => tar.append(&header, io::empty()),
        }
    }
}

/// Writes `name` into the USTAR name/prefix fields if it fits; false otherwise.
pub fn set_ustar_name(header: &mut Header, name: &[u8]) -> bool {
    let ustar = header.as_ustar_mut().expect("ustar header");
    if name.len() <= ustar.name.len() {
        ustar.name = [0; 100];
        ustar.name[..name.len()].copy_from_slice(name);
        return true;
    }
    // Split at a '/' so that prefix <= 155 and name <= 100 (POSIX ustar).
    let split = name.iter().enumerate().rev().find(|&(i, &b)| {
        b == b'/'
            && i <= ustar.prefix.len()
            && name.len() - i - 1 <= ustar.name.len()
            && i + 1 < name.len()
    });
    match split {
        Some((i, _)) => {
            ustar.prefix = [0; 155];
            ustar.prefix[..i].copy_from_slice(&name[..i]);
            ustar.name = [0; 100];
            ustar.name[..name.len() - i - 1].copy_from_slice(&name[i + 1..]);
            true
        }
        None => false,
    }
}

fn truncate(b: &[u8], n: usize) -> &[u8] {
    &b[..b.len().min(n)]
}

/// Encodes PAX records (`"<len> key=value\n"`, where len counts itself).
pub fn pax_records(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in records {
        let body = key.len() + value.len() + 3; // ' ', '=', '\n'
        let mut len = body + body.to_string().len();
        if len.to_string().len() != body.to_string().len() {
            len = body + len.to_string().len();
        }
        out.extend_from_slice(format!("{len} {key}=").as_bytes());
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out
}

/// A PAX extended header ('x') for `path` with the given records, ready for
/// `tar::Builder::append`. Exposed so hostile tests can hand-craft PAX entries.
pub fn pax_entry(path: &[u8], records: &[(&str, &[u8])]) -> (Header, Vec<u8>) {
    let data = pax_records(records);
    let mut header = Header::new_ustar();
    let base = path
        .rsplit(|&b| b == b'/')
        .find(|c| !c.is_empty())
        .unwrap_or(b"entry");
    let mut name = b"PaxHeaders.0/".to_vec();
    name.extend_from_slice(truncate(base, 80));
    set_ustar_name(&mut header, &name);
    header.set_entry_type(EntryType::XHeader);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(DEFAULT_MTIME);
    header.set_cksum();
    (header, data)
}

/// One item of a [`LayerSpec`]: a normal entry, or a header written verbatim.
#[derive(Clone)]
pub enum Item {
    Entry(Entry),
    /// Written exactly as given (checksum included): for malformed or exotic
    /// headers the normal path would refuse or fix up.
    Raw(Box<Header>, Vec<u8>),
}

/// The entries of one layer tar, in order. Methods chain:
/// `LayerSpec::new().dir("etc", 0o755).file("etc/hosts", b"127.0.0.1 localhost\n")`.
#[derive(Clone, Default)]
pub struct LayerSpec {
    pub items: Vec<Item>,
}

impl LayerSpec {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn entry(mut self, entry: Entry) -> Self {
        self.items.push(Item::Entry(entry));
        self
    }

    pub fn dir(self, path: impl AsRef<[u8]>, mode: u32) -> Self {
        let mut e = Entry::new(path, Kind::Dir);
        e.mode = mode;
        self.entry(e)
    }

    pub fn file(self, path: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> Self {
        self.content(path, Content::Bytes(data.as_ref().to_vec()))
    }

    pub fn file_mode(
        self,
        path: impl AsRef<[u8]>,
        data: impl AsRef<[u8]>,
        mode: u32,
        uid: u64,
        gid: u64,
    ) -> Self {
        let mut e = Entry::new(path, Kind::File(Content::Bytes(data.as_ref().to_vec())));
        e.mode = mode;
        e.uid = uid;
        e.gid = gid;
        self.entry(e)
    }

    /// A file whose bytes are generated while writing (see [`Content`]).
    pub fn content(self, path: impl AsRef<[u8]>, content: Content) -> Self {
        self.entry(Entry::new(path, Kind::File(content)))
    }

    pub fn symlink(self, path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Self {
        self.entry(Entry::new(path, Kind::Symlink(target.as_ref().to_vec())))
    }

    pub fn hardlink(self, path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Self {
        self.entry(Entry::new(path, Kind::Hardlink(target.as_ref().to_vec())))
    }

    /// Deletes `path` from lower layers: `"a/b"` writes an empty file `"a/.wh.b"`.
    pub fn whiteout(self, path: &str) -> Self {
        self.file(whiteout_path(path), b"")
    }

    /// Hides everything lower layers put in `dir`: writes `"dir/.wh..wh..opq"`.
    pub fn opaque(self, dir: &str) -> Self {
        self.file(format!("{}/.wh..wh..opq", dir.trim_end_matches('/')), b"")
    }

    pub fn char_dev(self, path: impl AsRef<[u8]>, major: u32, minor: u32) -> Self {
        self.entry(Entry::new(path, Kind::CharDev { major, minor }))
    }

    pub fn block_dev(self, path: impl AsRef<[u8]>, major: u32, minor: u32) -> Self {
        self.entry(Entry::new(path, Kind::BlockDev { major, minor }))
    }

    pub fn fifo(self, path: impl AsRef<[u8]>) -> Self {
        self.entry(Entry::new(path, Kind::Fifo))
    }

    /// Appends `header` + `data` verbatim. Build `header` with `tar::Header`
    /// (set its name bytes directly for names `tar` would reject) or [`pax_entry`].
    pub fn raw(mut self, header: Header, data: impl AsRef<[u8]>) -> Self {
        self.items
            .push(Item::Raw(Box::new(header), data.as_ref().to_vec()));
        self
    }

    /// Edits the last entry (mtime, owner, PAX records, ...). Panics after `raw`.
    pub fn with_last(mut self, edit: impl FnOnce(&mut Entry)) -> Self {
        match self.items.last_mut() {
            Some(Item::Entry(e)) => edit(e),
            _ => panic!("with_last: last item is not an Entry"),
        }
        self
    }

    /// Adds an xattr (PAX `SCHILY.xattr.<name>`) to the last entry.
    pub fn xattr(self, name: &str, value: impl AsRef<[u8]>) -> Self {
        let value = value.as_ref().to_vec();
        self.with_last(|e| e.pax.push((format!("SCHILY.xattr.{name}"), value)))
    }

    /// The uncompressed layer tar.
    pub fn tar_bytes(&self) -> Vec<u8> {
        self.write(Vec::new(), Compression::None)
            .expect("writing to memory cannot fail")
            .0
    }

    /// Writes the layer into `sink` with the given compression.
    pub fn write<W: Write>(
        &self,
        sink: W,
        compression: Compression,
    ) -> io::Result<(W, LayerDigests)> {
        let mut w = LayerWriter::new(sink, compression)?;
        for item in &self.items {
            match item {
                Item::Entry(e) => w.append(e)?,
                Item::Raw(h, data) => w.append_raw(h, data.as_slice())?,
            }
        }
        w.finish()
    }
}

/// `"a/b"` -> `"a/.wh.b"`; `"b"` -> `".wh.b"`.
pub fn whiteout_path(path: &str) -> String {
    let path = path.trim_end_matches('/');
    match path.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/.wh.{name}"),
        None => format!(".wh.{path}"),
    }
}

/// What a registry/runtime needs to know about a written layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerDigests {
    /// sha256 of the uncompressed tar (config `rootfs.diff_ids`).
    pub diff_id: String,
    pub uncompressed_size: u64,
    /// sha256 of the blob as stored (manifest `layers[].digest`).
    pub digest: String,
    pub size: u64,
}

/// Streams a layer tar into `sink`, compressing and hashing on the way, so a
/// layer of any size needs only constant memory.
pub struct LayerWriter<W: Write> {
    tar: tar::Builder<HashWriter<Encoder<HashWriter<W>>>>,
}

impl<W: Write> LayerWriter<W> {
    pub fn new(sink: W, compression: Compression) -> io::Result<Self> {
        let blob = HashWriter::new(sink);
        let tar = HashWriter::new(Encoder::new(blob, compression)?);
        Ok(LayerWriter {
            tar: tar::Builder::new(tar),
        })
    }

    pub fn append(&mut self, entry: &Entry) -> io::Result<()> {
        entry.append_to(&mut self.tar)
    }

    pub fn append_raw(&mut self, header: &Header, data: impl Read) -> io::Result<()> {
        self.tar.append(header, data)
    }

    /// Writes the end-of-archive blocks and returns the sink and the digests.
    pub fn finish(self) -> io::Result<(W, LayerDigests)> {
        let (encoder, diff_id, uncompressed_size) = self.tar.into_inner()?.finish();
        let (mut sink, digest, size) = encoder.finish()?.finish();
        sink.flush()?;
        Ok((
            sink,
            LayerDigests {
                diff_id,
                uncompressed_size,
                digest,
                size,
            },
        ))
    }
}
