//! The teaching parts of the explorer, driven through its real event loop on the embedded
//! demo images: layer rows with their Dockerfile lines, the Dockerfile pane, `e`, the
//! guided tour, and the marker on files with secret findings.

mod tui_support;

use crossterm::event::KeyCode;
use layerscope::demo;
use layerscope::tui::components::explain::Explain;
use layerscope::tui::components::tour::Tour;
use layerscope::tui::components::Pane;
use layerscope::tui::{App, Start};
use tui_support::*;

/// The explorer on a demo image, opened as `layerscope demo NAME` opens it (with its
/// Dockerfile; with the tour when asked).
fn demo_app(name: &str, tour: bool) -> (tempfile::NamedTempFile, App) {
    let image = demo::find(name).unwrap();
    let file = demo::temp_archive(image).unwrap();
    let mut app = app_for(file.path().to_str().unwrap(), 140, 44);
    Start {
        dockerfile: Some((image.dockerfile_name.into(), image.dockerfile.into())),
        tour,
        demo: Some(image.name),
    }
    .apply(&mut app)
    .unwrap();
    (file, app)
}

/// The text inside the box whose title starts with `title`, one line per row, trimmed:
/// an overlay's content without the panes around it.
fn boxed(screen: &str, title: &str) -> String {
    let rows: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let (top, left) = rows
        .iter()
        .enumerate()
        .find_map(|(y, row)| {
            let text: String = row.iter().collect();
            let at = text.find(&format!("┌ {title}"))?;
            Some((y, text[..at].chars().count()))
        })
        .unwrap_or_else(|| panic!("no box {title:?} in\n{screen}"));
    let right = (left + 1..rows[top].len())
        .find(|&x| rows[top][x] == '┐')
        .unwrap();
    let mut out = String::new();
    for row in &rows[top + 1..] {
        if row.get(left) == Some(&'└') {
            break;
        }
        let inner: String = row[left + 1..right.min(row.len())].iter().collect();
        out.push_str(inner.trim());
        out.push('\n');
    }
    out
}

/// Lines joined with single spaces, as a paragraph reads.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The screen's row that contains `needle`.
fn row_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle:?} in\n{screen}"))
}

fn select_layer(app: &mut App, layer: usize) {
    app.set_focus(Pane::Layers);
    press(app, key(KeyCode::Home));
    for _ in 0..layer {
        press(app, key(KeyCode::Char('j')));
    }
    assert_eq!(app.model.layer(), layer);
}

fn select_path(app: &mut App, path: &str) {
    app.set_focus(Pane::Files);
    let at = visible_paths(app)
        .iter()
        .position(|p| p == path)
        .unwrap_or_else(|| panic!("{path} not visible"));
    press(app, key(KeyCode::Home));
    for _ in 0..at {
        press(app, key(KeyCode::Char('j')));
    }
    assert_eq!(visible_paths(app)[app.model.file_cursor()], path);
}

fn selected_path(app: &App) -> String {
    visible_paths(app)[app.model.file_cursor()].clone()
}

#[test]
fn layer_rows_show_the_line_that_made_them() {
    let (_file, app) = demo_app("wasteful", false);
    let screen = screen(&app);
    // assets/wasteful.mapping.txt: layer 8 is line 27, layer 1 line 17; the base layer is
    // the final stage's FROM (line 12).
    assert!(row_with(&screen, "rm /tmp/scratch.bin").contains("L27"));
    assert!(row_with(&screen, "dd if=/dev/urandom").contains("L26"));
    // The Dockerfile's words, not buildah's `COPY dir:<digest> in .`.
    assert!(
        row_with(&screen, "L17 COPY  . .").contains("1.3 MB"),
        "{screen}"
    );
    let from = demo::find("wasteful")
        .unwrap()
        .dockerfile
        .lines()
        .position(|l| l == "FROM localhost/demo-base")
        .unwrap()
        + 1;
    let base = row_with(&screen, &format!("L{from} "));
    assert!(base.contains("█"), "the selected base layer's row: {base}");
}

#[test]
fn the_dockerfile_pane_highlights_and_selects_layers() {
    let (_file, mut app) = demo_app("wasteful", false);
    select_layer(&mut app, 8);
    assert!(!screen(&app).contains("Dockerfile wasteful.Dockerfile"));
    press(&mut app, key(KeyCode::Char('f')));
    assert_eq!(app.focus(), Pane::Dockerfile);
    let shown = screen(&app);
    assert!(
        row_with(&shown, "Dockerfile wasteful.Dockerfile").contains("[layer 8: line 27]"),
        "{shown}"
    );
    // The selected layer's line is pointed at, and tagged with its layer.
    let line = row_with(&shown, "RUN rm /tmp/scratch.bin");
    assert!(line.contains("▶") && line.contains("27 L8"), "{line}");
    assert!(!row_with(&shown, "RUN chmod -R 755 /app").contains("▶"));
    // Up one line: the `dd` of line 26 selects layer 7.
    press(&mut app, key(KeyCode::Up));
    assert_eq!(app.model.layer(), 7);
    assert_eq!(app.model.dockerfile_cursor(), 25);
    assert!(row_with(&screen(&app), "RUN dd if=").contains("▶"));
    // WORKDIR made no layer: it is metadata of layer 1, `COPY . .`, and selects it.
    for _ in 0..(25 - 13) {
        press(&mut app, key(KeyCode::Up));
    }
    assert_eq!(app.model.dockerfile_cursor(), 13);
    assert_eq!(app.model.layer(), 1);
    let shown = screen(&app);
    let workdir = row_with(&shown, "WORKDIR /app");
    assert!(
        workdir.contains("+L1") && workdir.contains("▶"),
        "{workdir}"
    );
    assert!(row_with(&shown, "17 L1").contains("▶"), "{shown}");
    // The layer pane's rows follow; the pane's title says where the layer is.
    assert!(row_with(&shown, "[layer 1: line 17]").contains("Dockerfile"));
    // Selecting a layer elsewhere moves the pane to its line.
    select_layer(&mut app, 10);
    assert_eq!(app.model.dockerfile_cursor(), 30);
    // `f` again hides it, and tab no longer stops there.
    app.set_focus(Pane::Dockerfile);
    press(&mut app, key(KeyCode::Char('f')));
    assert!(!screen(&app).contains("Dockerfile wasteful.Dockerfile"));
    assert_eq!(app.focus(), Pane::Layers);
    press(&mut app, key(KeyCode::Tab));
    assert_eq!(app.focus(), Pane::Files);
}

#[test]
fn the_dockerfile_key_is_listed_in_help_and_explains_itself_without_a_dockerfile() {
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path());
    let mut app = app_for(image.to_str().unwrap(), 120, 60);
    press(&mut app, key(KeyCode::Char('f')));
    assert!(screen(&app).contains("no Dockerfile: open the image with --dockerfile FILE"));
    press(&mut app, key(KeyCode::Char('?')));
    let help = screen(&app);
    assert!(row_with(&help, "show/hide the Dockerfile pane").contains('f'));
    assert!(row_with(&help, "explain the selected layer").contains('e'));
    assert!(row_with(&help, "explain the selected path").contains('e'));
    assert!(row_with(&help, "next step").contains('n'));
}

#[test]
fn e_explains_a_deleted_path_with_its_whiteout_and_cost() {
    let (_file, mut app) = demo_app("wasteful", false);
    select_layer(&mut app, 8);
    select_path(&mut app, "/tmp/scratch.bin");
    press(&mut app, key(KeyCode::Char('e')));
    let overlay = app.overlay::<Explain>().expect("the explain overlay");
    assert!(matches!(
        overlay.subject,
        layerscope::explore::Subject::Path(_)
    ));
    let shown = screen(&app);
    let flat = flat(&boxed(&shown, "Explain /tmp/scratch.bin"));
    for expected in [
        "Layer 7 (RUN dd if=/dev/urandom of=/tmp/scratch.bin bs=1024 count=256, Dockerfile line 26) wrote it (262.1 kB)",
        "Layer 8 hid this copy, but its 262.1 kB are still downloaded with layer 7",
        "Layer 8 (RUN rm /tmp/scratch.bin, Dockerfile line 27) deleted it with a whiteout .wh.scratch.bin",
        "Delete it in the same RUN that creates it",
        "A container never sees it",
    ] {
        assert!(flat.contains(expected), "{expected:?} not in\n{shown}");
    }
    press(&mut app, key(KeyCode::Esc));
    assert!(!app.has_overlay());
}

#[test]
fn e_explains_a_layer_and_its_build_stage() {
    let (_file, mut app) = demo_app("wasteful", false);
    select_layer(&mut app, 3);
    press(&mut app, key(KeyCode::Char('e')));
    assert!(app.overlay::<Explain>().is_some());
    let shown = screen(&app);
    let flat = flat(&boxed(&shown, "Explain layer 3"));
    for expected in [
        "Layer 3: COPY --from=debian /var/lib/apt/lists/ /var/lib/apt/lists/ (Dockerfile line 20)",
        "It adds 10 paths",
        "It copies files from the build stage debian (which starts FROM localhost/demo-golang)",
        "Hint (package-cache)",
    ] {
        assert!(flat.contains(expected), "{expected:?} not in\n{shown}");
    }
    // The overlay scrolls with the overlay keys and closes with q, not quitting.
    press(&mut app, key(KeyCode::Char('j')));
    assert_eq!(app.overlay::<Explain>().unwrap().scroll.0, 1);
    press(&mut app, key(KeyCode::Char('q')));
    assert!(!app.has_overlay() && !app.should_quit());
    // From the Dockerfile pane, `e` explains the line's layer.
    press(&mut app, key(KeyCode::Char('f')));
    press(&mut app, key(KeyCode::Down));
    assert_eq!(app.model.layer(), 4);
    press(&mut app, key(KeyCode::Char('e')));
    assert!(screen(&app).contains("Explain layer 4"));
}

/// The explorer as `layerscope demo [NAME]` opens it, on a screen of `width` by `height`:
/// the demo image (without a name, the one the tour starts on), its Dockerfile and the
/// tour.
fn demo_screen(name: Option<&str>, width: u16, height: u16) -> (tempfile::NamedTempFile, App) {
    let name = name.unwrap_or(layerscope::explore::tour::LESSON[0].0);
    let image = demo::find(name).unwrap();
    let file = demo::temp_archive(image).unwrap();
    let mut app = app_for(file.path().to_str().unwrap(), width, height);
    Start {
        dockerfile: Some((image.dockerfile_name.into(), image.dockerfile.into())),
        tour: true,
        demo: Some(image.name),
    }
    .apply(&mut app)
    .unwrap();
    (file, app)
}

/// Text with every whitespace removed: wrapping may break a line anywhere, even in a long
/// path.
fn squeezed(text: &str) -> String {
    text.split_whitespace().collect()
}

/// Walk every step of the tour on a `width` by `height` screen: each step's title, its
/// last sentence (after scrolling the box to its end) and its keys line are on screen, no
/// pane's title is covered, and the status bar shows `? help`.
fn walk_the_tour(width: u16, height: u16) {
    let (_file, mut app) = demo_screen(None, width, height);
    let count = layerscope::explore::tour::LESSON.len();
    for at in 0..count {
        let tour = app.overlay::<Tour>().expect("the tour stays open");
        assert_eq!(tour.at, at);
        let step = tour.step().clone();
        assert_eq!(app.model.demo(), Some(step.image), "step {}", at + 1);
        let title = format!("Tour {}/{count}", at + 1);
        let first = screen(&app);
        let text = squeezed(&boxed(&first, &title));
        assert!(text.contains(&squeezed(step.title)), "{first}");
        let last = first.lines().last().unwrap();
        assert!(last.contains("? help"), "status bar: {last}");
        assert!(row_with(&first, "┌ Layers").contains("Layers"));
        assert!(
            first.contains("┌ Files") || first.contains("┌ Current"),
            "{first}"
        );
        // Scroll to the end of the text.
        let mut shown = first.clone();
        for _ in 0..30 {
            press(&mut app, key(KeyCode::PageDown));
            shown = screen(&app);
        }
        let inside = boxed(&shown, &title);
        let sentences: Vec<&str> = step
            .text
            .split(". ")
            .filter(|s| !s.trim().is_empty())
            .collect();
        let last_sentence = sentences.last().unwrap();
        assert!(
            squeezed(&inside).contains(&squeezed(last_sentence)),
            "step {}: {last_sentence:?} not in\n{shown}",
            at + 1
        );
        // The keys wrap with the text, so they are compared as words.
        assert!(
            squeezed(&inside).contains(&squeezed("n next p previous esc leaves")),
            "{shown}"
        );
        assert!(!shown.contains("Nothing to select"), "{shown}");
        press(&mut app, key(KeyCode::Char('n')));
    }
    // n on the last step stays there; it says the tour is over.
    let tour = app.overlay::<Tour>().unwrap();
    assert_eq!(tour.at, count - 1);
    assert!(tour.step().text.starts_with("The tour is over."));
    press(&mut app, key(KeyCode::Esc));
    assert!(!app.has_overlay() && !app.should_quit());
}

#[test]
fn the_whole_tour_reads_at_80_by_24() {
    walk_the_tour(80, 24);
}

#[test]
fn the_whole_tour_reads_at_160_by_45() {
    walk_the_tour(160, 45);
}

#[test]
fn the_tour_crosses_images_both_ways_and_starts_on_the_named_one() {
    // `layerscope demo hello` starts on hello's first step: the multi-stage build.
    let (_file, mut app) = demo_screen(Some("hello"), 140, 44);
    let tour = app.overlay::<Tour>().unwrap();
    assert_eq!(
        tour.step().title,
        "A multi-stage build ships only what it copies"
    );
    assert_eq!(app.model.layer(), 1);
    assert_eq!(selected_path(&app), "/usr/local/bin/hello");
    // p goes back to the last step on `layers`, n forward to `wasteful`'s whiteout.
    press(&mut app, key(KeyCode::Char('p')));
    assert_eq!(app.model.demo(), Some("layers"));
    assert_eq!(app.model.layer_count(), 5);
    press(&mut app, key(KeyCode::Char('n')));
    press(&mut app, key(KeyCode::Char('n')));
    assert_eq!(app.model.demo(), Some("wasteful"));
    assert_eq!(app.model.layer(), 8);
    assert_eq!(selected_path(&app), "/tmp/scratch.bin");
    let text = flat(&boxed(&screen(&app), "Tour"));
    assert!(text.contains("`.wh.scratch.bin`"), "{text}");
    // `t` on an image that is not a demo says where the tour is.
    let dir = tempfile::tempdir().unwrap();
    let path = build_image(dir.path());
    let mut other = app_for(path.to_str().unwrap(), 140, 44);
    press(&mut other, key(KeyCode::Char('t')));
    assert!(!other.has_overlay());
    assert!(screen(&other).contains("layerscope demo"));
}

#[test]
fn the_container_step_writes_deletes_and_creates_in_its_own_layer_only() {
    let (_file, mut app) = demo_screen(Some("layers"), 120, 40);
    while app.overlay::<Tour>().unwrap().step().title != "A container adds one writable layer" {
        press(&mut app, key(KeyCode::Char('n')));
    }
    let shown = screen(&app);
    let layer_rows = |s: &str| boxed(s, "Layers");
    let before = layer_rows(&shown);
    assert!(
        shown.contains("Container layer (writable): 0 paths"),
        "{shown}"
    );
    assert!(
        shown.contains("empty: the container has changed nothing"),
        "{shown}"
    );
    // The container box is above the layers.
    let row = |s: &str, needle: &str| s.lines().position(|l| l.contains(needle)).unwrap();
    assert!(row(&shown, "Container layer") < row(&shown, "┌ Layers"));
    // Write to the selected file, the biggest a container sees: copied up whole.
    let node = app.model.selected_node().unwrap();
    let tree = &app.model.image().tree;
    let top = tree.layer_count() - 1;
    let version = tree.live_at(node, top).unwrap();
    let (size, from) = (tree.content_size(version), version.layer);
    let name = selected_path(&app);
    press(&mut app, key(KeyCode::Char('w')));
    let appended = layerscope::explore::container::APPENDED.len() as u64;
    let copied = layerscope::size::human(size + appended);
    let shown = screen(&app);
    assert!(
        shown.contains(&format!("C {name}  {copied}, copied up from layer {from}")),
        "{shown}"
    );
    assert!(shown.contains("copy-up: all of"), "{shown}");
    // Delete the next file down: a whiteout; then create one.
    press(&mut app, key(KeyCode::Down));
    let deleted = selected_path(&app);
    press(&mut app, key(KeyCode::Char('x')));
    press(&mut app, key(KeyCode::Char('c')));
    let shown = screen(&app);
    assert!(shown.contains(&format!("D {deleted}  whiteout")), "{shown}");
    assert!(shown.contains("new-file-1.txt"), "{shown}");
    assert!(
        shown.contains("Container layer (writable): 3 paths"),
        "{shown}"
    );
    // The image's layers did not change.
    assert_eq!(layer_rows(&shown), before);
    assert_eq!(tree_size(&app, node), size);
    // Removing the container discards its layer.
    press(&mut app, key(KeyCode::Char('r')));
    assert!(screen(&app).contains("Container layer (writable): 0 paths"));
    // Leaving the step leaves the container behind.
    press(&mut app, key(KeyCode::Char('n')));
    assert!(!screen(&app).contains("Container layer"));
}

fn tree_size(app: &App, node: layerscope::tree::NodeId) -> u64 {
    let tree = &app.model.image().tree;
    tree.content_size(tree.live_at(node, tree.layer_count() - 1).unwrap())
}

#[test]
fn files_with_secret_findings_are_marked_and_explained() {
    let mut app = app_for(&fixture("secrets/leaky.tar"), 140, 44);
    // Layer 3 adds /app/.env; a later layer deletes it.
    select_layer(&mut app, 3);
    let shown = screen(&app);
    assert!(row_with(&shown, ".env").contains("⚑"), "{shown}");
    assert_eq!(shown.matches("⚑").count(), 1, "{shown}");
    select_path(&mut app, "/app/.env");
    press(&mut app, key(KeyCode::Char('e')));
    let shown = screen(&app);
    let flat = flat(&boxed(&shown, "Explain /app/.env"));
    assert!(
        flat.contains("Secret: the rule dotenv-file (.env file) matched in layer 3's copy"),
        "{shown}"
    );
    assert!(
        flat.contains("matched DB_PASSWORD=s3cr…nv in layer 3's copy"),
        "{shown}"
    );
    assert!(
        flat.contains("but the secret still ships in layer 3"),
        "{shown}"
    );
    // The rule and the redacted preview only: never the secret (make-images.sh writes
    // `DB_PASSWORD=s3cr3t-from-dotenv`).
    assert!(!shown.contains("s3cr3t"), "{shown}");
}

#[test]
fn instructions_and_env_entries_are_drawn_with_their_secrets_redacted() {
    let mut app = app_for(&fixture("secrets/leaky.tar"), 140, 44);
    Start {
        dockerfile: None,
        tour: false,
        demo: None,
    }
    .apply(&mut app)
    .unwrap();
    // Layer 7 is `RUN GITHUB_TOKEN=ghp_… sh -c …`, after `ENV DB_PASSWORD=…` (make-images.sh).
    select_layer(&mut app, 7);
    let shown = screen(&app);
    assert!(shown.contains("GITHUB_TOKEN=ghp_…45"), "{shown}");
    assert!(shown.contains("DB_PASSWORD=corr…le"), "{shown}");
    for secret in [
        "R4nd0mLooking1TokenValue2For3Tests",
        "correct-horse-battery",
    ] {
        assert!(
            !shown.contains(secret),
            "the explorer draws {secret}:\n{shown}"
        );
    }
    // `e` on the layer says the same words, redacted too.
    press(&mut app, key(KeyCode::Char('e')));
    let shown = screen(&app);
    assert!(shown.contains("Explain"), "{shown}");
    assert!(!shown.contains("R4nd0mLooking"), "{shown}");
}

/// A base layer was not made by a line of this Dockerfile: its row shows the `FROM` that
/// brought it in, numbered with that line (line 15 of demo/layers/Dockerfile), not the
/// base image's own `COPY dir:…`.
#[test]
fn base_layers_show_their_from_line() {
    let (_file, app) = demo_screen(Some("layers"), 160, 45);
    let screen = screen(&app);
    let from_line = demo::find("layers")
        .unwrap()
        .dockerfile
        .lines()
        .position(|l| l.starts_with("FROM localhost/demo-base"))
        .unwrap()
        + 1;
    let row = row_with(&screen, &format!("L{from_line} "));
    assert!(row.contains("FROM  localhost/demo-base"), "{row}");
    assert!(!screen.contains("COPY  dir:"), "{screen}");
}
