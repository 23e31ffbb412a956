//! Run a binary to its end and measure it: exit code, output, wall time and peak memory
//! (the child's own maximum RSS, which only `wait4` reports), killed by its PID past a
//! limit so that a hang fails the test instead of holding it.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run measured.
pub struct Measured {
    /// `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub wall: Duration,
    /// ru_maxrss: KiB on Linux.
    pub peak_kib: u64,
}

/// Run `command` (its stdout and stderr piped here) to its end; fails the test when it
/// is still running after `limit`, after killing it.
// wait4 reaps the child (std's wait would lose its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
pub fn measure(mut command: Command, limit: Duration) -> Measured {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut killed = false;
    loop {
        // SAFETY: `pid` is our child, not yet reaped; the pointers are to live locals.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(reaped >= 0, "wait4: {}", std::io::Error::last_os_error());
        if reaped == pid {
            break;
        }
        if !killed && started.elapsed() > limit {
            // Not reaped yet, so the pid is still this child's.
            let _ = child.kill();
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let measured = Measured {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: stdout.join().unwrap(),
        stderr: String::from_utf8_lossy(&stderr.join().unwrap()).into_owned(),
        wall: started.elapsed(),
        peak_kib: usage.ru_maxrss as u64,
    };
    assert!(
        !killed,
        "still running after {limit:?}: {}",
        measured.stderr
    );
    measured
}
