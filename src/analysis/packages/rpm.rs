//! rpm's databases: sqlite (`rpmdb.sqlite`), Berkeley DB hash (`Packages`) and NDB
//! (`Packages.db`), each a store of rpm headers, one per installed package. The sqlite
//! file is read by SQLite itself (rusqlite, in memory, read-only); the other two have no
//! maintained Rust reader, so they are read here by hand. Every count and offset they
//! hold is checked against the file before it is used: a crafted file gets a one-line
//! reason, never a panic, a hang or an allocation larger than the file.

use super::db::{Record, MAX_FILES, MAX_RECORDS};

/// Index entries one header may have. rpm refuses more than 65,535 itself (hdrchkTags).
pub const MAX_HEADER_ENTRIES: usize = 0xffff;
/// Bytes of one header's data store. rpm refuses 16 MiB or more itself (hdrchkData).
pub const MAX_HEADER_DATA: usize = (16 << 20) - 1;
/// The largest header blob: its two counts, its index and its data store.
pub const MAX_HEADER_BYTES: usize = 8 + MAX_HEADER_ENTRIES * 16 + MAX_HEADER_DATA;

// Header tags (rpmtag.h) and entry types.
const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_SIZE: u32 = 1009;
const TAG_ARCH: u32 = 1022;
const TAG_OLDFILENAMES: u32 = 1027;
const TAG_PROVIDENAME: u32 = 1047;
const TAG_REQUIRENAME: u32 = 1049;
const TAG_DIRINDEXES: u32 = 1116;
const TAG_BASENAMES: u32 = 1117;
const TAG_DIRNAMES: u32 = 1118;
const TAG_LONGSIZE: u32 = 5009;
const TYPE_INT32: u32 = 4;
const TYPE_INT64: u32 = 5;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// One header: its index entries (tag, type, offset, count) and its data store.
struct Header<'a> {
    index: &'a [u8],
    data: &'a [u8],
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl<'a> Header<'a> {
    fn parse(blob: &'a [u8]) -> Result<Self, String> {
        let (Some(entries), Some(data)) = (be32(blob, 0), be32(blob, 4)) else {
            return Err("a header shorter than its 8-byte counts".into());
        };
        let (entries, data) = (entries as usize, data as usize);
        if entries > MAX_HEADER_ENTRIES || data > MAX_HEADER_DATA {
            return Err(format!(
                "a header of {entries} entries and {data} data bytes, past rpm's own limits"
            ));
        }
        // Both are bounded above, so this cannot overflow.
        let end = 8 + entries * 16 + data;
        if blob.len() < end {
            return Err(format!(
                "a header of {end} bytes truncated to {}",
                blob.len()
            ));
        }
        Ok(Header {
            index: &blob[8..8 + entries * 16],
            data: &blob[8 + entries * 16..end],
        })
    }

    /// The type, data offset and count of the first entry with `tag`.
    fn entry(&self, tag: u32) -> Option<(u32, usize, usize)> {
        self.index.chunks_exact(16).find_map(|e| {
            (be32(e, 0)? == tag).then_some((
                be32(e, 4)?,
                be32(e, 8)? as usize,
                be32(e, 12)? as usize,
            ))
        })
    }

    /// The NUL-terminated strings of a string-typed entry, at most `count` of them.
    fn strings(&self, tag: u32) -> Result<Vec<&'a [u8]>, String> {
        let Some((kind, offset, count)) = self.entry(tag) else {
            return Ok(Vec::new());
        };
        if !matches!(kind, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) {
            return Err(format!("tag {tag}: type {kind} where strings belong"));
        }
        // A string takes at least its NUL: a count past the bytes left is a lie, and is
        // refused before anything is allocated for it.
        let rest = self
            .data
            .get(offset..)
            .ok_or_else(|| format!("tag {tag}: offset {offset} past the data store"))?;
        if count > rest.len() {
            return Err(format!(
                "tag {tag}: {count} strings in {} bytes",
                rest.len()
            ));
        }
        let count = if kind == TYPE_STRING { 1 } else { count };
        let mut out = Vec::with_capacity(count);
        let mut at = 0;
        for _ in 0..count {
            let len = rest[at..]
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| format!("tag {tag}: a string without its NUL"))?;
            out.push(&rest[at..at + len]);
            at += len + 1;
        }
        Ok(out)
    }

    fn string(&self, tag: u32) -> Result<Option<String>, String> {
        Ok(self
            .strings(tag)?
            .first()
            .map(|s| String::from_utf8_lossy(s).into_owned()))
    }

    /// The integers of an INT32 (or, with `width` 8, INT64) entry.
    fn integers(&self, tag: u32, kind: u32, width: usize) -> Result<Vec<u64>, String> {
        let Some((found, offset, count)) = self.entry(tag) else {
            return Ok(Vec::new());
        };
        if found != kind {
            return Err(format!("tag {tag}: type {found} where {kind} belongs"));
        }
        let bytes = count
            .checked_mul(width)
            .and_then(|len| self.data.get(offset..offset.checked_add(len)?))
            .ok_or_else(|| format!("tag {tag}: {count} integers past the data store"))?;
        Ok(bytes
            .chunks_exact(width)
            .map(|b| b.iter().fold(0u64, |n, &d| n << 8 | u64::from(d)))
            .collect())
    }
}

/// One rpm header as the database stores it (no lead, no signature): the package's name,
/// `[EPOCH:]VERSION-RELEASE` as `rpm -q --qf '%{EVR}'` prints it, arch, declared size,
/// files and dependency names.
pub fn parse_header(blob: &[u8]) -> Result<Record, String> {
    let header = Header::parse(blob)?;
    let name = header
        .string(TAG_NAME)?
        .filter(|n| !n.is_empty())
        .ok_or("a header with no name")?;
    let version = header.string(TAG_VERSION)?.unwrap_or_default();
    let release = header.string(TAG_RELEASE)?.unwrap_or_default();
    let version = match header.integers(TAG_EPOCH, TYPE_INT32, 4)?.first() {
        Some(epoch) => format!("{epoch}:{version}-{release}"),
        None => format!("{version}-{release}"),
    };
    let declared = match header.integers(TAG_LONGSIZE, TYPE_INT64, 8)?.first() {
        Some(&size) => Some(size),
        None => header.integers(TAG_SIZE, TYPE_INT32, 4)?.first().copied(),
    };
    Ok(Record {
        name,
        version,
        declared,
        files: files(&header)?,
        arch: header.string(TAG_ARCH)?.unwrap_or_default(),
        // rpmlib(...) names features of rpm itself, not packages.
        depends: names(header.strings(TAG_REQUIRENAME)?, |n| {
            !n.starts_with(b"rpmlib(")
        }),
        provides: names(header.strings(TAG_PROVIDENAME)?, |_| true),
    })
}

/// Distinct names, in the header's order.
fn names(list: Vec<&[u8]>, keep: impl Fn(&[u8]) -> bool) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    list.into_iter()
        .filter(|n| keep(n) && seen.insert(*n))
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect()
}

/// The package's paths: each BASENAME joined to the DIRNAME its DIRINDEX points at, or
/// the OLDFILENAMES of headers from before rpm 4.
fn files(header: &Header) -> Result<Vec<Vec<u8>>, String> {
    let bases = header.strings(TAG_BASENAMES)?;
    if bases.is_empty() {
        return Ok(header
            .strings(TAG_OLDFILENAMES)?
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect());
    }
    let dirs = header.strings(TAG_DIRNAMES)?;
    let indexes = header.integers(TAG_DIRINDEXES, TYPE_INT32, 4)?;
    if indexes.len() != bases.len() {
        return Err(format!(
            "{} file names but {} directory indexes",
            bases.len(),
            indexes.len()
        ));
    }
    bases
        .iter()
        .zip(indexes)
        .map(|(base, index)| {
            let dir = dirs
                .get(index as usize)
                .ok_or_else(|| format!("directory index {index} of {}", dirs.len()))?;
            Ok([*dir, *base].concat())
        })
        .collect()
}

/// Headers into records, within the record and path caps.
fn records<'a>(
    blobs: impl IntoIterator<Item = Result<std::borrow::Cow<'a, [u8]>, String>>,
) -> Result<Vec<Record>, String> {
    let mut out = Vec::new();
    let mut paths = 0usize;
    for blob in blobs {
        if out.len() >= MAX_RECORDS {
            return Err(format!("more than {MAX_RECORDS} records"));
        }
        let record = parse_header(&blob?).map_err(|e| format!("package {}: {e}", out.len() + 1))?;
        paths += record.files.len();
        if paths > MAX_FILES {
            return Err(format!("more than {MAX_FILES} paths"));
        }
        out.push(record);
    }
    Ok(out)
}

/// SQLite virtual-machine steps one query may take, in thousands: a malformed schema
/// (a view that recurses) is cut off instead of spinning. A 64 MiB database takes far
/// fewer.
const MAX_SQLITE_KSTEPS: u64 = 200_000;

/// `rpmdb.sqlite` (rpm ≥ 4.16): table `Packages`, a header per row in column `blob`.
/// SQLite reads a copy in memory, read-only, with its defensive settings on.
pub fn parse_sqlite(bytes: &[u8]) -> Result<Vec<Record>, String> {
    use rusqlite::{config::DbConfig, limits::Limit, Connection};
    let sql = |e: rusqlite::Error| format!("sqlite: {e}");
    if !bytes.starts_with(b"SQLite format 3\0") || bytes.len() < 100 {
        return Err("not an SQLite database".into());
    }
    let mut conn = Connection::open_in_memory().map_err(sql)?;
    // A WAL-mode file (header bytes 18 and 19 are 2) will not open from memory; as a
    // rollback-journal file it reads the same pages. A -wal file beside it is not read.
    let patched = std::io::Read::chain(
        std::io::Read::chain(&bytes[..18], &[1u8, 1][..]),
        &bytes[20..],
    );
    conn.deserialize_read_exact("main", patched, bytes.len(), true)
        .map_err(sql)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)
        .map_err(sql)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)
        .map_err(sql)?;
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_HEADER_BYTES as i32)
        .map_err(sql)?;
    let mut steps = 0u64;
    conn.progress_handler(
        1000,
        Some(move || {
            steps += 1;
            steps > MAX_SQLITE_KSTEPS
        }),
    )
    .map_err(sql)?;
    let kind: String = conn
        .query_row(
            "SELECT type FROM sqlite_master WHERE name = 'Packages'",
            [],
            |row| row.get(0),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => "no Packages table".to_string(),
            e => sql(e),
        })?;
    if kind != "table" {
        return Err(format!("Packages is a {kind}, not a table"));
    }
    let mut statement = conn
        .prepare("SELECT blob FROM Packages ORDER BY hnum")
        .map_err(sql)?;
    let mut rows = statement.query([]).map_err(sql)?;
    let blobs = std::iter::from_fn(|| match rows.next() {
        Ok(Some(row)) => Some(
            row.get::<_, Vec<u8>>(0)
                .map(std::borrow::Cow::Owned)
                .map_err(sql),
        ),
        Ok(None) => None,
        Err(e) => Some(Err(sql(e))),
    });
    records(blobs)
}

// Berkeley DB's hash format (db_page.h).
const BDB_HASH_MAGIC: u32 = 0x0006_1561;
const BDB_PAGE_HEADER: usize = 26;
const BDB_HASH_UNSORTED: u8 = 2;
const BDB_OVERFLOW: u8 = 7;
const BDB_HASH: u8 = 13;
const BDB_KEYDATA: u8 = 1;
const BDB_OFFPAGE: u8 = 3;

/// A Berkeley DB hash file as pages, in the byte order its metadata page was written in.
struct Bdb<'a> {
    bytes: &'a [u8],
    page_size: usize,
    pages: usize,
    big_endian: bool,
}

impl<'a> Bdb<'a> {
    fn u32(&self, bytes: &[u8], at: usize) -> u32 {
        let b = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    fn u16(&self, bytes: &[u8], at: usize) -> usize {
        let b = [bytes[at], bytes[at + 1]];
        usize::from(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn page(&self, number: usize) -> &'a [u8] {
        &self.bytes[number * self.page_size..(number + 1) * self.page_size]
    }

    /// A value stored on overflow pages: the chain from `first`, `len` bytes in all.
    fn overflow(&self, first: u32, len: usize) -> Result<Vec<u8>, String> {
        if len > MAX_HEADER_BYTES || len > self.bytes.len() {
            return Err(format!("an overflow record of {len} bytes"));
        }
        let mut out = Vec::with_capacity(len);
        let mut next = first as usize;
        // Each page at most once: a chain that loops runs out of pages.
        for _ in 0..self.pages {
            if next == 0 || next >= self.pages {
                return Err(format!("overflow chain leads to page {next}"));
            }
            let page = self.page(next);
            if page[25] != BDB_OVERFLOW {
                return Err(format!("page {next} is not an overflow page"));
            }
            let used = self.u16(page, 22);
            let chunk = page
                .get(BDB_PAGE_HEADER..BDB_PAGE_HEADER + used)
                .ok_or_else(|| format!("page {next}: {used} bytes on a page"))?;
            out.extend_from_slice(&chunk[..chunk.len().min(len - out.len())]);
            if out.len() == len {
                return Ok(out);
            }
            next = self.u32(page, 16) as usize;
        }
        Err("an overflow chain that loops".into())
    }
}

/// `Packages` (rpm before 4.16, and RHEL 8): a Berkeley DB hash database whose values are
/// headers, keyed by instance number. Every hash page is read in file order; a value is
/// inline or, when large, on a chain of overflow pages.
pub fn parse_bdb(bytes: &[u8]) -> Result<Vec<Record>, String> {
    // The metadata page is at least 512 bytes: every field read below is inside it.
    let magic = bytes
        .get(12..16)
        .filter(|_| bytes.len() >= 512)
        .ok_or("not a Berkeley DB file")?;
    let big_endian = match magic {
        m if u32::from_le_bytes([m[0], m[1], m[2], m[3]]) == BDB_HASH_MAGIC => false,
        m if u32::from_be_bytes([m[0], m[1], m[2], m[3]]) == BDB_HASH_MAGIC => true,
        _ => return Err("not a Berkeley DB hash database".into()),
    };
    let mut db = Bdb {
        bytes,
        page_size: 0,
        pages: 0,
        big_endian,
    };
    let page_size = db.u32(bytes, 20) as usize;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(format!("page size {page_size}"));
    }
    if bytes.get(24) != Some(&0) {
        return Err("an encrypted database".into());
    }
    let last = db.u32(bytes, 32) as usize;
    let pages = bytes.len() / page_size;
    if last >= pages {
        return Err(format!(
            "truncated: page {last} declared, {pages} pages present"
        ));
    }
    db.page_size = page_size;
    db.pages = last + 1;
    let mut blobs = Vec::new();
    for number in 1..db.pages {
        let page = db.page(number);
        if !matches!(page[25], BDB_HASH | BDB_HASH_UNSORTED) {
            continue;
        }
        let entries = db.u16(page, 20);
        if BDB_PAGE_HEADER + entries * 2 > page_size {
            return Err(format!("page {number}: {entries} entries"));
        }
        let offset = |i: usize| db.u16(page, BDB_PAGE_HEADER + 2 * i);
        // Items are key, value, key, value…; each ends where the one before it starts.
        for pair in 0..entries / 2 {
            let (key, value) = (offset(2 * pair), offset(2 * pair + 1));
            let key_end = if pair == 0 {
                page_size
            } else {
                offset(2 * pair - 1)
            };
            if !(BDB_PAGE_HEADER < value && value < key && key < key_end && key_end <= page_size) {
                return Err(format!("page {number}: item {} out of place", 2 * pair));
            }
            // Key 0 is rpm's own counter of instances, not a package.
            if page[key] == BDB_KEYDATA && page[key + 1..key_end].iter().all(|&b| b == 0) {
                continue;
            }
            if blobs.len() >= MAX_RECORDS {
                return Err(format!("more than {MAX_RECORDS} records"));
            }
            blobs.push(match page[value] {
                BDB_KEYDATA => Ok(std::borrow::Cow::Borrowed(&page[value + 1..key])),
                BDB_OFFPAGE if key - value >= 12 => {
                    let first = db.u32(page, value + 4);
                    let len = db.u32(page, value + 8) as usize;
                    db.overflow(first, len).map(std::borrow::Cow::Owned)
                }
                other => Err(format!("page {number}: an item of type {other}")),
            });
        }
    }
    records(blobs)
}

// NDB (rpm's lib/backend/ndb/rpmpkg.c): little-endian, 4 KiB slot pages of 16-byte slots,
// blobs in 16-byte blocks.
const NDB_MAGIC: &[u8; 4] = b"RpmP";
const NDB_SLOT_MAGIC: &[u8; 4] = b"Slot";
const NDB_BLOB_MAGIC: &[u8; 4] = b"BlbS";
const NDB_PAGE: usize = 4096;
const NDB_BLOCK: usize = 16;
/// The blob head (magic, package index, generation, length) and tail (checksum, length,
/// magic) around each header.
const NDB_BLOB_HEAD: usize = 16;
const NDB_BLOB_TAIL: usize = 12;

fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// `Packages.db` (rpm ≥ 4.16's own format, SUSE's default): a header page, slot pages
/// naming each package's blocks, and the blobs.
pub fn parse_ndb(bytes: &[u8]) -> Result<Vec<Record>, String> {
    if bytes.len() < 32 || &bytes[..4] != NDB_MAGIC {
        return Err("not an rpm NDB database".into());
    }
    if le32(bytes, 4) != 0 {
        return Err(format!("NDB version {}", le32(bytes, 4)));
    }
    let slot_pages = le32(bytes, 12) as usize;
    let slots_end = slot_pages
        .checked_mul(NDB_PAGE)
        .filter(|&end| slot_pages > 0 && end <= bytes.len())
        .ok_or_else(|| format!("{slot_pages} slot pages in {} bytes", bytes.len()))?;
    let mut blobs = Vec::new();
    // The first two slots' room holds the database's own header.
    for (number, slot) in bytes[32..slots_end].chunks_exact(16).enumerate() {
        if &slot[..4] != NDB_SLOT_MAGIC {
            return Err(format!("slot {number}: no slot magic"));
        }
        let package = le32(slot, 4);
        if package == 0 {
            continue;
        }
        if blobs.len() >= MAX_RECORDS {
            return Err(format!("more than {MAX_RECORDS} records"));
        }
        let (offset, blocks) = (le32(slot, 8) as usize, le32(slot, 12) as usize);
        let blob = offset
            .checked_mul(NDB_BLOCK)
            .zip(blocks.checked_mul(NDB_BLOCK))
            .and_then(|(start, len)| bytes.get(start..start.checked_add(len)?))
            .filter(|blob| blob.len() >= NDB_BLOB_HEAD + NDB_BLOB_TAIL)
            .ok_or_else(|| format!("package {package}: blocks past the end of the file"))?;
        if &blob[..4] != NDB_BLOB_MAGIC || le32(blob, 4) != package {
            return Err(format!(
                "package {package}: its blob is not where its slot says"
            ));
        }
        let len = le32(blob, 12) as usize;
        let header = blob
            .get(NDB_BLOB_HEAD..)
            .filter(|rest| len <= rest.len() - NDB_BLOB_TAIL)
            .map(|rest| &rest[..len])
            .ok_or_else(|| {
                format!(
                    "package {package}: a blob of {len} bytes in {} blocks",
                    blocks
                )
            })?;
        blobs.push(Ok(std::borrow::Cow::Borrowed(header)));
    }
    records(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header of `entries` (tag, type, count, data), laid out in order.
    fn header(entries: &[(u32, u32, u32, Vec<u8>)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, kind, count, bytes) in entries {
            for n in [*tag, *kind, data.len() as u32, *count] {
                index.extend_from_slice(&n.to_be_bytes());
            }
            data.extend_from_slice(bytes);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend(index);
        out.extend(data);
        out
    }

    fn strs(list: &[&str]) -> Vec<u8> {
        list.iter()
            .flat_map(|s| [s.as_bytes(), b"\0"].concat())
            .collect()
    }

    fn sample() -> Vec<u8> {
        header(&[
            (TAG_NAME, TYPE_STRING, 1, strs(&["hello"])),
            (TAG_VERSION, TYPE_STRING, 1, strs(&["2.1"])),
            (TAG_RELEASE, TYPE_STRING, 1, strs(&["3.fc40"])),
            (TAG_ARCH, TYPE_STRING, 1, strs(&["x86_64"])),
            (TAG_EPOCH, TYPE_INT32, 1, 7u32.to_be_bytes().to_vec()),
            (TAG_SIZE, TYPE_INT32, 1, 1234u32.to_be_bytes().to_vec()),
            (
                TAG_DIRNAMES,
                TYPE_STRING_ARRAY,
                2,
                strs(&["/usr/bin/", "/etc/"]),
            ),
            (
                TAG_BASENAMES,
                TYPE_STRING_ARRAY,
                3,
                strs(&["hello", "hello.conf", "x"]),
            ),
            (
                TAG_DIRINDEXES,
                TYPE_INT32,
                3,
                [0u32, 1, 1].iter().flat_map(|n| n.to_be_bytes()).collect(),
            ),
            (
                TAG_REQUIRENAME,
                TYPE_STRING_ARRAY,
                3,
                strs(&["libc.so.6", "rpmlib(X)", "libc.so.6"]),
            ),
            (TAG_PROVIDENAME, TYPE_STRING_ARRAY, 1, strs(&["hello"])),
        ])
    }

    #[test]
    fn a_header_gives_name_evr_arch_size_files_and_dependencies() {
        let record = parse_header(&sample()).unwrap();
        assert_eq!(record.name, "hello");
        assert_eq!(record.version, "7:2.1-3.fc40");
        assert_eq!(record.arch, "x86_64");
        assert_eq!(record.declared, Some(1234));
        assert_eq!(
            record.files,
            vec![
                b"/usr/bin/hello".to_vec(),
                b"/etc/hello.conf".to_vec(),
                b"/etc/x".to_vec()
            ]
        );
        assert_eq!(record.depends, vec!["libc.so.6"]);
        assert_eq!(record.provides, vec!["hello"]);
    }

    #[test]
    fn every_truncation_of_a_header_is_an_error() {
        let blob = sample();
        for len in 0..blob.len() {
            assert!(parse_header(&blob[..len]).is_err(), "{len} bytes");
        }
    }

    #[test]
    fn absurd_counts_and_offsets_are_refused() {
        let mut blob = sample();
        blob[..4].copy_from_slice(&0x0001_0000u32.to_be_bytes());
        assert!(parse_header(&blob).unwrap_err().contains("limits"));
        // A basenames count of 2^31 in a few bytes of data.
        let lying = header(&[
            (TAG_NAME, TYPE_STRING, 1, strs(&["a"])),
            (TAG_BASENAMES, TYPE_STRING_ARRAY, 0x8000_0000, strs(&["x"])),
        ]);
        assert!(parse_header(&lying).unwrap_err().contains("strings in"));
        let bad_index = header(&[
            (TAG_NAME, TYPE_STRING, 1, strs(&["a"])),
            (TAG_DIRNAMES, TYPE_STRING_ARRAY, 1, strs(&["/"])),
            (TAG_BASENAMES, TYPE_STRING_ARRAY, 1, strs(&["x"])),
            (TAG_DIRINDEXES, TYPE_INT32, 1, 5u32.to_be_bytes().to_vec()),
        ]);
        assert!(parse_header(&bad_index)
            .unwrap_err()
            .contains("directory index 5"));
        let no_nul = header(&[(TAG_NAME, TYPE_STRING, 1, b"abc".to_vec())]);
        assert!(parse_header(&no_nul).is_err());
    }

    /// A little-endian hash database of 512-byte pages: the metadata page, one hash page
    /// holding `items` (key and value items, each its type byte and bytes), then `extra`.
    fn bdb(items: &[Vec<u8>], extra: &[Vec<u8>]) -> Vec<u8> {
        let mut file = vec![0u8; 512];
        file[12..16].copy_from_slice(&BDB_HASH_MAGIC.to_le_bytes());
        file[20..24].copy_from_slice(&512u32.to_le_bytes());
        file[32..36].copy_from_slice(&(1 + extra.len() as u32).to_le_bytes());
        let mut page = vec![0u8; 512];
        page[20..22].copy_from_slice(&(items.len() as u16).to_le_bytes());
        page[25] = BDB_HASH;
        // Items are laid from the page's end down, the first highest.
        let mut end = 512;
        for (i, item) in items.iter().enumerate() {
            end -= item.len();
            page[end..end + item.len()].copy_from_slice(item);
            page[26 + 2 * i..28 + 2 * i].copy_from_slice(&(end as u16).to_le_bytes());
        }
        file.extend(page);
        for page in extra {
            file.extend(page);
        }
        file
    }

    fn item(kind: u8, bytes: &[u8]) -> Vec<u8> {
        [&[kind][..], bytes].concat()
    }

    #[test]
    fn berkeley_db_values_inline_or_on_overflow_pages() {
        let blob = sample();
        // rpm's instance counter under key 0, then package 1 inline.
        let inline = bdb(
            &[
                item(BDB_KEYDATA, &[0; 4]),
                item(BDB_KEYDATA, &[9, 0, 0, 0]),
                item(BDB_KEYDATA, &[1, 0, 0, 0]),
                item(BDB_KEYDATA, &blob),
            ],
            &[],
        );
        let records = parse_bdb(&inline).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].name, "hello");

        // Package 1 on an overflow page (page 2) whose chain leads back to itself: the
        // walk stops after as many pages as the file has.
        let mut offpage = vec![BDB_OFFPAGE, 0, 0, 0];
        offpage.extend(2u32.to_le_bytes());
        // 1,500 bytes: within the file's 1,536, past what 3 visits of the page hold.
        offpage.extend(1500u32.to_le_bytes());
        let mut overflow = vec![0u8; 512];
        overflow[16..20].copy_from_slice(&2u32.to_le_bytes());
        overflow[22..24].copy_from_slice(&((512 - 26) as u16).to_le_bytes());
        overflow[25] = BDB_OVERFLOW;
        let looping = bdb(&[item(BDB_KEYDATA, &[1, 0, 0, 0]), offpage], &[overflow]);
        assert!(parse_bdb(&looping).unwrap_err().contains("loops"));
    }

    #[test]
    fn the_formats_refuse_what_is_not_theirs() {
        assert!(parse_sqlite(b"not sqlite").is_err());
        assert!(parse_bdb(&[0u8; 4096]).is_err());
        assert!(parse_ndb(&[0u8; 4096]).is_err());
        // An NDB header claiming 2^32-1 slot pages in one page.
        let mut ndb = vec![0u8; 4096];
        ndb[..4].copy_from_slice(NDB_MAGIC);
        ndb[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse_ndb(&ndb).unwrap_err().contains("slot pages"));
    }
}
