use clap::Parser;

fn main() {
    give_large_blocks_back();
    let cli = layerscope::cli::Cli::parse();
    std::process::exit(layerscope::dispatch::run(cli));
}

/// Blocks of 512 KiB and more get pages of their own, returned when freed. glibc would
/// raise that threshold as large blocks are freed, and the layers the parse threads
/// allocate, freed as they merge, would stay resident in those threads' arenas: on the
/// 212k-entry benchmark image that was 12 MB of a 59 MB peak (PERFORMANCE.md). Not lower:
/// the HTTP client's read buffers (408 KiB, one per read of a download) would each be
/// mapped and unmapped, a third of a second of page faults on a 486 MB pull.
fn give_large_blocks_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets one of malloc's parameters, before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 512 * 1024);
    }
}
