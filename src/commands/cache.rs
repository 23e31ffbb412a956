//! `layerscope cache`: the registry blob cache's subcommand (the cache itself is
//! [`crate::source::registry::cache`]).

use crate::cli::{CacheArgs, CacheCommand};
use crate::error::{Error, Result};
use crate::source::registry::cache::Cache;
use std::io::Write;

/// `layerscope cache prune [--older-than DUR]`.
pub fn run(args: &CacheArgs, out: &mut dyn Write) -> Result<i32> {
    let CacheCommand::Prune { older_than } = &args.command;
    let older_than = older_than
        .as_deref()
        .map(|text| {
            humantime::parse_duration(text).map_err(|e| {
                Error::Usage(format!("--older-than {text:?}: {e} (e.g. 30m, 12h, 7d)"))
            })
        })
        .transpose()?;
    let cache = Cache::user().ok_or_else(|| {
        Error::Usage("no cache directory: neither XDG_CACHE_HOME nor HOME is set".into())
    })?;
    let (files, bytes) = cache.prune(older_than)?;
    writeln!(
        out,
        "removed {files} blobs ({}) from {}",
        crate::size::human(bytes),
        cache.blobs().display()
    )
    .map_err(|e| Error::io("stdout", e))?;
    Ok(0)
}
