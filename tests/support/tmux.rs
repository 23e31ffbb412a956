//! A private tmux server (its own socket, no config) running one command in one pane, for
//! tests that drive a real terminal: keys in, the pane's text out. The server is killed
//! when the handle drops, even when the test fails.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Start `command` (a shell command line) in `dir`, on a `width` by `height` pane.
    /// `name` makes the socket unique to the test.
    pub fn start(name: &str, dir: &Path, command: &str, width: u16, height: u16) -> Tmux {
        let tmux = Tmux {
            socket: format!("layerscope-{name}-{}", std::process::id()),
        };
        let status = tmux
            .command()
            .args(["-f", "/dev/null", "new-session", "-d", "-s", "t", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .arg("-c")
            .arg(dir)
            .arg(command)
            .status()
            .unwrap();
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    fn command(&self) -> Command {
        let mut tmux = Command::new("tmux");
        tmux.args(["-L", &self.socket]);
        tmux
    }

    /// Send keys in tmux's names (`Enter`, `Escape`, `Right`, or text with `-l`).
    pub fn send(&self, keys: &[&str]) {
        let status = self
            .command()
            .args(["send-keys", "-t", "t"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The pane's text now.
    pub fn screen(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-p", "-t", "t"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait until `done` holds for the screen, or fail showing it.
    pub fn wait(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!("waited for {what}; the terminal shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command()
            .arg("kill-server")
            .stderr(Stdio::null())
            .status();
    }
}
