//! Terminal-safe rendering of untrusted strings (file names, instructions, tags).
//!
//! Temporary home: the project will get one shared helper; until then the CI
//! reporters use [`escape_control`]. Names inside an image are attacker-chosen, so
//! anything that a terminal, a log viewer or GitHub's command parser could act on
//! is shown as a visible escape instead of being emitted raw.

use std::fmt::Write as _;

/// Replaces every C0 control (including TAB, LF and CR), DEL and C1 control with
/// `\xNN`, bidi overrides/isolates and line/paragraph separators with `\u{NNNN}`,
/// and a literal backslash with `\\` so an escaped name cannot be confused with a
/// name that merely contains the text `\x1b`.
pub fn escape_control(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if is_control(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_invisible_format(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c == '\\' || is_control(c) || is_invisible_format(c)
}

/// C0, DEL and C1: `char::is_control` is exactly the Cc category.
fn is_control(c: char) -> bool {
    c.is_control()
}

/// Characters that reorder or break displayed text without being Cc controls
/// ("Trojan Source" bidi tricks, U+2028/U+2029 which some viewers treat as newlines).
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(
            escape_control("/usr/lib/libc.so.6 ü"),
            "/usr/lib/libc.so.6 ü"
        );
    }

    #[test]
    fn ansi_sequence_is_neutralised() {
        let out = escape_control("\x1b[31mred");
        assert_eq!(out, "\\x1b[31mred");
        assert!(!out.contains('\x1b'));
    }

    #[test]
    fn c0_del_c1_newlines_are_escaped() {
        assert_eq!(escape_control("a\nb\rc\td"), "a\\x0ab\\x0dc\\x09d");
        assert_eq!(escape_control("\x00\x7f\u{9b}"), "\\x00\\x7f\\x9b");
    }

    #[test]
    fn backslash_and_bidi_are_escaped() {
        assert_eq!(escape_control("a\\x1b"), "a\\\\x1b");
        assert_eq!(escape_control("abc\u{202e}txt"), "abc\\u{202e}txt");
    }
}
