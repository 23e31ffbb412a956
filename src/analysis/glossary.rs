//! The teaching texts' definitions, each stated once, so that the tour, `e`, `explain` and
//! the help overlay say the same thing, and a test pins each sentence against its source.
//!
//! Each term's constant completes "A <term> is …" (no final full stop, so a text can go on);
//! `DIGEST_AND_DIFF_ID` is a whole sentence. The doc comments name the document and section
//! each was checked against.

/// OCI image-spec, `layer.md`, "Image Layer Filesystem Changeset" and "Change Types"
/// (additions, modifications, removals); Docker's storage-driver documentation, "Images and
/// layers" (each layer is read-only once built).
pub const LAYER: &str = "a tar archive of changes to the layers below it: the files it adds \
     or replaces, and whiteouts for the ones it deletes; once built, it never changes (it is \
     read-only)";

/// OCI image-spec, `layer.md`, "Whiteouts": a whiteout is an empty file named `.wh.`
/// followed by the deleted name, and applies only to lower layers.
pub const WHITEOUT: &str = "an empty file named `.wh.` plus the deleted name, which deletes \
     the path from the layers below it (a layer above may create it again)";

/// OCI image-spec, `layer.md`, "Opaque Whiteout": `.wh..wh..opq` in a directory hides every
/// sibling the lower layers put there; the layer's own entries stay.
pub const OPAQUE_WHITEOUT: &str = "a marker entry `.wh..wh..opq` in a directory, which hides \
     everything the layers below put in that directory; what this layer and the layers above \
     put there is still seen";

/// OCI image-spec, `layer.md`, "Hardlinks": a hardlink is a tar entry of type `1` whose
/// linkname names the file it shares, which carries the content.
pub const HARDLINK: &str = "a second name for a file: a tar entry that points at another \
     entry and carries no content of its own, so the bytes are shipped once";

/// Docker's storage-driver documentation, "The copy-on-write (CoW) strategy" and
/// "Container and layers": a container's thin writable layer on top of the read-only ones.
pub const COPY_ON_WRITE: &str = "the first time a container modifies a file from the \
     image, the whole file is copied up into the container's thin writable layer and changed \
     there; the image's read-only layer keeps its copy unchanged";

/// Dockerfile reference, "FROM" (the base image of a build stage); Docker's storage-driver
/// documentation, "Images and layers" (an image starts from the layers of its base).
pub const BASE_IMAGE: &str = "the image the final stage's `FROM` names: its layers are the \
     bottom of this image, built by someone else, not by this Dockerfile";

/// Docker's storage-driver documentation, "Images and layers" and "Container and layers"
/// (layers are shared between images and stored once); OCI image-spec, `config.md`,
/// `rootfs.diff_ids` (a layer is identified by its diff_id).
pub const SHARED_LAYER: &str = "a layer with the same diff_id in several images: a host or a \
     registry stores it once and pulls it once, whatever the number of images that use it";

/// OCI image-spec, `manifest.md` ("layers") and `descriptor.md` ("digest"): a layer
/// descriptor's digest is of the blob as stored, compressed if it is.
pub const DIGEST: &str = "the sha256 of the layer's blob as stored, usually compressed: the \
     name the manifest and the registry use";

/// OCI image-spec, `config.md`, "rootfs" (`diff_ids`): the digests of the uncompressed tars.
pub const DIFF_ID: &str = "the sha256 of the layer's uncompressed tar: the name the image's \
     config uses, the same whatever the compression";

/// Why a layer has both names, from the two definitions above (OCI image-spec,
/// `manifest.md` and `config.md`).
pub const DIGEST_AND_DIFF_ID: &str = "A layer has both: the digest checks the download, the \
     diff_id names the content, so a gzip and a zstd copy of one layer share one diff_id.";

/// layerscope's score, `docs/scores.md`, "layerscope's score".
pub const EFFICIENCY: &str = "the share of the shipped file bytes that the final filesystem \
     can reach: 100 % when no layer hides a byte shipped below it";

/// `docs/scores.md`, "Hidden" and "Wasted".
pub const WASTED_BYTES: &str = "file bytes a layer ships that a later layer hides \
     (overwrites, deletes or makes opaque): every pull still downloads them, no container \
     sees them";

/// The three sizes of an image, each named the same way in every command and view.
/// Layer content is the image's size: every layer's file bytes, uncompressed, a file
/// counted once per layer that ships a copy (the sum `docs/scores.md` calls shipped bytes).
pub const LAYER_CONTENT_NAME: &str = "layer content";
/// What a container sees: the final filesystem's file bytes, each file once.
pub const FINAL_FILESYSTEM_NAME: &str = "final filesystem";
/// The layer blobs as stored (OCI image-spec, `descriptor.md`, "size"): what a pull
/// downloads.
pub const COMPRESSED_NAME: &str = "compressed download";
/// Of the layer content, what later layers hide (`docs/scores.md`, "Wasted").
pub const WASTED_NAME: &str = "wasted";

/// A set of images' words (`fleet`): an image's layers no other image of the set has,
/// and the ones another image has too.
pub const UNIQUE_NAME: &str = "unique";
pub const SHARED_NAME: &str = "shared";
/// Each distinct layer once: what a node with none of them downloads for the whole set.
pub const PULL_NAME: &str = "pull for a fresh node";
/// Each distinct blob once: what a registry keeps.
pub const STORED_NAME: &str = "stored";

/// "Layer content is …": the definition behind [`LAYER_CONTENT_NAME`].
pub const LAYER_CONTENT: &str = "every layer's file bytes, uncompressed, a file counted in \
     each layer that ships a copy: the image's size";
/// "The final filesystem is …".
pub const FINAL_FILESYSTEM: &str = "what a container sees: the file bytes left when every \
     layer is applied, each file once";
/// "The compressed download is …".
pub const COMPRESSED_DOWNLOAD: &str = "the layer blobs as stored, usually gzip or zstd: \
     what a pull downloads";

/// A text's first letter in upper case, to start a sentence with a term.
pub fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A run of layers in words, as every text names one: "layer 4", "layers 0–9" (never the
/// programmer's `0..=9` or `0..10`).
pub fn layer_span(first: usize, last: usize) -> String {
    if first == last {
        format!("layer {first}")
    } else {
        format!("layers {first}–{last}")
    }
}

/// The glossary the help overlay shows, in teaching order.
pub const GLOSSARY: &[(&str, &str)] = &[
    ("layer", LAYER),
    ("digest", DIGEST),
    ("diff_id", DIFF_ID),
    ("whiteout", WHITEOUT),
    ("opaque", OPAQUE_WHITEOUT),
    ("hardlink", HARDLINK),
    ("copy-on-write", COPY_ON_WRITE),
    ("base image", BASE_IMAGE),
    ("shared layer", SHARED_LAYER),
    ("efficiency", EFFICIENCY),
    ("wasted bytes", WASTED_BYTES),
    (LAYER_CONTENT_NAME, LAYER_CONTENT),
    (FINAL_FILESYSTEM_NAME, FINAL_FILESYSTEM),
    (COMPRESSED_NAME, COMPRESSED_DOWNLOAD),
];

#[cfg(test)]
mod tests {
    //! One test per definition: the sentence is pinned, so rewording it is a deliberate
    //! act, checked again against the source its doc comment names.
    use super::*;

    /// OCI image-spec, layer.md, "Whiteouts": "Whiteout files MUST only apply to resources
    /// in lower/parent layers." A wording change here is a deliberate act.
    #[test]
    fn a_whiteout_deletes_from_the_layers_below() {
        assert_eq!(
            WHITEOUT,
            "an empty file named `.wh.` plus the deleted name, which deletes the path from \
             the layers below it (a layer above may create it again)"
        );
        // The backwards reading the first tour taught ("hides the path from every layer
        // above") must not come back.
        assert!(!WHITEOUT.contains("above it") && !WHITEOUT.contains("every layer above"));
    }

    #[test]
    fn a_layer_is_a_read_only_changeset() {
        assert_eq!(
            LAYER,
            "a tar archive of changes to the layers below it: the files it adds or replaces, \
             and whiteouts for the ones it deletes; once built, it never changes (it is \
             read-only)"
        );
    }

    #[test]
    fn an_opaque_whiteout_hides_the_directory_below() {
        assert_eq!(
            OPAQUE_WHITEOUT,
            "a marker entry `.wh..wh..opq` in a directory, which hides everything the \
             layers below put in that directory; what this layer and the layers above put \
             there is still seen"
        );
    }

    #[test]
    fn a_hardlink_ships_no_content_of_its_own() {
        assert_eq!(
            HARDLINK,
            "a second name for a file: a tar entry that points at another entry and carries \
             no content of its own, so the bytes are shipped once"
        );
    }

    #[test]
    fn copy_on_write_copies_the_whole_file_up_on_first_write() {
        assert_eq!(
            COPY_ON_WRITE,
            "the first time a container modifies a file from the image, the whole file is \
             copied up into the container's thin writable layer and changed there; the \
             image's read-only layer keeps its copy unchanged"
        );
    }

    #[test]
    fn the_base_image_is_the_final_stages_from() {
        assert_eq!(
            BASE_IMAGE,
            "the image the final stage's `FROM` names: its layers are the bottom of this \
             image, built by someone else, not by this Dockerfile"
        );
    }

    #[test]
    fn a_shared_layer_is_stored_once() {
        assert_eq!(
            SHARED_LAYER,
            "a layer with the same diff_id in several images: a host or a registry stores it \
             once and pulls it once, whatever the number of images that use it"
        );
    }

    /// manifest.md/descriptor.md: the descriptor's digest is of the blob as stored;
    /// config.md: diff_ids are of the uncompressed tars.
    #[test]
    fn the_digest_names_the_blob_and_the_diff_id_the_tar() {
        assert_eq!(
            DIGEST,
            "the sha256 of the layer's blob as stored, usually compressed: the name the \
             manifest and the registry use"
        );
        assert_eq!(
            DIFF_ID,
            "the sha256 of the layer's uncompressed tar: the name the image's config uses, \
             the same whatever the compression"
        );
        assert_eq!(
            DIGEST_AND_DIFF_ID,
            "A layer has both: the digest checks the download, the diff_id names the \
             content, so a gzip and a zstd copy of one layer share one diff_id."
        );
    }

    #[test]
    fn efficiency_is_the_reachable_share() {
        assert_eq!(
            EFFICIENCY,
            "the share of the shipped file bytes that the final filesystem can reach: 100 % \
             when no layer hides a byte shipped below it"
        );
    }

    #[test]
    fn wasted_bytes_are_shipped_and_hidden() {
        assert_eq!(
            WASTED_BYTES,
            "file bytes a layer ships that a later layer hides (overwrites, deletes or makes \
             opaque): every pull still downloads them, no container sees them"
        );
    }

    /// The three sizes: docs/scores.md ("Shipped bytes"), descriptor.md ("size").
    #[test]
    fn the_three_sizes_are_named_and_defined_once() {
        assert_eq!(
            (LAYER_CONTENT_NAME, FINAL_FILESYSTEM_NAME, COMPRESSED_NAME),
            ("layer content", "final filesystem", "compressed download")
        );
        assert_eq!(
            LAYER_CONTENT,
            "every layer's file bytes, uncompressed, a file counted in each layer that ships \
             a copy: the image's size"
        );
        assert_eq!(
            FINAL_FILESYSTEM,
            "what a container sees: the file bytes left when every layer is applied, each \
             file once"
        );
        assert_eq!(
            COMPRESSED_DOWNLOAD,
            "the layer blobs as stored, usually gzip or zstd: what a pull downloads"
        );
    }

    #[test]
    fn a_run_of_layers_is_written_in_words() {
        assert_eq!(layer_span(0, 9), "layers 0–9");
        assert_eq!(layer_span(4, 4), "layer 4");
    }

    /// The help overlay's glossary names every term the issue asks for, each once.
    #[test]
    fn the_glossary_lists_each_term_once() {
        let terms: Vec<&str> = GLOSSARY.iter().map(|(t, _)| *t).collect();
        for term in [
            "layer",
            "digest",
            "diff_id",
            "whiteout",
            "opaque",
            "copy-on-write",
            "base image",
            "efficiency",
            "wasted bytes",
        ] {
            assert_eq!(terms.iter().filter(|t| **t == term).count(), 1, "{term}");
        }
    }
}
