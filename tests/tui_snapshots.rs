//! Snapshots of the explorer's screen (text only) on small images.

mod tui_support;

use crossterm::event::KeyCode;
use tui_support::*;

#[test]
fn layer_view() {
    let dir = tempfile::tempdir().unwrap();
    let image = build_image(dir.path());
    let mut app = app_for(image.to_str().unwrap(), 120, 32);
    app.handle_key(key(KeyCode::Down));
    println!("{}", screen(&app));
}
