//! File contents, read on demand from a layer blob.
//!
//! Parsing keeps no contents, only each entry's offset in the decompressed layer stream.
//! To show or extract a file, the blob is opened again, decompressed, and read forward to
//! that offset. A [`LayerStream`] keeps its decoder between reads, so reading many files of
//! one layer in offset order (extraction) decompresses the layer once.

use crate::error::{Error, Result};
use crate::source::{decoder, Compression, Source};
use std::io::{self, BufRead, BufReader, Read, Write};

/// A forward-only reader over one layer's decompressed tar stream.
pub struct LayerStream<'a> {
    source: &'a Source,
    member: String,
    reader: Option<Box<dyn Read + 'a>>,
    /// Position in the decompressed stream.
    pos: u64,
}

/// Bytes read from a file, possibly cut at a cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub bytes: Vec<u8>,
    /// The file's full size.
    pub size: u64,
    /// Fewer bytes than `size` were read because of the cap.
    pub truncated: bool,
}

impl<'a> LayerStream<'a> {
    /// A stream over the blob `member` of `source` (opened lazily).
    pub fn new(source: &'a Source, member: &str) -> Self {
        LayerStream {
            source,
            member: member.to_string(),
            reader: None,
            pos: 0,
        }
    }

    fn error(&self, e: io::Error) -> Error {
        Error::io(format!("{}: {}", self.source.display(), self.member), e)
    }

    fn reopen(&mut self) -> Result<()> {
        let blob = self.source.open_member(&self.member)?;
        let mut buffered = BufReader::with_capacity(256 << 10, blob);
        let compression = Compression::detect(buffered.fill_buf().map_err(|e| self.error(e))?);
        self.reader = Some(decoder(compression, buffered).map_err(|e| self.error(e))?);
        self.pos = 0;
        Ok(())
    }

    /// Copy `len` bytes found at `offset` of the decompressed stream into `out`. Reading
    /// backwards reopens the blob.
    pub fn copy_range(&mut self, offset: u64, len: u64, out: &mut dyn Write) -> Result<u64> {
        if self.reader.is_none() || offset < self.pos {
            self.reopen()?;
        }
        let skip = offset - self.pos;
        let Some(reader) = self.reader.as_mut() else {
            return Ok(0);
        };
        let skipped = io::copy(&mut reader.by_ref().take(skip), &mut io::sink());
        let copied = skipped.and_then(|skipped| {
            self.pos += skipped;
            if skipped < skip {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the layer ends before the file's content",
                ));
            }
            io::copy(&mut reader.by_ref().take(len), out)
        });
        match copied {
            Ok(copied) => {
                self.pos += copied;
                if copied < len {
                    // The stream ended early: a truncated layer. What was read is kept.
                    self.reader = None;
                }
                Ok(copied)
            }
            Err(e) => {
                self.reader = None;
                Err(self.error(e))
            }
        }
    }

    /// Read at most `cap` bytes of a `size`-byte file at `offset`.
    pub fn read(&mut self, offset: u64, size: u64, cap: u64) -> Result<Content> {
        let want = size.min(cap);
        let mut bytes = Vec::with_capacity(want.min(16 << 20) as usize);
        self.copy_range(offset, want, &mut bytes)?;
        Ok(Content {
            truncated: (bytes.len() as u64) < size,
            bytes,
            size,
        })
    }
}

/// Read one file's content (at most `cap` bytes) from the blob `member`.
pub fn read_content(
    source: &Source,
    member: &str,
    offset: u64,
    size: u64,
    cap: u64,
) -> Result<Content> {
    LayerStream::new(source, member).read(offset, size, cap)
}
