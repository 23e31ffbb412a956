//! The package databases' text formats, parsed within bounds. Each parser takes one
//! file's bytes and returns its records or a one-line reason; it never panics on any
//! input (the fuzz targets hold it to that).

/// Records one database file may hold. Debian's full archive has about 65,000 binary
/// packages and a large image installs a few thousand, so 100,000 leaves room while a
/// crafted file of empty stanzas cannot make us build millions of them.
pub const MAX_RECORDS: usize = 100_000;
/// Paths one file list (or one apk database) may name: the biggest Debian package
/// lists about 150,000 files.
pub const MAX_FILES: usize = 1_000_000;

/// One package as its database records it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub name: String,
    pub version: String,
    /// The size the package declares (dpkg `Installed-Size` KiB, apk `I:` bytes), in bytes.
    pub declared: Option<u64>,
    /// Absolute paths the record itself lists (apk); dpkg keeps them in `info/*.list`.
    pub files: Vec<Vec<u8>>,
    /// The architecture the record names (dpkg `Architecture`, apk `A:`, rpm `ARCH`); empty
    /// when none.
    pub arch: String,
    /// Names of the packages it requires (dpkg `Depends` and `Pre-Depends`, apk `D:`,
    /// rpm `REQUIRES`):
    /// alternatives flattened, versions and architecture qualifiers dropped.
    pub depends: Vec<String>,
    /// Names it provides besides its own (dpkg `Provides`, apk `p:`, rpm `PROVIDES`), versions dropped.
    pub provides: Vec<String>,
}

/// The package names of a dpkg relation field (`a (>= 1) | b:any, c`): every alternative,
/// without its version, architecture qualifier or build profile.
fn dpkg_names(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split([',', '|'])
        .filter_map(|part| part.split_whitespace().next())
        .map(|name| name.split([':', '(']).next().unwrap_or(name).to_string())
        .filter(|name| !name.is_empty())
}

/// The names of an apk `D:` or `p:` line (`so:libc.musl-x86_64.so.1 cmd:sh=1.36 !conflict
/// pc:zlib>=1.2`): conflicts (`!`) are not requirements; versions after `=`, `<`, `>` or
/// `~` are dropped.
fn apk_names(value: &[u8]) -> impl Iterator<Item = String> + '_ {
    value
        .split(|b| b.is_ascii_whitespace())
        .filter(|word| !word.is_empty() && word[0] != b'!')
        .map(|word| {
            let end = word
                .iter()
                .position(|b| b"=<>~".contains(b))
                .unwrap_or(word.len());
            String::from_utf8_lossy(&word[..end]).into_owned()
        })
        .filter(|name| !name.is_empty())
}

/// dpkg's `status` (or one `status.d/` file): RFC 822-like stanzas separated by blank
/// lines. Only packages whose state is installed (or half-way there) are kept: a removed
/// package that left its config files behind is still in the file, as `config-files`.
pub fn parse_dpkg_status(bytes: &[u8]) -> Result<Vec<Record>, String> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 at byte {}", e.valid_up_to()))?;
    let mut out = Vec::new();
    for (index, stanza) in text.split("\n\n").enumerate() {
        if stanza.trim().is_empty() {
            continue;
        }
        if index >= MAX_RECORDS * 2 || out.len() >= MAX_RECORDS {
            return Err(format!("more than {MAX_RECORDS} records"));
        }
        let mut record = Record::default();
        let mut state = None;
        let mut same = false;
        for line in stanza.lines() {
            // Continuation lines (descriptions, conffiles) start with a space.
            if line.starts_with([' ', '\t']) {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                return Err(format!("stanza {}: a line with no field name", index + 1));
            };
            let value = value.trim();
            match key {
                "Package" => record.name = value.to_string(),
                "Version" => record.version = value.to_string(),
                "Installed-Size" => {
                    record.declared = value.parse::<u64>().ok().map(|k| k.saturating_mul(1024))
                }
                "Status" => state = value.rsplit(' ').next().map(str::to_string),
                "Architecture" => record.arch = value.to_string(),
                "Multi-Arch" => same = value == "same",
                "Depends" | "Pre-Depends" => record.depends.extend(dpkg_names(value)),
                "Provides" => record.provides.extend(dpkg_names(value)),
                _ => {}
            }
        }
        if record.name.is_empty() {
            return Err(format!("stanza {}: no Package field", index + 1));
        }
        // A `Multi-Arch: same` package may be installed once per architecture; dpkg names
        // each instance `NAME:ARCH` (`${binary:Package}`, and its `info/NAME:ARCH.list`).
        if same && !record.arch.is_empty() {
            record.name = format!("{}:{}", record.name, record.arch);
        }
        // Distroless' status.d files carry no Status: every stanza there is installed.
        if matches!(
            state.as_deref(),
            None | Some(
                "installed"
                    | "half-installed"
                    | "unpacked"
                    | "half-configured"
                    | "triggers-awaited"
                    | "triggers-pending"
            )
        ) {
            out.push(record);
        }
    }
    Ok(out)
}

/// dpkg's `info/NAME.list`: one absolute path per line. Directories are listed too; the
/// caller counts only what the layers store as files.
pub fn parse_dpkg_list(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    parse_paths(bytes, |line| {
        (line.first() == Some(&b'/'))
            .then(|| line.to_vec())
            .ok_or("not an absolute path")
    })
}

/// distroless' `status.d/NAME.md5sums`: `<md5>  <path relative to />` per line.
pub fn parse_md5sums(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    parse_paths(bytes, |line| {
        let at = line
            .windows(2)
            .position(|w| w == b"  ")
            .ok_or("no checksum and path")?;
        let mut path = vec![b'/'];
        path.extend_from_slice(&line[at + 2..]);
        Ok(path)
    })
}

/// A file of one path per non-empty line, each line made a path by `path`, within
/// [`MAX_FILES`].
fn parse_paths(
    bytes: &[u8],
    path: impl Fn(&[u8]) -> Result<Vec<u8>, &'static str>,
) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        if out.len() >= MAX_FILES {
            return Err(format!("more than {MAX_FILES} paths"));
        }
        out.push(path(line).map_err(|e| format!("line {}: {e}", out.len() + 1))?);
    }
    Ok(out)
}

/// apk's `lib/apk/db/installed`: blank-line separated records of `K:value` lines; `P:`
/// names the package, `V:` its version, `I:` its installed size, `F:` a directory and the
/// `R:` lines after it the files in that directory.
pub fn parse_apk_installed(bytes: &[u8]) -> Result<Vec<Record>, String> {
    let mut out: Vec<Record> = Vec::new();
    let mut current: Option<Record> = None;
    let mut dir: Vec<u8> = Vec::new();
    let mut files = 0usize;
    for (number, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            if let Some(record) = current.take() {
                out.push(finish_apk(record, number)?);
            }
            continue;
        }
        if line.len() < 2 || line[1] != b':' {
            return Err(format!("line {}: not a KEY:value line", number + 1));
        }
        if current.is_none() {
            if out.len() >= MAX_RECORDS {
                return Err(format!("more than {MAX_RECORDS} records"));
            }
            current = Some(Record::default());
            dir.clear();
        }
        let record = current.as_mut().expect("set above");
        let value = &line[2..];
        let text = || String::from_utf8_lossy(value).into_owned();
        match line[0] {
            b'P' => record.name = text(),
            b'V' => record.version = text(),
            b'I' => record.declared = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()),
            b'A' => record.arch = text(),
            b'D' => record.depends.extend(apk_names(value)),
            b'p' => record.provides.extend(apk_names(value)),
            b'F' => {
                dir.clear();
                dir.push(b'/');
                dir.extend_from_slice(value);
            }
            b'R' => {
                files += 1;
                if files > MAX_FILES {
                    return Err(format!("more than {MAX_FILES} paths"));
                }
                let mut path = dir.clone();
                if path.last() != Some(&b'/') {
                    path.push(b'/');
                }
                path.extend_from_slice(value);
                record.files.push(path);
            }
            _ => {}
        }
    }
    if let Some(record) = current.take() {
        out.push(finish_apk(record, usize::MAX)?);
    }
    Ok(out)
}

fn finish_apk(record: Record, line: usize) -> Result<Record, String> {
    if record.name.is_empty() {
        return Err(if line == usize::MAX {
            "the last record has no P: line".to_string()
        } else {
            format!("the record ending at line {line} has no P: line")
        });
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status_keeps_installed_packages_only() {
        let status = b"Package: a\nStatus: install ok installed\nVersion: 1.0\nInstalled-Size: 2\nDescription: x\n more\n\nPackage: b\nStatus: deinstall ok config-files\nVersion: 2\n\n";
        let records = parse_dpkg_status(status).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(
            (records[0].name.as_str(), records[0].version.as_str()),
            ("a", "1.0")
        );
        assert_eq!(records[0].declared, Some(2048));
    }

    #[test]
    fn relations_drop_versions_qualifiers_and_conflicts() {
        let status = b"Package: gcc-12\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12\nPre-Depends: multiarch-support\nDepends: cpp-12 (= 12.2.0-14), libc6 (>= 2.34) | libc6.1:any, binutils:native\nProvides: c-compiler, gcc-x86-64-linux-gnu (= 12)\n\n";
        let record = &parse_dpkg_status(status).unwrap()[0];
        assert_eq!(record.arch, "amd64");
        assert_eq!(
            record.depends,
            [
                "multiarch-support",
                "cpp-12",
                "libc6",
                "libc6.1",
                "binutils"
            ]
        );
        assert_eq!(record.provides, ["c-compiler", "gcc-x86-64-linux-gnu"]);
        let apk = b"P:busybox\nV:1\nA:x86_64\nD:so:libc.musl-x86_64.so.1 !busybox-static musl>=1.2\np:cmd:sh=1.33 /bin/sh\n";
        let record = &parse_apk_installed(apk).unwrap()[0];
        assert_eq!(record.arch, "x86_64");
        assert_eq!(record.depends, ["so:libc.musl-x86_64.so.1", "musl"]);
        assert_eq!(record.provides, ["cmd:sh", "/bin/sh"]);
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        assert!(parse_dpkg_status(b"Version: 1\n").is_err());
        assert!(parse_dpkg_status(b"\xff\xfe").is_err());
        assert!(parse_dpkg_list(b"relative/path\n").is_err());
        assert!(parse_apk_installed(b"V:1\nR:x\n").is_err());
        assert!(parse_apk_installed(b"garbage line\n").is_err());
        assert!(parse_md5sums(b"nochecksum\n").is_err());
    }

    #[test]
    fn record_counts_are_bounded() {
        let many = "Package: p\nStatus: install ok installed\n\n".repeat(MAX_RECORDS + 1);
        assert!(parse_dpkg_status(many.as_bytes())
            .unwrap_err()
            .contains("more than"));
        let apk = "P:p\nV:1\n\n".repeat(MAX_RECORDS + 1);
        assert!(parse_apk_installed(apk.as_bytes())
            .unwrap_err()
            .contains("more than"));
    }

    #[test]
    fn apk_files_join_their_directory() {
        let db =
            b"C:x\nP:musl\nV:1.2\nI:600\nF:lib\nR:ld-musl.so.1\nF:usr/lib\nR:a.so\n\nP:b\nV:2\n";
        let records = parse_apk_installed(db).unwrap();
        assert_eq!(
            records[0].files,
            vec![b"/lib/ld-musl.so.1".to_vec(), b"/usr/lib/a.so".to_vec()]
        );
        assert_eq!(records[1].name, "b");
    }
}
