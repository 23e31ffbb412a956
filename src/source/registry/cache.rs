//! The blob cache: verified registry blobs kept under
//! `$XDG_CACHE_HOME/layerscope/blobs/sha256/<hex>` (an OCI layout's blob paths, so the
//! cache root opens as a [`Source`](crate::source::Source) for file contents).
//!
//! A blob is written to a temporary name while it streams in and renamed into place only
//! once its sha256 matched. A cached blob is hashed again while it is read; a mismatch
//! deletes it and the blob is fetched anew. Use refreshes the file's mtime, so pruning and
//! the size cap drop the least recently used first.

use super::direct::{self, DirectWriter, ReadAhead};
use crate::error::{Error, Result};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Default size cap of the cache; `LAYERSCOPE_CACHE_MAX` (e.g. `20GB`) overrides it.
pub const DEFAULT_MAX_BYTES: u64 = 10 << 30;

/// The cache directory (`blobs/sha256` lives under it).
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
    max_bytes: u64,
}

impl Cache {
    /// The user's cache: `$XDG_CACHE_HOME/layerscope`, else `~/.cache/layerscope`.
    pub fn user() -> Option<Cache> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        let max_bytes = std::env::var("LAYERSCOPE_CACHE_MAX")
            .ok()
            .and_then(|v| v.parse::<bytesize::ByteSize>().ok())
            .map_or(DEFAULT_MAX_BYTES, |b| b.as_u64());
        Some(Cache {
            root: base.join("layerscope"),
            max_bytes,
        })
    }

    /// A cache at `root` with the default cap (for tests).
    #[cfg(test)]
    pub fn at(root: &Path) -> Cache {
        Cache {
            root: root.to_path_buf(),
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blobs are: `blobs/sha256` under the root.
    pub fn blobs(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    /// The member name of a blob under [`Self::root`], for a `sha256:<hex>` digest.
    pub fn member(digest: &str) -> Option<String> {
        let hex = digest.strip_prefix("sha256:")?;
        (hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then(|| format!("blobs/sha256/{hex}"))
    }

    /// The cached file for `digest`, if present with the expected size (its content is
    /// verified by the reader).
    pub fn lookup(&self, digest: &str, size: u64) -> Option<PathBuf> {
        let path = self.root.join(Self::member(digest)?);
        let meta = fs::metadata(&path).ok()?;
        if meta.len() != size {
            let _ = fs::remove_file(&path);
            return None;
        }
        // Mark as recently used.
        if let Ok(file) = File::options().append(true).open(&path) {
            let _ = file.set_modified(SystemTime::now());
        }
        Some(path)
    }

    /// Start writing `digest`; `None` when the cache cannot be written (it is optional).
    pub fn writer(&self, digest: &str) -> Option<BlobWriter> {
        let member = Self::member(digest)?;
        fs::create_dir_all(self.blobs()).ok()?;
        let mut direct = false;
        let file = tempfile::Builder::new()
            .prefix(".partial-")
            .make_in(self.blobs(), |path| {
                let (file, is_direct) = direct::create(path)?;
                direct = is_direct;
                Ok(file)
            })
            .ok()?;
        Some(BlobWriter {
            file: Some(file),
            out: DirectWriter::new(direct),
            target: self.root.join(member),
        })
    }

    /// Remove blobs unused for longer than `older_than` (all when `None`). Returns how
    /// many files and bytes were removed.
    pub fn prune(&self, older_than: Option<Duration>) -> Result<(usize, u64)> {
        let now = SystemTime::now();
        let mut removed = (0, 0);
        for (path, size, used) in self.entries()? {
            let old =
                older_than.is_none_or(|limit| now.duration_since(used).unwrap_or_default() > limit);
            if old && fs::remove_file(&path).is_ok() {
                removed.0 += 1;
                removed.1 += size;
            }
        }
        Ok(removed)
    }

    /// Drop least recently used blobs until the cache fits its cap.
    pub fn enforce_cap(&self) {
        let Ok(mut entries) = self.entries() else {
            return;
        };
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        entries.sort_by_key(|e| e.2);
        for (path, size, _) in entries {
            if total <= self.max_bytes {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                total = total.saturating_sub(size);
            }
        }
    }

    fn entries(&self) -> Result<Vec<(PathBuf, u64, SystemTime)>> {
        let dir = self.blobs();
        let read = match fs::read_dir(&dir) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(dir.display().to_string(), e)),
        };
        Ok(read
            .flatten()
            .filter_map(|entry| {
                let meta = entry.metadata().ok()?;
                meta.is_file().then(|| {
                    (
                        entry.path(),
                        meta.len(),
                        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    )
                })
            })
            .collect())
    }
}

/// A blob being written into the cache (with direct I/O, see [`direct`]).
pub struct BlobWriter {
    file: Option<tempfile::NamedTempFile>,
    out: DirectWriter,
    target: PathBuf,
}

impl BlobWriter {
    /// Append bytes (an aligned whole chunk is written from where it is); a failed write
    /// abandons the cache copy, not the pull.
    pub fn write(&mut self, bytes: &[u8]) {
        if let Some(file) = &mut self.file {
            if self.out.write(file.as_file_mut(), bytes).is_err() {
                self.file = None;
            }
        }
    }

    /// Keep the blob: only called once its digest matched.
    pub fn commit(mut self) {
        if let Some(mut file) = self.file.take() {
            if self.out.finish(file.as_file_mut()).is_ok() {
                let _ = file.persist(&self.target);
            }
        }
    }
}

/// Read a cached blob found by [`Cache::lookup`] (with direct I/O and read-ahead, see
/// [`direct`]).
pub fn open_blob(path: &Path) -> std::io::Result<ReadAhead> {
    ReadAhead::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_kept_only_when_committed_and_pruned_by_age() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache {
            root: dir.path().to_path_buf(),
            max_bytes: 10,
        };
        let digest = format!("sha256:{}", "ab".repeat(32));
        let mut writer = cache.writer(&digest).unwrap();
        writer.write(b"12345678");
        drop(writer);
        assert!(
            cache.lookup(&digest, 8).is_none(),
            "an abandoned write is not served"
        );
        let mut writer = cache.writer(&digest).unwrap();
        writer.write(b"12345678");
        writer.commit();
        assert!(
            cache.lookup(&digest, 7).is_none(),
            "a wrong size is not served"
        );
        let mut writer = cache.writer(&digest).unwrap();
        writer.write(b"12345678");
        writer.commit();
        assert!(cache.lookup(&digest, 8).is_some());
        assert_eq!(cache.prune(Some(Duration::from_secs(3600))).unwrap().0, 0);
        assert_eq!(cache.prune(None).unwrap(), (1, 8));
        assert!(Cache::member("sha256:../../etc").is_none());
    }

    #[test]
    fn the_cap_drops_the_least_recently_used() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache {
            root: dir.path().to_path_buf(),
            max_bytes: 10,
        };
        let old = format!("sha256:{}", "01".repeat(32));
        let new = format!("sha256:{}", "02".repeat(32));
        for digest in [&old, &new] {
            let mut writer = cache.writer(digest).unwrap();
            writer.write(b"123456");
            writer.commit();
        }
        let old_path = dir.path().join(Cache::member(&old).unwrap());
        File::options()
            .append(true)
            .open(&old_path)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(600))
            .unwrap();
        cache.enforce_cap();
        assert!(!old_path.exists());
        assert!(cache.lookup(&new, 6).is_some());
    }
}
