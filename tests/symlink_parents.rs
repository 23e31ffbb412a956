//! Entries whose parent is a symlink land where an unpacker puts them: resolved inside the
//! rootfs. Each image is built with the test kit as an OCI layout, unpacked with the real
//! `umoci unpack` (the reference unpacker, which resolves with securejoin), and its rootfs
//! listing must equal layerscope's merged tree byte for byte.
//!
//! umoci is the oracle: `.ci/run` installs it (and sets `CI`, so a missing one fails
//! there); without it the comparisons say so and pass.

mod support;

use layerscope::explore::content::path_history;
use layerscope::image::OpenOptions;
use layerscope::layer::ParseControl;
use layerscope::load::{load_path, LoadOptions, LoadedImage};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use support::{ImageSpec, LayerSpec};

fn load(path: &Path) -> LoadedImage {
    let options = LoadOptions {
        open: OpenOptions::default(),
        verify: true,
        threads: 0,
        ..Default::default()
    };
    load_path(
        path.to_str().unwrap(),
        &options,
        &ParseControl::default(),
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn layerscope_listing(loaded: &LoadedImage) -> String {
    let top = loaded.tree.layer_count() - 1;
    loaded
        .tree
        .listing(top)
        .iter()
        .map(|row| row.long_line() + "\n")
        .collect()
}

/// Unpack `layout:latest` with umoci into `bundle`. Err with umoci's stderr if it refuses.
fn umoci_unpack(layout: &Path, bundle: &Path, rootless: bool) -> Result<(), String> {
    // Implied directories are made with mode 0777 minus the umask: fix it at 022, as the
    // reference listings were made.
    let mut command = Command::new("sh");
    command.arg("-c").arg(format!(
        "umask 022 && exec umoci unpack {}--image \"$0:latest\" \"$1\"",
        if rootless { "--rootless " } else { "" }
    ));
    command.arg(layout).arg(bundle);
    let output = command
        .output()
        .expect("cannot run sh to start umoci (umoci is required for this test)");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The rootfs listing: `<ls-mode> <uid>:<gid> <size> /<path>[ -> <target>]`, size 0 for
/// all but regular files, sorted bytewise (the `rootfs-listing` method of the fixtures).
fn rootfs_listing(rootfs: &Path) -> String {
    let output = Command::new("find")
        .arg(".")
        .args(["-mindepth", "1", "-printf", "%M %U:%G %s /%P\\0%l\\0"])
        .current_dir(rootfs)
        .output()
        .expect("find");
    assert!(
        output.status.success(),
        "find failed in {}",
        rootfs.display()
    );
    let fields: Vec<&[u8]> = output.stdout.split(|&b| b == 0).collect();
    let mut lines: Vec<(Vec<u8>, String)> = Vec::new();
    for pair in fields.chunks(2).filter(|pair| pair.len() == 2) {
        let line = String::from_utf8(pair[0].to_vec()).expect("test names are UTF-8");
        let mut parts = line.splitn(4, ' ');
        let (mode, owner, size, path) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let size = if mode.starts_with('-') { size } else { "0" };
        let mut text = format!("{mode} {owner} {size} {path}");
        if mode.starts_with('l') {
            text.push_str(" -> ");
            text.push_str(std::str::from_utf8(pair[1]).unwrap());
        }
        lines.push((path.as_bytes().to_vec(), text + "\n"));
    }
    lines.sort();
    lines.into_iter().map(|(_, line)| line).collect()
}

/// Without root, umoci unpacks `--rootless` and every file is the caller's: compare
/// without owners then.
fn without_owners(listing: &str) -> String {
    listing
        .lines()
        .map(|line| {
            let mut parts: Vec<&str> = line.splitn(3, ' ').collect();
            parts[1] = "-:-";
            parts.join(" ") + "\n"
        })
        .collect()
}

fn is_root() -> bool {
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid() == 0
}

/// Build `image`, load it with layerscope, unpack it with umoci, and require the same
/// listing. Returns the loaded image for further checks; `None` where umoci is missing
/// (outside CI: the test then has nothing to compare with).
fn assert_same_as_umoci(name: &str, image: ImageSpec) -> Option<LoadedImage> {
    if !umoci() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    image.write_oci_layout(&layout).unwrap();
    let loaded = load(&layout);
    let ours = layerscope_listing(&loaded);

    let bundle = dir.path().join("bundle");
    let root = is_root();
    umoci_unpack(&layout, &bundle, !root)
        .unwrap_or_else(|e| panic!("{name}: umoci unpack failed (umoci is required): {e}"));
    let theirs = rootfs_listing(&bundle.join("rootfs"));
    let (ours_cmp, theirs_cmp) = if root {
        (ours.clone(), theirs.clone())
    } else {
        (without_owners(&ours), without_owners(&theirs))
    };
    assert_eq!(
        ours_cmp, theirs_cmp,
        "{name}: layerscope (left) differs from umoci's unpack (right)"
    );
    Some(loaded)
}

/// Whether umoci, the oracle, is there.
fn umoci() -> bool {
    support::tools::tools(&["umoci"], "umoci")
}

/// A merged-/usr base as Debian, Ubuntu and Fedora ship it.
fn merged_usr() -> LayerSpec {
    LayerSpec::new()
        .dir("usr", 0o755)
        .dir("usr/bin", 0o755)
        .dir("usr/lib", 0o755)
        .dir("usr/sbin", 0o755)
        .file("usr/bin/sh", "#!sh\n")
        .file("usr/lib/libc.so", "libc")
        .symlink("bin", "usr/bin")
        .symlink("lib", "/usr/lib")
        .symlink("sbin", "usr/sbin")
        .dir("etc", 0o755)
        .file("etc/passwd", "root:x:0:0::/root:/bin/sh\n")
}

fn entry_id(loaded: &LoadedImage, layer: usize, written: &[u8]) -> u32 {
    let tree = &loaded.tree;
    let start = tree.layer_entry_start(layer);
    (start..start + tree.layer_entries(layer).len() as u32)
        .find(|&id| tree.written_path(id) == Some(written))
        .unwrap_or_else(|| panic!("no entry written as {}", String::from_utf8_lossy(written)))
}

#[test]
fn relative_and_absolute_parent_symlinks_resolve_into_usr() {
    let Some(loaded) = assert_same_as_umoci(
        "relative and absolute",
        ImageSpec::new().layer(merged_usr()).layer(
            LayerSpec::new()
                .file("bin/tool", "tool")
                .file("lib/libx.so", "x")
                .file("sbin/init", "init")
                .file("lib/deep/er/libz.so", "z"), // implied dirs at the resolved place
        ),
    ) else {
        return;
    };
    let tree = &loaded.tree;
    let listing = layerscope_listing(&loaded);
    assert!(listing.contains(" /usr/bin/tool\n"), "{listing}");
    assert!(listing.contains(" /bin -> usr/bin\n"), "{listing}");
    // The path as the tar wrote it is kept for the entries that landed elsewhere.
    let id = entry_id(&loaded, 1, b"bin/tool");
    assert_eq!(tree.path(tree.entry(id).node), b"/usr/bin/tool");
    let id = entry_id(&loaded, 1, b"lib/deep/er/libz.so");
    assert_eq!(tree.path(tree.entry(id).node), b"/usr/lib/deep/er/libz.so");
    // Entries written where they land have no written path.
    let base = tree.layer_entry_start(0);
    assert!(
        (base..base + tree.layer_entries(0).len() as u32).all(|id| tree.written_path(id).is_none())
    );
}

#[test]
fn chained_and_dot_dot_escaping_symlinks_stay_inside_the_rootfs() {
    assert_same_as_umoci(
        "chains and ..",
        ImageSpec::new()
            .layer(
                merged_usr()
                    .symlink("a", "b")
                    .symlink("b", "/c/../usr/share")
                    .dir("usr/share", 0o755)
                    .symlink("usr/local", "../../../../usr/../opt")
                    .symlink("breakouts/d1", "../../etc")
                    .symlink("abs", "/")
                    .symlink("rel", "sbin/../bin"),
            )
            .layer(
                LayerSpec::new()
                    .file("a/doc", "doc") // a -> b -> /usr/share
                    .file("usr/local/bin/x", "x") // .. past the root: /opt/bin/x
                    .file("breakouts/d1/shadow", "s") // /etc/shadow, not above the root
                    .file("abs/top", "t") // /top
                    .file("rel/y", "y") // sbin/.. is /, then bin: /usr/bin/y
                    .file("abs/bin/z", "z"), // / then bin -> usr/bin
            ),
    );
}

#[test]
fn hardlinks_through_symlinks_and_to_symlinks() {
    let Some(loaded) = assert_same_as_umoci(
        "hardlinks",
        ImageSpec::new()
            .layer(merged_usr().symlink("breakouts/d1", "../../etc"))
            .layer(
                LayerSpec::new()
                    // Through a symlinked parent: links /etc/passwd.
                    .hardlink("passwd.link", "breakouts/d1/passwd")
                    .hardlink("sh.link", "bin/sh")
                    // To a symlink: a second symlink, as link(2) makes it.
                    .hardlink("bin2", "bin")
                    // Through the new symlink to /usr/bin.
                    .file("bin2/tool2", "t2")
                    // Placed through a symlinked parent, linking through one.
                    .hardlink("bin/sh2", "bin/sh"),
            ),
    ) else {
        return;
    };
    let listing = layerscope_listing(&loaded);
    assert!(listing.contains(" /bin2 -> usr/bin\n"), "{listing}");
    assert!(listing.contains(" /usr/bin/tool2\n"), "{listing}");
    assert!(
        loaded.tree.warnings().is_empty(),
        "{:?}",
        loaded.tree.warnings()
    );
}

#[test]
fn a_hardlink_to_a_missing_target_through_a_symlink_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    ImageSpec::new()
        .layer(merged_usr())
        .layer(LayerSpec::new().hardlink("x", "bin/missing"))
        .write_oci_layout(&layout)
        .unwrap();
    let loaded = load(&layout);
    let warnings = loaded.tree.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("/x points to bin/missing"),
        "{warnings:?}"
    );
}

#[test]
fn whiteouts_and_opaque_markers_under_a_symlinked_parent_delete_the_resolved_path() {
    let Some(loaded) = assert_same_as_umoci(
        "whiteouts",
        ImageSpec::new()
            .layer(
                merged_usr()
                    .file("usr/bin/ls", "ls")
                    .file("usr/lib/old/a.so", "a"),
            )
            .layer(
                LayerSpec::new()
                    .whiteout("bin/ls") // deletes /usr/bin/ls
                    .opaque("lib/old") // empties /usr/lib/old
                    .file("lib/old/b.so", "b"),
            ),
    ) else {
        return;
    };
    let listing = layerscope_listing(&loaded);
    assert!(!listing.contains("/usr/bin/ls"), "{listing}");
    assert!(listing.contains(" /usr/lib/old/b.so\n"), "{listing}");
    assert!(!listing.contains("/usr/lib/old/a.so"), "{listing}");
}

#[test]
fn symlinks_replacing_directories_and_back_move_later_entries() {
    assert_same_as_umoci(
        "type changes",
        ImageSpec::new()
            .layer(
                merged_usr()
                    .file("d/x", "x")
                    .file("e/y", "y")
                    .file("k/x", "x"),
            )
            .layer(
                LayerSpec::new()
                    // Within one layer: d becomes a symlink, then d/z lands in e.
                    .symlink("d", "e")
                    .file("d/z", "z")
                    // bin becomes a directory, then bin/own lands in it.
                    .dir("bin", 0o755)
                    .file("bin/own", "own")
                    // A symlink replacing a directory, then replaced by a directory.
                    .symlink("k", "e")
                    .file("k/via-link", "1")
                    .dir("k", 0o700)
                    .file("k/in-dir", "2"),
            )
            // Across layers.
            .layer(LayerSpec::new().symlink("lib", "usr/sbin"))
            .layer(LayerSpec::new().file("lib/moved", "m").file("d/again", "a"))
            .layer(LayerSpec::new().dir("d", 0o755))
            .layer(LayerSpec::new().file("d/in-new-dir", "n")),
    );
}

#[test]
fn a_symlink_loop_is_a_warning_and_the_entry_is_placed_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    ImageSpec::new()
        .layer(LayerSpec::new().symlink("l1", "l2").symlink("l2", "/l1"))
        .layer(LayerSpec::new().file("l1/x", "x"))
        .write_oci_layout(&layout)
        .unwrap();
    let loaded = load(&layout);
    let listing = layerscope_listing(&loaded);
    assert_eq!(
        listing,
        "drwxr-xr-x 0:0 0 /l1\n-rw-r--r-- 0:0 1 /l1/x\nlrwxrwxrwx 0:0 0 /l2 -> /l1\n"
    );
    let warnings = loaded.tree.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("/l1/x: more than 40 symlinks"),
        "{warnings:?}"
    );
    // umoci refuses the image outright; layerscope shows it and says why.
    if !umoci() {
        return;
    }
    let error = umoci_unpack(&layout, &dir.path().join("bundle"), !is_root())
        .expect_err("umoci unpacks a symlink loop");
    assert!(
        error.contains("too many levels of symbolic links"),
        "{error}"
    );
}

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/umoci-insert-merged-usr.tar")
}

/// `changes` names the resolved paths of an image made by `umoci insert`
/// (scripts/make-symlink-fixtures.sh); its `ls --long` is checked by tests/conformance.rs.
#[test]
fn changes_of_umoci_insert_layers_show_the_resolved_paths() {
    let changes = |layer: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_layerscope"))
            .args(["changes", "-q", "--layer", layer])
            .arg(fixture())
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(changes("1"), "A /usr/bin/tool\n");
    assert_eq!(changes("2"), "A /usr/lib/libx.so\n");
    assert_eq!(
        changes("3"),
        "A /usr/sbin/extra\nA /usr/sbin/extra/a\nA /usr/sbin/extra/sub\nA /usr/sbin/extra/sub/b\n"
    );
    assert_eq!(changes("4"), "D /usr/bin/hello\n");
    // umoci 0.4's inserted layers end right after their last file's data, as Go's
    // archive/tar writes a tar it never closes: complete, verified, and no warning.
    let output = Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .args(["inspect", "--format", "json"])
        .arg(fixture())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for layer in json["layers"].as_array().unwrap() {
        assert_eq!(layer["status"]["status"], "loaded", "{layer}");
    }
}

/// The explorer's path history notes the path as the tar wrote it.
#[test]
fn path_history_notes_the_path_the_tar_wrote() {
    let path = fixture();
    let (source, loaded) =
        layerscope::tui::open_image(path.to_str().unwrap(), &Default::default()).unwrap();
    let tool = loaded
        .tree
        .listing(1)
        .into_iter()
        .find(|row| row.path == b"/usr/bin/tool")
        .expect("/usr/bin/tool")
        .node;
    let hello = loaded
        .tree
        .listing(0)
        .into_iter()
        .find(|row| row.path == b"/usr/bin/hello")
        .expect("/usr/bin/hello")
        .node;
    let explorer = layerscope::explore::Explorer::new(loaded, source, None);
    let rows = path_history(&explorer, tool);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].event.as_str(), "added");
    assert_eq!(rows[0].written_as.as_deref(), Some("/bin/tool"));
    let rows = path_history(&explorer, hello);
    let noted: Vec<_> = rows
        .iter()
        .map(|r| (r.event.as_str(), r.written_as.as_deref()))
        .collect();
    // Written in place by the base; deleted by a whiteout the tar put under /bin.
    assert_eq!(noted, [("added", None), ("deleted", Some("/bin/hello"))]);
}

/// Extraction (TUI `x`) of a tree with resolved paths writes only under the destination
/// and never through a symlink: a symlink `up -> ..` and an entry `up/canary` give
/// `/canary` in the image, so `canary` in the destination, never beside it.
#[test]
fn extraction_stays_inside_the_destination_with_resolved_paths() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    ImageSpec::new()
        .layer(
            merged_usr()
                .symlink("up", "..")
                .symlink("out", "/../../outside"),
        )
        .layer(
            LayerSpec::new()
                .file("up/canary", "c")
                .file("out/escaped", "e")
                .file("bin/tool", "tool")
                .hardlink("bin-again", "bin"),
        )
        .write_oci_layout(&layout)
        .unwrap();
    let (source, loaded) =
        layerscope::tui::open_image(layout.to_str().unwrap(), &Default::default()).unwrap();
    let outer = dir.path().join("outer");
    let destination = outer.join("dest");
    std::fs::create_dir_all(&destination).unwrap();
    // Every top-level path, as a user pressing `x` on each would.
    let tree = &loaded.tree;
    let top = tree.layer_count() - 1;
    for &node in tree.children(layerscope::tree::ROOT) {
        if tree.live_at(node, top).is_none() {
            continue;
        }
        let plan = layerscope::explore::extract::plan(tree, node, top, &destination).unwrap();
        assert!(plan.skipped.is_empty(), "{:?}", plan.skipped);
        layerscope::explore::extract::execute(
            &plan,
            source.as_ref().unwrap(),
            &loaded.image,
            false,
        )
        .unwrap();
    }

    let entries = |path: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        entries(&outer),
        ["dest"],
        "something was written beside the destination"
    );
    assert_eq!(entries(&dir.path().join("outer/..")), ["layout", "outer"]);
    let file = |rel: &str| std::fs::symlink_metadata(destination.join(rel)).unwrap();
    assert_eq!(std::fs::read(destination.join("canary")).unwrap(), b"c");
    assert_eq!(
        std::fs::read(destination.join("outside/escaped")).unwrap(),
        b"e"
    );
    assert!(file("usr/bin/tool").file_type().is_file());
    for (link, target) in [("up", ".."), ("bin", "usr/bin"), ("bin-again", "usr/bin")] {
        assert!(file(link).file_type().is_symlink(), "{link}");
        assert_eq!(
            std::fs::read_link(destination.join(link)).unwrap(),
            Path::new(target)
        );
    }
}

/// A symlink target longer than PATH_MAX, which no runtime can create, is not followed:
/// it bounds the work one resolution may do.
#[test]
fn a_symlink_target_longer_than_path_max_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let long = "d/".repeat(2100); // 4200 bytes
    ImageSpec::new()
        .layer(LayerSpec::new().symlink("far", &long))
        .layer(LayerSpec::new().file("far/x", "x"))
        .write_oci_layout(&layout)
        .unwrap();
    let loaded = load(&layout);
    let listing = layerscope_listing(&loaded);
    assert_eq!(listing, "drwxr-xr-x 0:0 0 /far\n-rw-r--r-- 0:0 1 /far/x\n");
    let warnings = loaded.tree.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("longer than 4095 bytes"),
        "{warnings:?}"
    );
}

/// A symlink target that runs through a directory that does not exist and climbs out with
/// `..` resolves lexically, as umoci's rootfs-confined join does: `missing/..` cancel and
/// the climb stops at `/`. A hardlink through it links the real file, and a file written
/// through it lands in /etc.
#[test]
fn a_symlink_through_a_missing_directory_resolves_lexically() {
    let Some(loaded) = assert_same_as_umoci(
        "lexical",
        ImageSpec::new()
            .layer(merged_usr().symlink("lex", "missing/../../../etc"))
            .layer(
                LayerSpec::new()
                    .hardlink("passwd.link", "lex/passwd")
                    .file("lex/written", "w"),
            ),
    ) else {
        return;
    };
    let listing = layerscope_listing(&loaded);
    assert!(listing.contains(" /etc/written\n"), "{listing}");
    assert!(
        loaded.tree.warnings().is_empty(),
        "{:?}",
        loaded.tree.warnings()
    );
}
