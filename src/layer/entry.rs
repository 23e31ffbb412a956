//! One normalised tar entry, and the path rules that make it.

/// What an entry is. `Whiteout` and `Opaque` are the OCI deletion markers, already decoded:
/// a whiteout's path is the path it deletes, an opaque marker's path is its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Char,
    Block,
    Fifo,
    Whiteout,
    Opaque,
}

impl EntryKind {
    /// The `ls -l` type character.
    pub fn type_char(self) -> char {
        match self {
            EntryKind::File | EntryKind::Hardlink => '-',
            EntryKind::Dir | EntryKind::Opaque => 'd',
            EntryKind::Symlink => 'l',
            EntryKind::Char => 'c',
            EntryKind::Block => 'b',
            EntryKind::Fifo => 'p',
            EntryKind::Whiteout => 'w',
        }
    }
}

/// A range in a byte arena. Paths and link targets live in arenas so that a million entries
/// cost a million small structs, not a million heap allocations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub len: u32,
}

impl Span {
    pub const EMPTY: Span = Span { start: 0, len: 0 };

    pub fn get(self, arena: &[u8]) -> &[u8] {
        &arena[self.start as usize..(self.start + self.len) as usize]
    }

    pub fn is_empty(self) -> bool {
        self.len == 0
    }
}

/// Metadata of one entry. Contents are never kept: `offset` says where they start in the
/// decompressed layer stream, and `hash` identifies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub kind: EntryKind,
    /// Permission bits with set-id and sticky bits (`0o7777`).
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    /// Size from the tar header: content length for regular files, 0 for hardlinks.
    pub size: u64,
    /// xxh3-64 of the content, for regular files; 0 otherwise.
    pub hash: u64,
    /// Offset of the content in the decompressed layer tar.
    pub offset: u64,
}

/// An entry as parsed: its normalised path and link target in the layer's arena.
#[derive(Debug, Clone, Copy)]
pub struct Record {
    pub path: Span,
    /// Symlink target (raw), or hardlink target (normalised like a path).
    pub link: Span,
    pub meta: Meta,
}

/// How a raw tar path was cleaned.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PathCleaning {
    /// The path tried to climb above the root with `..`; it was clamped at the root.
    pub escaped_root: bool,
}

/// Normalise a tar path into `out`: no leading `/` or `./`, no `.` or empty components,
/// and `..` resolved lexically and clamped at the root (as a container runtime resolves it
/// inside the rootfs). Returns how the path was cleaned.
pub fn normalize_path(raw: &[u8], out: &mut Vec<u8>) -> PathCleaning {
    let start = out.len();
    let mut cleaning = PathCleaning::default();
    for component in raw.split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => {
                if out.len() == start {
                    cleaning.escaped_root = true;
                } else {
                    let cut = out[start..]
                        .iter()
                        .rposition(|&b| b == b'/')
                        .map_or(start, |i| start + i);
                    out.truncate(cut);
                }
            }
            name => {
                if out.len() > start {
                    out.push(b'/');
                }
                out.extend_from_slice(name);
            }
        }
    }
    cleaning
}

/// The OCI whiteout prefix.
pub const WHITEOUT_PREFIX: &[u8] = b".wh.";
/// The OCI opaque-directory marker name.
pub const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";

/// What the last component of a path says about deletion.
#[derive(Debug, PartialEq, Eq)]
pub enum Marker<'a> {
    /// Not a marker.
    None,
    /// `.wh..wh..opq`: hide all lower children of the directory.
    Opaque,
    /// `.wh.NAME`: hide NAME.
    Whiteout(&'a [u8]),
    /// `.wh.` with no name, `.wh..wh.*` (AUFS internals) or `.wh..`: nothing to apply.
    Meaningless,
}

pub fn classify_name(name: &[u8]) -> Marker<'_> {
    if name == OPAQUE_MARKER {
        return Marker::Opaque;
    }
    match name.strip_prefix(WHITEOUT_PREFIX) {
        None => Marker::None,
        Some(b"") | Some(b".") | Some(b"..") => Marker::Meaningless,
        Some(rest) if rest.starts_with(WHITEOUT_PREFIX) => Marker::Meaningless,
        Some(rest) => Marker::Whiteout(rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(raw: &str) -> (String, bool) {
        let mut out = Vec::new();
        let cleaning = normalize_path(raw.as_bytes(), &mut out);
        (String::from_utf8(out).unwrap(), cleaning.escaped_root)
    }

    #[test]
    fn paths_lose_leading_slash_and_dot() {
        assert_eq!(norm("./usr/bin/"), ("usr/bin".into(), false));
        assert_eq!(norm("/etc//passwd"), ("etc/passwd".into(), false));
        assert_eq!(norm("./"), ("".into(), false));
        assert_eq!(norm("/"), ("".into(), false));
    }

    #[test]
    fn dotdot_is_resolved_and_clamped_at_root() {
        assert_eq!(norm("../../etc/passwd"), ("etc/passwd".into(), true));
        assert_eq!(norm("a/../../b"), ("b".into(), true));
        assert_eq!(norm("a/b/../c"), ("a/c".into(), false));
    }

    #[test]
    fn markers_are_classified() {
        assert_eq!(classify_name(b".wh..wh..opq"), Marker::Opaque);
        assert_eq!(classify_name(b".wh.foo"), Marker::Whiteout(b"foo"));
        assert_eq!(classify_name(b".wh."), Marker::Meaningless);
        assert_eq!(classify_name(b".wh..wh.plnk"), Marker::Meaningless);
        assert_eq!(classify_name(b"foo.wh.bar"), Marker::None);
    }
}

impl Meta {
    /// `ls -l` style mode, e.g. `-rwsr-xr-x`, `drwxrwxrwt`. Symlinks are always
    /// `lrwxrwxrwx`, as Linux reports them whatever the tar header says.
    pub fn ls_mode(&self) -> String {
        let mode = if self.kind == EntryKind::Symlink {
            0o777
        } else {
            self.mode
        };
        let bit = |mask: u16, ch: char| if mode & mask != 0 { ch } else { '-' };
        let special = |exec: u16, special: u16, set: char, unset: char| match (
            mode & exec != 0,
            mode & special != 0,
        ) {
            (true, true) => set,
            (false, true) => unset,
            (true, false) => 'x',
            (false, false) => '-',
        };
        [
            self.kind.type_char(),
            bit(0o400, 'r'),
            bit(0o200, 'w'),
            special(0o100, 0o4000, 's', 'S'),
            bit(0o040, 'r'),
            bit(0o020, 'w'),
            special(0o010, 0o2000, 's', 'S'),
            bit(0o004, 'r'),
            bit(0o002, 'w'),
            special(0o001, 0o1000, 't', 'T'),
        ]
        .iter()
        .collect()
    }
}

#[cfg(test)]
mod mode_tests {
    use super::*;

    fn meta(kind: EntryKind, mode: u16) -> Meta {
        Meta {
            kind,
            mode,
            uid: 0,
            gid: 0,
            size: 0,
            hash: 0,
            offset: 0,
        }
    }

    #[test]
    fn ls_modes_match_coreutils() {
        assert_eq!(meta(EntryKind::File, 0o4755).ls_mode(), "-rwsr-xr-x");
        assert_eq!(meta(EntryKind::File, 0o2755).ls_mode(), "-rwxr-sr-x");
        assert_eq!(meta(EntryKind::Dir, 0o1777).ls_mode(), "drwxrwxrwt");
        assert_eq!(meta(EntryKind::Dir, 0o1776).ls_mode(), "drwxrwxrwT");
        assert_eq!(meta(EntryKind::File, 0o4644).ls_mode(), "-rwSr--r--");
        assert_eq!(meta(EntryKind::Symlink, 0o644).ls_mode(), "lrwxrwxrwx");
        assert_eq!(meta(EntryKind::Char, 0o644).ls_mode(), "crw-r--r--");
        assert_eq!(meta(EntryKind::Fifo, 0).ls_mode(), "p---------");
    }
}
