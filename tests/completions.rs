//! `layerscope completions` and `layerscope man`, checked with the real tools: the bash
//! script runs in bash (its completion function called as bash calls it, and in an
//! interactive bash under tmux, where readline completes a typed line), and every man page
//! goes through man-db's `man -l` with all of groff's warnings on.
//!
//! .ci/run installs bash-completion, tmux and man-db; without one of them a test says so
//! and passes, except in CI (`CI` set), where it fails.

mod support;

use clap::CommandFactory;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn layerscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(args: &[&str]) -> String {
    let out = layerscope(args);
    assert!(
        out.status.success(),
        "layerscope {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn have(program: &str, package: &str) -> bool {
    support::tools::tools(&[program], package)
}

/// A directory holding what a user would complete: an image tarball, an OCI layout
/// directory and a Dockerfile.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("image-v1.tar"), b"").unwrap();
    std::fs::create_dir(dir.path().join("oci-layout")).unwrap();
    std::fs::write(dir.path().join("Dockerfile.prod"), b"FROM scratch\n").unwrap();
    dir
}

/// Complete the last word of `words` by calling the script's function as bash's
/// programmable completion does (COMP_WORDS, COMP_CWORD; arguments: command, word,
/// previous word), in `dir`. Returns COMPREPLY.
fn bash_complete(script: &Path, dir: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect();
    // compopt only works while bash itself runs a completion; here it would print an
    // error, so it is a no-op (the tmux test runs it for real).
    let program = format!(
        r#"source '{script}'
compopt() {{ :; }}
COMP_WORDS=({words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
COMPREPLY=()
_layerscope layerscope "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script = script.display(),
        words = quoted.join(" "),
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "bash failed on {words:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_shell_gets_a_script() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout(&["completions", shell]);
        assert!(script.contains("layerscope"), "{shell}");
        assert!(script.contains("format"), "{shell}: no --format");
        assert!(script.contains("dockerfile"), "{shell}: no --dockerfile");
    }
    let out = layerscope(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bash_completion_function_completes_options_values_and_files() {
    if !have("bash", "bash") {
        return;
    }
    let dir = workdir();
    let script = dir.path().join("layerscope.bash");
    std::fs::write(&script, stdout(&["completions", "bash"])).unwrap();
    let complete = |words: &[&str]| bash_complete(&script, dir.path(), words);
    let none: Vec<String> = Vec::new();

    // The issue's example.
    assert_eq!(complete(&["layerscope", "ci", "--fo"]), ["--format"]);
    assert_eq!(
        complete(&["layerscope", "ci", "--format", "m"]),
        ["markdown"]
    );
    // File arguments complete file names.
    assert_eq!(
        complete(&["layerscope", "ci", "--dockerfile", "Dock"]),
        ["Dockerfile.prod"]
    );
    assert_eq!(
        complete(&["layerscope", "ci", "-o", "ima"]),
        ["image-v1.tar"]
    );
    let mut all = complete(&["layerscope", "secrets", "x.tar", "--dockerfile", ""]);
    all.sort();
    assert_eq!(
        all,
        [
            "Dockerfile.prod",
            "image-v1.tar",
            "layerscope.bash",
            "oci-layout"
        ]
    );
    // Enumerations complete their values.
    assert_eq!(complete(&["layerscope", "demo", "wa"]), ["wasteful"]);
    assert_eq!(complete(&["layerscope", "completions", "fi"]), ["fish"]);
    assert_eq!(
        complete(&["layerscope", "inspect", "--source", "oci"]),
        ["oci", "oci-archive"]
    );
    assert!(complete(&["layerscope", "co"]).contains(&"completions".to_string()));
    // An image position with a typed prefix: the script offers nothing of its own, and
    // `complete -o default` hands the word to readline's file-name completion (the tmux
    // test below sees that happen).
    assert_eq!(complete(&["layerscope", "ci", "ima"]), none);
    assert_eq!(complete(&["layerscope", "diff", "a.tar", "ima"]), none);
    // A value that is no file (a layer number) is not completed with file names.
    assert_eq!(
        complete(&["layerscope", "ls", "x.tar", "--layer", ""]),
        none
    );
}

/// An interactive bash in tmux: readline completes what is typed, with the script
/// installed as `layerscope completions --help` says (bash-completion's loader finds it in
/// ~/.local/share/bash-completion/completions).
#[test]
fn bash_completes_a_typed_line_in_an_interactive_shell() {
    if !have("bash", "bash") || !have("tmux", "tmux") {
        return;
    }
    let dir = workdir();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_layerscope"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let shell = Tmux::start(dir.path(), &home, &path);

    let loader = Path::new("/usr/share/bash-completion/bash_completion");
    if loader.exists() {
        shell.run(&format!("source {}", loader.display()));
        shell.run("mkdir -p ~/.local/share/bash-completion/completions");
        shell.run(
            "layerscope completions bash > ~/.local/share/bash-completion/completions/layerscope",
        );
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "bash-completion is not installed: .ci/run installs it"
        );
        eprintln!("note: bash-completion not installed; the script is sourced instead");
        shell.run("source <(layerscope completions bash)");
    }

    shell.complete("layerscope ci --fo", "layerscope ci --format");
    shell.complete("layerscope ci --format j", "layerscope ci --format j");
    // Image arguments: file names and directories (an OCI layout).
    shell.complete("layerscope ci ima", "layerscope ci image-v1.tar");
    shell.complete("layerscope inspect oci-l", "layerscope inspect oci-layout/");
    shell.complete(
        "layerscope diff image-v1.tar oci-l",
        "layerscope diff image-v1.tar oci-layout/",
    );
    shell.complete("layerscope ima", "layerscope image-v1.tar");
    shell.complete("layerscope explain ima", "layerscope explain image-v1.tar");
    shell.complete(
        "layerscope explain image-v1.tar --dockerfile Dock",
        "layerscope explain image-v1.tar --dockerfile Dockerfile.prod",
    );
    shell.complete("layerscope demo wa", "layerscope demo wasteful");
}

/// An interactive `bash -i` in a private tmux server ([`support::tmux`]).
struct Tmux {
    tmux: support::tmux::Tmux,
    commands: std::cell::Cell<u32>,
}

impl Tmux {
    fn start(dir: &Path, home: &Path, path: &str) -> Tmux {
        let command = format!(
            "env -u XDG_DATA_HOME -u BASH_COMPLETION_USER_DIR -u PROMPT_COMMAND \
             HOME='{}' PATH='{path}' INPUTRC=/dev/null TERM=xterm PS1='$ ' \
             bash --norc --noprofile -i",
            home.display()
        );
        let shell = Tmux {
            tmux: support::tmux::Tmux::start("completions", dir, &command, 200, 50),
            commands: std::cell::Cell::new(0),
        };
        shell.run("true");
        shell
    }

    fn send(&self, keys: &[&str]) {
        self.tmux.send(keys);
    }

    fn type_text(&self, text: &str) {
        self.send(&["-l", text]);
    }

    fn wait(&self, what: &str, done: impl Fn(&str) -> bool) {
        self.tmux.wait(what, done);
    }

    /// Run a command line and wait for it to finish (an echoed marker, computed so that
    /// the typed line itself does not show it).
    fn run(&self, line: &str) {
        let n = self.commands.get() + 1;
        self.commands.set(n);
        self.type_text(&format!("{line}; echo done-$(( {n} * 1000 ))"));
        self.send(&["Enter"]);
        let marker = format!("done-{}", n * 1000);
        self.wait(&format!("`{line}` to finish"), |screen| {
            screen.lines().any(|l| l.trim() == marker)
        });
        self.send(&["-l", "clear"]);
        self.send(&["Enter"]);
        self.wait("the screen to clear", |screen| {
            screen.lines().filter(|l| !l.trim().is_empty()).count() == 1
        });
    }

    /// Type `typed`, press Tab, and wait for the prompt line to read `expected`; then
    /// clear the line (C-u).
    fn complete(&self, typed: &str, expected: &str) {
        self.type_text(typed);
        self.send(&["Tab"]);
        self.wait(
            &format!("`{typed}<Tab>` to become `{expected}`"),
            |screen| {
                screen
                    .lines()
                    .rev()
                    .find(|l| l.starts_with("$ "))
                    .is_some_and(|l| l.trim_end() == format!("$ {expected}"))
            },
        );
        self.send(&["C-u"]);
        self.wait("the line to clear", |screen| {
            screen
                .lines()
                .rev()
                .find(|l| l.starts_with('$'))
                .is_some_and(|l| l.trim_end() == "$")
        });
    }
}

#[test]
fn completions_help_says_how_to_install() {
    let help = stdout(&["completions", "--help"]);
    for needle in [
        "layerscope completions bash > ~/.local/share/bash-completion/completions/layerscope",
        "fpath=(~/.zfunc $fpath)",
        "~/.config/fish/completions/layerscope.fish",
        "eval (layerscope completions elvish | slurp)",
        "Invoke-Expression",
    ] {
        assert!(
            help.contains(needle),
            "completions --help lacks {needle:?}:\n{help}"
        );
    }
    let help = stdout(&["man", "--help"]);
    for needle in [
        "layerscope man > ~/.local/share/man/man1/layerscope.1",
        "layerscope man --dir ~/.local/share/man/man1",
        "man -l -",
    ] {
        assert!(
            help.contains(needle),
            "man --help lacks {needle:?}:\n{help}"
        );
    }
}

/// Every argument that takes a value says what it completes to: image arguments and
/// file options complete paths, the rest either list their values or are marked as
/// completing to nothing (a layer number is no file name). A new argument without a hint
/// fails here, before a user's Tab offers it file names.
#[test]
fn every_value_says_what_it_completes_to() {
    use clap::ValueHint;
    fn walk(cmd: &clap::Command, path: &str) {
        for arg in cmd.get_arguments() {
            if !arg.get_num_args().is_some_and(|n| n.takes_values()) {
                continue;
            }
            let id = arg.get_id().as_str();
            let hint = arg.get_value_hint();
            let listed = !arg.get_possible_values().is_empty();
            assert!(
                hint != ValueHint::Unknown || listed,
                "{path} {id}: set value_hint (or possible values)"
            );
            let expected = match id {
                "image" | "a" | "b" if arg.is_positional() => Some(ValueHint::AnyPath),
                "dockerfile" | "config" | "output" => Some(ValueHint::FilePath),
                "export" | "dir" => Some(ValueHint::DirPath),
                _ => None,
            };
            if let Some(expected) = expected {
                assert_eq!(hint, expected, "{path} {id}");
            }
        }
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            walk(sub, &format!("{path} {}", sub.get_name()));
        }
    }
    let mut cmd = layerscope::cli::Cli::command();
    cmd.build();
    walk(&cmd, "layerscope");
}

/// The names of every page there should be: layerscope.1 and one per subcommand.
fn expected_pages() -> Vec<String> {
    fn walk(cmd: &clap::Command, prefix: &str, names: &mut Vec<String>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("{prefix}-{}", sub.get_name());
            names.push(format!("{name}.1"));
            walk(sub, &name, names);
        }
    }
    let mut names = vec!["layerscope.1".to_string()];
    walk(&layerscope::cli::Cli::command(), "layerscope", &mut names);
    names
}

#[test]
fn man_prints_the_main_page_and_each_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let listed = stdout(&["man", "--dir", pages.to_str().unwrap()]);
    let mut written: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    let mut expected = expected_pages();
    expected.sort();
    assert_eq!(written, expected);
    assert_eq!(listed.lines().count(), expected.len());
    for name in [
        "layerscope.1",
        "layerscope-ci.1",
        "layerscope-cache-prune.1",
    ] {
        assert!(written.iter().any(|w| w == name), "{name}");
    }
    let read = |name: &str| std::fs::read_to_string(pages.join(name)).unwrap();
    assert_eq!(stdout(&["man"]), read("layerscope.1"));
    assert_eq!(stdout(&["man", "ci"]), read("layerscope-ci.1"));
    assert_eq!(
        stdout(&["man", "cache", "prune"]),
        read("layerscope-cache-prune.1")
    );
    // The page does not depend on the build's inflater (--version names it).
    assert!(!read("layerscope.1").contains("gzip:"));

    let out = layerscope(&["man", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no man page for `layerscope nope`"),
        "{stderr}"
    );
    assert!(stderr.contains("inspect, ls, changes, ci"), "{stderr}");
    let out = layerscope(&["man", "cache", "nope"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Each page through man-db as a user reads it, 80 columns wide, with every groff warning
/// on (plain `man -l` shows none, not even for an undefined macro): it must render with
/// nothing on stderr, have a SYNOPSIS, fit the width, and every `layerscope-X(1)` it
/// names must be a page that exists.
#[test]
fn man_pages_render_without_warnings() {
    if !have("man", "man-db") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    stdout(&["man", "--dir", dir.path().to_str().unwrap()]);
    let names = expected_pages();
    let reference = regex::Regex::new(r"(layerscope(?:-[a-z]+)*)\(1\)").unwrap();
    for name in &names {
        let file: PathBuf = dir.path().join(name);
        let out = Command::new("man")
            .args(["--warnings=w", "-l"])
            .arg(&file)
            .env("MANWIDTH", "80")
            .env("LC_ALL", "C.UTF-8")
            .env_remove("MANPAGER")
            .env_remove("PAGER")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "man -l {name} failed: {stderr}");
        assert!(stderr.is_empty(), "man -l {name} warned:\n{stderr}");
        assert!(text.contains("SYNOPSIS"), "{name}:\n{text}");
        assert!(text.contains("DESCRIPTION"), "{name}:\n{text}");
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "{name}: wider than 80 columns: {line:?}"
            );
        }
        for m in reference.captures_iter(&text) {
            let page = format!("{}.1", &m[1]);
            assert!(
                names.contains(&page),
                "{name} names {page}, which is not written"
            );
        }
    }
}
