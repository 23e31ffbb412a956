//! Compression detection by magic bytes, and the matching streaming decoders.

use std::fmt;
use std::io::{self, BufRead, Read};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// What a layer's media type declares: `…tar+zstd`, `…tar+gzip` (OCI), `…tar.gzip`
    /// (Docker), a bare `…tar`; `None` for a type that says nothing of it.
    pub fn from_media_type(media_type: &str) -> Option<Compression> {
        let media_type = media_type.to_ascii_lowercase();
        if media_type.ends_with("+zstd") || media_type.ends_with(".zstd") {
            Some(Compression::Zstd)
        } else if media_type.ends_with("+gzip") || media_type.ends_with(".gzip") {
            Some(Compression::Gzip)
        } else if media_type.ends_with(".tar") {
            Some(Compression::None)
        } else {
            None
        }
    }

    /// Detect by magic bytes: gzip `1f 8b`, zstd `28 b5 2f fd`; anything else is plain.
    pub fn detect(magic: &[u8]) -> Compression {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "tar",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        })
    }
}

/// Which gzip inflater this build runs, `isa-l` or `zlib-rs`: build.rs chose it, and
/// `--version` and `inspect --format json` report it, so bug reports and benchmarks say
/// which path ran.
pub const INFLATER: &str = env!("LAYERSCOPE_INFLATER");

/// A decoder over `reader`. Gzip is read as a multi-member stream, which is what estargz
/// (a gzip member per file plus a footer member) and `pigz` write: with ISA-L when the build
/// found it ([`INFLATER`] says), else with flate2's zlib-rs backend.
pub fn decoder<'a, R: BufRead + 'a>(
    compression: Compression,
    reader: R,
) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match compression {
        Compression::None => Box::new(reader),
        #[cfg(layerscope_isal)]
        Compression::Gzip => Box::new(super::gzip::MultiGzDecoder::new(reader)),
        #[cfg(not(layerscope_isal))]
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
        Compression::Zstd => {
            // The default window limit (128 MiB) stays: a larger one lets a hostile frame
            // claim gigabytes of memory.
            Box::new(zstd::stream::read::Decoder::with_buffer(reader)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::Compression;

    #[test]
    fn media_types_declare_their_compression() {
        for (media_type, expected) in [
            (
                "application/vnd.oci.image.layer.v1.tar+zstd",
                Some(Compression::Zstd),
            ),
            (
                "application/vnd.oci.image.layer.v1.tar+gzip",
                Some(Compression::Gzip),
            ),
            (
                "application/vnd.oci.image.layer.v1.tar",
                Some(Compression::None),
            ),
            (
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
                Some(Compression::Gzip),
            ),
            ("application/octet-stream", None),
        ] {
            assert_eq!(
                Compression::from_media_type(media_type),
                expected,
                "{media_type}"
            );
        }
    }
}
