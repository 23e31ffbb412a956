//! Bytes as each package database format: dpkg's `status`, a dpkg file list, a distroless
//! `md5sums` and apk's `installed`. Each parser must return records or a reason, never
//! panic, and keep to its record and path caps.
#![no_main]

use layerscope::analysis::packages::db::{
    parse_apk_installed, parse_dpkg_list, parse_dpkg_status, parse_md5sums, MAX_FILES,
    MAX_RECORDS,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = parse_dpkg_status(data) {
        assert!(records.len() <= MAX_RECORDS);
        assert!(records.iter().all(|r| !r.name.is_empty()));
    }
    if let Ok(records) = parse_apk_installed(data) {
        assert!(records.len() <= MAX_RECORDS);
        assert!(records.iter().map(|r| r.files.len()).sum::<usize>() <= MAX_FILES);
    }
    if let Ok(paths) = parse_dpkg_list(data) {
        assert!(paths.len() <= MAX_FILES && paths.iter().all(|p| p.first() == Some(&b'/')));
    }
    if let Ok(paths) = parse_md5sums(data) {
        assert!(paths.len() <= MAX_FILES && paths.iter().all(|p| p.first() == Some(&b'/')));
    }
});
