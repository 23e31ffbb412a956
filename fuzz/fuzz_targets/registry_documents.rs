//! A registry's manifest and index responses: whatever bytes and Content-Type a hostile
//! registry sends, `image::registry::examine` classifies them, parses them and chooses a
//! platform, returning an error instead of panicking. The client holds a credential, so
//! every error also passes the scrubber, which must leave no secret in it; and the
//! scrubber runs on the bytes as text, with secrets cut from them.
#![no_main]

use layerscope::image::Platform;
use layerscope::source::registry::auth::Credential;
use layerscope::source::registry::client::Client;
use layerscope::source::registry::scrub::{scrub, MARK};
use layerscope::image::registry::{examine, Step};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const TYPES: [&str; 6] = [
    "",
    "application/json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// The client's password: a word that platform errors quote, so scrubbing is exercised.
const SECRET: &str = "linux";

fuzz_target!(|data: &[u8]| {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    // Never connects: examine only reads the bytes it is given.
    let client = CLIENT.get_or_init(|| {
        let credential = Credential {
            username: "fuzz".into(),
            secret: SECRET.into(),
            origin: "fuzz".into(),
        };
        Client::new("fuzz.invalid", "repo", Some(credential), &[]).unwrap()
    });
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let media_type = TYPES[usize::from(selector) % TYPES.len()];
    let wanted = match selector >> 4 {
        0 => None,
        1 => Platform::parse("linux/arm64"),
        _ => Platform::parse("linux/amd64"),
    };
    match examine(client, "fuzz", media_type, bytes, wanted.as_ref()) {
        Ok(Step::Follow { digest, .. }) => {
            let _ = digest.len();
        }
        Ok(Step::Manifest(_)) => {}
        Err(error) => {
            let message = error.to_string();
            assert!(!message.contains(SECRET), "the secret in {message:?}");
        }
    }

    // The scrubber: the text, with up to three of its first lines as secrets.
    let text = String::from_utf8_lossy(bytes);
    let secrets: Vec<String> = text.lines().take(usize::from(selector % 4)).map(String::from).collect();
    let scrubbed = scrub(&text, &secrets);
    for secret in secrets.iter().filter(|s| !s.is_empty() && !MARK.contains(s.as_str())) {
        assert!(!scrubbed.contains(secret.as_str()), "{secret:?} left in {scrubbed:?}");
    }
    if secrets.iter().all(|s| s.is_empty() || !text.contains(s.as_str())) {
        assert_eq!(scrubbed, text, "text without a secret is unchanged");
    }
});
