//! Terminal-safe rendering of bytes that come from an image.
//!
//! File names, link targets and history text are untrusted: an escape sequence in a
//! file name must never reach the terminal raw. Printable UTF-8 passes through unchanged;
//! control characters (C0, DEL, C1) and invalid UTF-8 bytes become `\xNN`; bidi overrides and
//! line/paragraph separators, which reorder or break displayed text ("Trojan Source"), become
//! `\u{NNNN}`. A literal backslash is left alone, so a name without such characters prints
//! as itself (as an unpacked rootfs listing prints it).
//!
//! JSON exports that other tools read back carry names through [`push_json_string`]: the
//! same characters are escaped, as JSON escapes that keep the name's exact value.
//!
//! HTML pages (`report`, `explain --format html`) carry every name through [`push_html`]:
//! the display form above, then HTML's special characters as character references.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Escape `bytes` for display. Borrows when nothing needs escaping.
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if !text.chars().any(is_unsafe_char) {
            return Cow::Borrowed(text);
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    push_escaped(&mut out, bytes);
    Cow::Owned(out)
}

/// Escape a string that may carry control characters (history text, labels).
pub fn escape_str(text: &str) -> Cow<'_, str> {
    escape_bytes(text.as_bytes())
}

/// Append the escaped form of `bytes` to `out`.
pub fn push_escaped(out: &mut String, bytes: &[u8]) {
    push_with(out, bytes, push_valid, "\\x");
}

/// Append `bytes` to `out` as a JSON string literal, quotes included, for exports that
/// other tools read back (ncdu's format). UTF-8 keeps its exact value: `"`, `\` and every
/// character [`escape_bytes`] would escape (C0, DEL, C1, bidi overrides, U+2028/U+2029) are
/// written as JSON escapes, which parse back to the same character while the file stays
/// safe to print. Bytes that are not UTF-8, which a JSON string cannot hold, become the
/// same `\xNN` text [`escape_bytes`] prints (so a name `a\xff` and `a<0xff>` read
/// alike, as they do in `ls`).
pub fn push_json_string(out: &mut String, bytes: &[u8]) {
    out.push('"');
    push_with(out, bytes, push_json_valid, "\\\\x");
    out.push('"');
}

/// Append `bytes` to `out` for an HTML page, as element text or a quoted attribute value:
/// the display form of [`push_escaped`] (a control byte reads `\xNN` here as in a terminal),
/// with `&`, `<`, `>`, `"` and `'` as character references, so that no name can open a tag,
/// end an attribute or start an entity.
pub fn push_html(out: &mut String, bytes: &[u8]) {
    for ch in escape_bytes(bytes).chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
}

/// [`push_html`] of a string (instructions, hint texts, labels): a new string.
pub fn html_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    push_html(&mut out, text.as_bytes());
    out
}

/// Split `bytes` into UTF-8 runs, given to `valid`, and invalid bytes, written as
/// `<prefix>NN`.
fn push_with(out: &mut String, mut bytes: &[u8], valid: fn(&mut String, &str), prefix: &str) {
    loop {
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                valid(out, text);
                return;
            }
            Err(error) => {
                let (text, rest) = bytes.split_at(error.valid_up_to());
                // SAFETY-free: `valid_up_to` guarantees this prefix is UTF-8.
                valid(out, std::str::from_utf8(text).unwrap_or_default());
                let bad = error.error_len().unwrap_or(rest.len());
                for byte in &rest[..bad] {
                    let _ = write!(out, "{prefix}{byte:02x}");
                }
                bytes = &rest[bad..];
            }
        }
    }
}

fn push_json_valid(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            _ if is_unsafe_char(ch) => {
                let _ = write!(out, "\\u{:04x}", ch as u32);
            }
            _ => out.push(ch),
        }
    }
}

fn push_valid(out: &mut String, text: &str) {
    for ch in text.chars() {
        if ch.is_control() {
            let mut buf = [0u8; 4];
            for byte in ch.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{byte:02x}");
            }
        } else if is_unsafe_char(ch) {
            let _ = write!(out, "\\u{{{:04x}}}", ch as u32);
        } else {
            out.push(ch);
        }
    }
}

fn is_unsafe_char(ch: char) -> bool {
    ch.is_control()
        || matches!(ch, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_borrowed_unchanged() {
        assert!(matches!(
            escape_bytes(b"/etc/passwd"),
            Cow::Borrowed("/etc/passwd")
        ));
        assert_eq!(escape_bytes("/opt/ünïcode €".as_bytes()), "/opt/ünïcode €");
    }

    #[test]
    fn escape_sequences_and_controls_never_pass_raw() {
        let shown = escape_bytes(b"evil\x1b[31mred\x07\n\x7f");
        assert_eq!(shown, "evil\\x1b[31mred\\x07\\x0a\\x7f");
        assert!(!shown.contains('\x1b'));
    }

    #[test]
    fn bidi_overrides_and_separators_are_visible() {
        assert_eq!(escape_str("a\u{202e}b\u{2028}c"), "a\\u{202e}b\\u{2028}c");
        assert_eq!(escape_str("back\\slash"), "back\\slash");
    }

    #[test]
    fn json_strings_keep_utf8_exact_and_escape_the_rest() {
        let mut out = String::new();
        push_json_string(&mut out, "q\"b\\\x01\u{9b}\u{202e}é\x7f".as_bytes());
        assert_eq!(out, r#""q\"b\\\u0001\u009b\u202eé\u007f""#);
        let parsed: String = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, "q\"b\\\x01\u{9b}\u{202e}é\x7f");
        out.clear();
        push_json_string(&mut out, b"bad\xff\xfe");
        assert_eq!(out, r#""bad\\xff\\xfe""#);
        assert_eq!(
            serde_json::from_str::<String>(&out).unwrap(),
            "bad\\xff\\xfe"
        );
    }

    #[test]
    fn html_text_cannot_open_a_tag_or_leave_an_attribute() {
        assert_eq!(
            html_str("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        let mut out = String::new();
        push_html(&mut out, b"a\x1b[1m\xff\xe2\x80\xaeb");
        assert_eq!(out, "a\\x1b[1m\\xff\\u{202e}b");
    }

    #[test]
    fn c1_controls_and_invalid_utf8_are_escaped_bytewise() {
        assert_eq!(escape_bytes("a\u{9b}b".as_bytes()), "a\\xc2\\x9bb");
        assert_eq!(escape_bytes(b"bad\xff\xfeend"), "bad\\xff\\xfeend");
    }
}
