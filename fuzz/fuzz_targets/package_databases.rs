//! Bytes as each package database format: dpkg's `status`, a dpkg file list, a distroless
//! `md5sums`, apk's `installed`, and rpm's header, Berkeley DB hash `Packages` and NDB
//! `Packages.db`. Each parser must return records or a reason, never panic, and keep to
//! its record and path caps. (rpm's sqlite format is read by SQLite itself, fuzzed by its
//! own project, and is not run here.)
#![no_main]

use layerscope::analysis::packages::db::{
    parse_apk_installed, parse_dpkg_list, parse_dpkg_status, parse_md5sums, Record, MAX_FILES,
    MAX_RECORDS,
};
use layerscope::analysis::packages::rpm::{parse_bdb, parse_header, parse_ndb};
use libfuzzer_sys::fuzz_target;

/// The caps every parser of whole databases keeps.
fn check(records: &[Record]) {
    assert!(records.len() <= MAX_RECORDS);
    assert!(records.iter().map(|r| r.files.len()).sum::<usize>() <= MAX_FILES);
    assert!(records.iter().all(|r| !r.name.is_empty()));
}

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = parse_dpkg_status(data) {
        check(&records);
    }
    if let Ok(records) = parse_apk_installed(data) {
        check(&records);
    }
    if let Ok(paths) = parse_dpkg_list(data) {
        assert!(paths.len() <= MAX_FILES && paths.iter().all(|p| p.first() == Some(&b'/')));
    }
    if let Ok(paths) = parse_md5sums(data) {
        assert!(paths.len() <= MAX_FILES && paths.iter().all(|p| p.first() == Some(&b'/')));
    }
    if let Ok(record) = parse_header(data) {
        // Every file and name came out of the input's data store.
        assert!(!record.name.is_empty() && record.name.len() < data.len());
        assert!(record.depends.len() + record.provides.len() <= data.len());
    }
    for parse in [parse_bdb, parse_ndb] {
        if let Ok(records) = parse(data) {
            check(&records);
        }
    }
});
