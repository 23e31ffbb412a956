//! The model's hard limits, in one place.
//!
//! An image is untrusted input, and the model indexes what it holds with small integers:
//! layer numbers are `u16`, and node, entry and version ids and the offsets into the name
//! and link-target arenas are `u32` (with `u32::MAX` reserved for "none"). Every count
//! that reaches one of these types is checked against its limit here, so an image past a
//! limit is refused with a [`LimitError`] and a number never silently wraps.
//!
//! The defaults are the types' capacities. [`Limits`] exists so that tests can run the
//! same checks at small limits, where an image at the real one would need many GiB.

use std::fmt;

/// Most layers an image may have: layer numbers are `u16`, 0 to 65,535.
pub const MAX_LAYERS: usize = u16::MAX as usize + 1;
/// Most items in a table addressed by `u32` ids, `u32::MAX` being reserved for "none".
pub const MAX_IDS: usize = u32::MAX as usize;
/// Most bytes in an arena addressed by `u32` spans (`start + len` must fit in a `u32`).
pub const MAX_ARENA_BYTES: usize = u32::MAX as usize;

/// Most members of an outer archive (a `docker save` file or stream, an OCI archive):
/// their names are kept in memory until the manifest, which comes last, says which matter.
/// A `docker save` of the 65,536 layers allowed has about 330,000 (a directory, `json`,
/// `VERSION`, `layer.tar` and an OCI blob per layer): this leaves three times that.
pub const MAX_MEMBERS: usize = 1 << 20;
/// Most bytes of member names in an outer archive, summed: 64 bytes a member at the member
/// limit (real names are about 80 bytes: `<64 hex>/layer.tar`, `blobs/sha256/<64 hex>`).
pub const MAX_MEMBER_NAME_BYTES: usize = 64 << 20;
/// Most bytes of link targets of an outer archive's symlink and hardlink members, summed.
pub const MAX_MEMBER_LINK_BYTES: usize = 64 << 20;

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Layers,
    /// Tar entries, summed over all layers.
    Entries,
    /// Distinct paths in the merged tree (the root included).
    Nodes,
    /// Path versions: one per write or removal of a path by a layer.
    Versions,
    /// Bytes of path names in the merged tree.
    NameBytes,
    /// Bytes of symlink and hardlink targets in the merged tree.
    LinkBytes,
    /// Bytes of entry paths kept as the tar wrote them, where a symlinked parent moved
    /// the entry elsewhere.
    WrittenBytes,
    /// Bytes of paths and link targets in one layer.
    LayerNameBytes,
    /// Paths in dive's model of the image (the tree's, plus one per whiteout name).
    DivePaths,
    /// Members of the outer archive.
    Members,
    /// Bytes of member names in the outer archive.
    MemberNameBytes,
    /// Bytes of link targets of the outer archive's link members.
    MemberLinkBytes,
}

impl Limited {
    fn noun(self) -> &'static str {
        match self {
            Limited::Layers => "layers",
            Limited::Entries => "tar entries",
            Limited::Nodes => "paths in the merged tree",
            Limited::Versions => "path versions",
            Limited::NameBytes => "bytes of path names",
            Limited::LinkBytes => "bytes of link targets",
            Limited::WrittenBytes => "bytes of paths as written through symlinks",
            Limited::LayerNameBytes => "bytes of paths and link targets in one layer",
            Limited::DivePaths => "paths in dive's model",
            Limited::Members => "members in the archive",
            Limited::MemberNameBytes => "bytes of member names in the archive",
            Limited::MemberLinkBytes => "bytes of link targets of the archive's members",
        }
    }
}

/// A count past its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub struct LimitError {
    pub what: Limited,
    /// The count that was refused (at least `limit + 1`).
    pub count: u64,
    pub limit: u64,
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} exceed layerscope's limit of {}",
            self.count,
            self.what.noun(),
            self.limit
        )
    }
}

/// Check that `count` items of `what` fit within `limit`.
pub fn check(what: Limited, count: usize, limit: usize) -> Result<(), LimitError> {
    if count <= limit {
        Ok(())
    } else {
        Err(LimitError {
            what,
            count: count as u64,
            limit: limit as u64,
        })
    }
}

/// The id of the next item of a table that holds `len` items, if one more fits.
pub fn next_id(what: Limited, len: usize, limit: usize) -> Result<u32, LimitError> {
    check(what, len.saturating_add(1), limit.min(MAX_IDS))?;
    Ok(to_u32(len))
}

/// The offset at which `add` more bytes go in an arena of `len` bytes, if they fit.
pub fn next_offset(what: Limited, len: usize, add: usize, limit: usize) -> Result<u32, LimitError> {
    check(what, len.saturating_add(add), limit.min(MAX_ARENA_BYTES))?;
    Ok(to_u32(len))
}

/// A count, id or offset the limits have already bounded, as the `u32` the model stores.
pub fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("the limits keep every id and offset within u32")
}

/// The limits a [`crate::tree::TreeBuilder`] enforces. Values above the defaults (the types'
/// capacities) are lowered to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub layers: usize,
    pub entries: usize,
    pub nodes: usize,
    pub versions: usize,
    pub name_bytes: usize,
    pub link_bytes: usize,
    pub written_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            layers: MAX_LAYERS,
            entries: MAX_IDS,
            nodes: MAX_IDS,
            versions: MAX_IDS,
            name_bytes: MAX_ARENA_BYTES,
            link_bytes: MAX_ARENA_BYTES,
            written_bytes: MAX_ARENA_BYTES,
        }
    }
}

impl Limits {
    /// These limits, none above the model's capacity.
    pub fn clamped(self) -> Self {
        let max = Limits::default();
        Limits {
            layers: self.layers.min(max.layers),
            entries: self.entries.min(max.entries),
            nodes: self.nodes.min(max.nodes),
            versions: self.versions.min(max.versions),
            name_bytes: self.name_bytes.min(max.name_bytes),
            link_bytes: self.link_bytes.min(max.link_bytes),
            written_bytes: self.written_bytes.min(max.written_bytes),
        }
    }
}

/// The outer archive's limits. Tests lower them; the defaults are the `MAX_MEMBER*`
/// constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberLimits {
    pub members: usize,
    pub name_bytes: usize,
    pub link_bytes: usize,
}

impl Default for MemberLimits {
    fn default() -> Self {
        MemberLimits {
            members: MAX_MEMBERS,
            name_bytes: MAX_MEMBER_NAME_BYTES,
            link_bytes: MAX_MEMBER_LINK_BYTES,
        }
    }
}

/// What one pass over an outer archive has seen, checked member by member, so that a file,
/// stdin and an engine's export are held to the same limits.
#[derive(Debug, Default)]
pub struct MemberCounts {
    limits: MemberLimits,
    members: usize,
    name_bytes: usize,
    link_bytes: usize,
}

impl MemberCounts {
    pub fn within(limits: MemberLimits) -> Self {
        MemberCounts {
            limits,
            ..Default::default()
        }
    }

    /// Count one more member, with a name of `name` bytes and a link target of `link`
    /// bytes (0 for a member that is not a link).
    pub fn add(&mut self, name: usize, link: usize) -> Result<(), LimitError> {
        self.members += 1;
        self.name_bytes = self.name_bytes.saturating_add(name);
        self.link_bytes = self.link_bytes.saturating_add(link);
        check(Limited::Members, self.members, self.limits.members)?;
        check(
            Limited::MemberNameBytes,
            self.name_bytes,
            self.limits.name_bytes,
        )?;
        check(
            Limited::MemberLinkBytes,
            self.link_bytes,
            self.limits.link_bytes,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::NONE;

    #[test]
    fn the_defaults_are_the_capacities_of_the_model_types() {
        // Layer numbers: every u16 is a layer.
        assert_eq!(MAX_LAYERS, usize::from(u16::MAX) + 1);
        // Ids: every u32 but NONE.
        assert_eq!(NONE, u32::MAX);
        assert_eq!(MAX_IDS as u64, u64::from(u32::MAX));
        assert_eq!(MAX_ARENA_BYTES as u64, u64::from(u32::MAX));
        let limits = Limits::default();
        assert_eq!(limits.layers, 65_536);
        assert_eq!(limits.entries, 4_294_967_295);
        assert_eq!(limits.nodes, 4_294_967_295);
        assert_eq!(limits.versions, 4_294_967_295);
        assert_eq!(limits.name_bytes, 4_294_967_295);
        assert_eq!(limits.link_bytes, 4_294_967_295);
        assert_eq!(limits.written_bytes, 4_294_967_295);
        // The highest id allowed is the last one below NONE; the last byte offset fits.
        assert_eq!(next_id(Limited::Nodes, MAX_IDS - 1, MAX_IDS), Ok(NONE - 1));
        assert!(next_id(Limited::Nodes, MAX_IDS, MAX_IDS).is_err());
        assert_eq!(
            next_offset(Limited::NameBytes, MAX_ARENA_BYTES - 1, 1, MAX_ARENA_BYTES),
            Ok(u32::MAX - 1)
        );
        assert!(next_offset(Limited::NameBytes, MAX_ARENA_BYTES, 1, MAX_ARENA_BYTES).is_err());
        let raised = Limits {
            layers: usize::MAX,
            entries: usize::MAX,
            nodes: usize::MAX,
            versions: usize::MAX,
            name_bytes: usize::MAX,
            link_bytes: usize::MAX,
            written_bytes: usize::MAX,
        };
        assert_eq!(raised.clamped(), Limits::default());
    }

    #[test]
    fn a_count_at_the_limit_passes_and_one_past_is_refused() {
        assert_eq!(check(Limited::Layers, 3, 3), Ok(()));
        let error = check(Limited::Layers, 4, 3).unwrap_err();
        assert_eq!(error.to_string(), "4 layers exceed layerscope's limit of 3");
        assert_eq!(next_id(Limited::Entries, 2, 3), Ok(2));
        assert_eq!(
            next_id(Limited::Entries, 3, 3).unwrap_err().count,
            4,
            "the refused count is the one the new item would make"
        );
        assert_eq!(next_offset(Limited::LinkBytes, 2, 8, 10), Ok(2));
        assert_eq!(
            next_offset(Limited::LinkBytes, 2, 9, 10).unwrap_err().count,
            11
        );
    }

    #[test]
    fn archive_members_are_counted_to_their_limits() {
        let limits = MemberLimits {
            members: 3,
            name_bytes: 10,
            link_bytes: 4,
        };
        let mut counts = MemberCounts::within(limits);
        assert_eq!(counts.add(4, 0), Ok(()));
        assert_eq!(counts.add(6, 4), Ok(()), "at both byte limits");
        let error = counts.add(0, 0).and(counts.add(0, 0)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "4 members in the archive exceed layerscope's limit of 3"
        );
        let error = MemberCounts::within(limits).add(11, 0).unwrap_err();
        assert_eq!(
            error.to_string(),
            "11 bytes of member names in the archive exceed layerscope's limit of 10"
        );
        let error = MemberCounts::within(limits).add(1, 5).unwrap_err();
        assert_eq!(error.what, Limited::MemberLinkBytes);
        assert_eq!(MemberCounts::default().limits.members, 1_048_576);
    }
}
