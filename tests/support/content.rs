//! Deterministic file contents: literal bytes, or pseudo-random streams that
//! are generated while being written so big files never sit in memory.

use std::io::{self, Read};

/// SplitMix64: tiny, fast, and good enough for reproducible test data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`); the tiny modulo bias is irrelevant here.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Mixes several numbers into one seed, so e.g. (seed, file, version) gives
/// independent streams.
pub fn mix_seed(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(0x51_7CC1_B727_220A, |acc, &p| Rng::new(acc ^ p).next_u64())
}

/// What a regular file contains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    Bytes(Vec<u8>),
    /// Incompressible bytes.
    Random {
        len: u64,
        seed: u64,
    },
    /// Word salad: compresses roughly 3-4x with gzip, like source or text files.
    Text {
        len: u64,
        seed: u64,
    },
}

impl Content {
    pub fn len(&self) -> u64 {
        match self {
            Content::Bytes(b) => b.len() as u64,
            Content::Random { len, .. } | Content::Text { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reader(&self) -> ContentReader<'_> {
        match self {
            Content::Bytes(b) => ContentReader::Bytes(b),
            Content::Random { len, seed } => ContentReader::Random {
                rng: Rng::new(*seed),
                left: *len,
            },
            Content::Text { len, seed } => ContentReader::Text {
                rng: Rng::new(*seed),
                left: *len,
                pending: Vec::new(),
                pos: 0,
            },
        }
    }

    /// The whole content in memory (tests comparing extracted bytes).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() as usize);
        self.reader()
            .read_to_end(&mut out)
            .expect("in-memory read cannot fail");
        out
    }
}

const WORDS: &[&str] = &[
    "the",
    "layer",
    "image",
    "file",
    "static",
    "const",
    "return",
    "import",
    "function",
    "value",
    "config",
    "index",
    "manifest",
    "digest",
    "string",
    "error",
    "if",
    "else",
    "for",
    "while",
    "struct",
    "impl",
    "pub",
    "let",
    "mut",
    "self",
    "match",
    "some",
    "none",
    "ok",
    "result",
    "vec",
    "usr",
    "lib",
    "bin",
    "share",
    "local",
    "python",
    "node",
    "module",
    "package",
    "version",
    "license",
    "copyright",
    "include",
    "define",
    "char",
    "int",
    "void",
    "null",
    "true",
    "false",
    "{",
    "}",
    "(",
    ");",
    "=",
    "==",
    "//",
    "#",
    "0",
    "1",
];

pub enum ContentReader<'a> {
    Bytes(&'a [u8]),
    Random {
        rng: Rng,
        left: u64,
    },
    Text {
        rng: Rng,
        left: u64,
        pending: Vec<u8>,
        pos: usize,
    },
}

impl Read for ContentReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ContentReader::Bytes(b) => b.read(buf),
            ContentReader::Random { rng, left } => {
                let n = buf.len().min(*left as usize);
                for chunk in buf[..n].chunks_mut(8) {
                    let word = rng.next_u64().to_le_bytes();
                    chunk.copy_from_slice(&word[..chunk.len()]);
                }
                *left -= n as u64;
                Ok(n)
            }
            ContentReader::Text {
                rng,
                left,
                pending,
                pos,
            } => {
                if *left == 0 || buf.is_empty() {
                    return Ok(0);
                }
                if *pos == pending.len() {
                    // Refill a line-structured chunk of words.
                    pending.clear();
                    *pos = 0;
                    while pending.len() < 4096 {
                        let r = rng.next_u64();
                        pending
                            .extend_from_slice(WORDS[(r % WORDS.len() as u64) as usize].as_bytes());
                        pending.push(if (r >> 32) % 12 == 0 { b'\n' } else { b' ' });
                    }
                }
                let n = buf.len().min(*left as usize).min(pending.len() - *pos);
                buf[..n].copy_from_slice(&pending[*pos..*pos + n]);
                *pos += n;
                *left -= n as u64;
                Ok(n)
            }
        }
    }
}
