//! Credentials out of server text. A registry may quote what it was sent (a 403 body
//! that echoes the `Authorization` header), so every piece of text from a server is
//! scrubbed of the secrets the client holds before it becomes part of a message.

/// What a secret is replaced with.
pub const MARK: &str = "<redacted>";

/// `text` with every occurrence of every secret replaced by [`MARK`]. Occurrences that
/// overlap or touch (a token inside an `Authorization` value, a password inside a token)
/// become one mark. Should a secret still be found afterwards, made from a mark and the text
/// beside it (it shares characters with the mark), the whole text is withheld.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let secrets: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    let mut spans = Vec::new();
    for secret in &secrets {
        let mut from = 0;
        while let Some(found) = text[from..].find(secret) {
            let start = from + found;
            spans.push((start, start + secret.len()));
            // Every start, so that overlapping occurrences are all covered.
            from = start + text[start..].chars().next().map_or(1, char::len_utf8);
        }
    }
    if spans.is_empty() {
        return text.to_string();
    }
    spans.sort_unstable();
    // Overlapping or touching occurrences merge into one.
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in merged {
        out.push_str(&text[at..start]);
        out.push_str(MARK);
        at = end;
    }
    out.push_str(&text[at..]);
    if secrets.iter().any(|s| !MARK.contains(s) && out.contains(s)) {
        return MARK.to_string();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_secret_is_replaced_wherever_it_is() {
        let held = secrets(&[
            "hunter2",
            "YWxpY2U6aHVudGVyMg==",
            "Basic YWxpY2U6aHVudGVyMg==",
        ]);
        let body =
            "denied: Authorization: Basic YWxpY2U6aHVudGVyMg== (password hunter2), again hunter2";
        assert_eq!(
            scrub(body, &held),
            "denied: Authorization: <redacted> (password <redacted>), again <redacted>"
        );
        // At the very start and end, and back to back.
        assert_eq!(scrub("hunter2", &held), "<redacted>");
        assert_eq!(scrub("hunter2hunter2.", &held), "<redacted>.");
        // Nothing held, or nothing found: unchanged.
        assert_eq!(scrub("plain text", &held), "plain text");
        assert_eq!(scrub("hunter2", &[]), "hunter2");
        assert_eq!(scrub("x", &secrets(&[""])), "x");
    }

    #[test]
    fn overlapping_secrets_become_one_mark() {
        // A token that holds the password, and overlapping occurrences of one secret.
        let held = secrets(&["tok-pw-en", "pw"]);
        assert_eq!(
            scrub("a tok-pw-en b pw c", &held),
            "a <redacted> b <redacted> c"
        );
        assert_eq!(scrub("[abab]", &secrets(&["aba", "bab"])), "[<redacted>]");
        assert_eq!(scrub("aaaa", &secrets(&["aa"])), "<redacted>");
        // Multi-byte text around and inside secrets.
        assert_eq!(scrub("é→秘密→é", &secrets(&["秘密"])), "é→<redacted>→é");
    }

    #[test]
    fn a_secret_rebuilt_from_a_mark_withholds_the_text() {
        // "d>x" would appear in "<redacted>x" once "tok" is replaced.
        let held = secrets(&["tok", "d>x"]);
        let out = scrub("tokx", &held);
        assert!(!out.contains("d>x") && !out.contains("tok"), "{out}");
        assert_eq!(out, MARK);
    }
}
