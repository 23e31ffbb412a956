//! The report's "Packages" section: what each layer did to the package databases, with
//! measured bytes, and the largest packages. Plain HTML (tables and `<details>`), so it
//! reads without script; every name and version goes through the escape module.

use super::text;
use crate::analysis::packages::{LayerPackages, Package, Packages};
use crate::size::human;
use maud::{html, Markup};

/// Rows of the largest-packages table, and of each layer's changes of one kind, before
/// the page says "and N more": a page stays small however many packages an image has
/// (`layerscope packages` lists them all).
pub const MAX_PACKAGE_ROWS: usize = 100;

/// Biggest first; equal sizes by name, so the order is the same on every run.
fn biggest_first<'a>(list: impl IntoIterator<Item = &'a Package>) -> Vec<&'a Package> {
    let mut list: Vec<&Package> = list.into_iter().collect();
    list.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    list
}

fn sum<'a>(list: impl IntoIterator<Item = &'a Package>) -> u64 {
    list.into_iter()
        .map(|p| p.bytes)
        .fold(0, u64::saturating_add)
}

/// The section, or nothing when the image has no package database the reader knows.
pub fn section(found: &Packages) -> Markup {
    if found.packages.is_empty() && found.layers.is_empty() {
        return html! {};
    }
    let largest = biggest_first(&found.packages);
    html! {
        section id="packages" {
            h2 { "Packages" }
            p {
                (found.packages.len()) " packages in the final image, "
                (human(sum(&found.packages))) " of files in the layers that installed them (measured, not as declared); "
                (human(found.unowned_bytes)) " in files no package owns."
            }
            @for warning in &found.warnings {
                p class="warning" { "Not read: " (text(warning)) }
            }
            h3 { "What each layer changed" }
            @for layer in &found.layers { (layer_changes(layer)) }
            h3 { "The largest packages" }
            table class="packages" {
                thead { tr {
                    th scope="col" { "Manager" } th scope="col" { "Package" } th scope="col" { "Version" }
                    th scope="col" class="num" { "Layer" } th scope="col" class="num" { "Bytes" }
                    th scope="col" class="num" { "Files" }
                } }
                tbody {
                    @for p in largest.iter().take(MAX_PACKAGE_ROWS) {
                        tr class="package" data-manager=(p.manager.name()) data-name=(text(&p.name))
                            data-version=(text(&p.version)) data-layer=(p.layer) data-bytes=(p.bytes)
                            data-files=(p.files) {
                            td { (p.manager.name()) }
                            th scope="row" { code { (text(&p.name)) } }
                            td { code { (text(&p.version)) } }
                            td class="num" { a href={"#layer-" (p.layer)} { (p.layer) } }
                            td class="num" { (human(p.bytes)) }
                            td class="num" { (p.files) }
                        }
                    }
                }
            }
            (more(largest.len(), "packages"))
        }
    }
}

/// "and N more" under a list cut at [`MAX_PACKAGE_ROWS`].
fn more(len: usize, what: &str) -> Markup {
    html! {
        @if len > MAX_PACKAGE_ROWS {
            p class="more" data-more=(len - MAX_PACKAGE_ROWS) {
                "and " (len - MAX_PACKAGE_ROWS) " more " (what) " (" code { "layerscope packages" } " lists them all)"
            }
        }
    }
}

/// One layer's changes, folded: added and upgraded biggest first, with the bytes this
/// layer stores for them; then the removed ones.
fn layer_changes(layer: &LayerPackages) -> Markup {
    let added = biggest_first(&layer.added);
    let mut upgraded: Vec<_> = layer.upgraded.iter().collect();
    upgraded.sort_by(|(a, p), (b, q)| q.bytes.cmp(&p.bytes).then_with(|| a.name.cmp(&b.name)));
    let i = layer.index;
    html! {
        details class="package-layer" id={"packages-" (i)} data-layer=(i) {
            summary {
                "layer " (i) ": "
                (added.len()) " installed (" (human(sum(layer.added.iter()))) "), "
                (upgraded.len()) " upgraded, " (layer.removed.len()) " removed"
            }
            table class="package-changes" {
                thead { tr {
                    th scope="col" { "Change" } th scope="col" { "Package" } th scope="col" { "Version" }
                    th scope="col" class="num" { "Bytes" } th scope="col" class="num" { "Files" }
                } }
                tbody {
                    @for p in added.iter().take(MAX_PACKAGE_ROWS) {
                        tr class="package-change" data-change="added" data-name=(text(&p.name)) data-bytes=(p.bytes) {
                            td { "+ added" } th scope="row" { code { (text(&p.name)) } }
                            td { code { (text(&p.version)) } }
                            td class="num" { (human(p.bytes)) } td class="num" { (p.files) }
                        }
                    }
                    @for (u, p) in upgraded.iter().take(MAX_PACKAGE_ROWS) {
                        tr class="package-change" data-change="upgraded" data-name=(text(&u.name)) data-bytes=(p.bytes) {
                            td { "\u{2191} upgraded" } th scope="row" { code { (text(&u.name)) } }
                            td { code { (text(&u.from)) } " \u{2192} " code { (text(&u.to)) } }
                            td class="num" { (human(p.bytes)) } td class="num" { (p.files) }
                        }
                    }
                    @for p in layer.removed.iter().take(MAX_PACKAGE_ROWS) {
                        tr class="package-change" data-change="removed" data-name=(text(&p.name)) {
                            td { "\u{2212} removed" } th scope="row" { code { (text(&p.name)) } }
                            td { code { (text(&p.version)) } " (installed in layer " (p.layer) ")" }
                            td class="num" { "-" } td class="num" { "-" }
                        }
                    }
                }
            }
            (more(added.len(), "installed"))
            (more(upgraded.len(), "upgraded"))
            (more(layer.removed.len(), "removed"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::packages::{Manager, Upgrade};

    fn package(name: &str, version: &str, bytes: u64) -> Package {
        Package {
            manager: Manager::Apk,
            name: name.into(),
            version: version.into(),
            layer: 1,
            bytes,
            files: 1,
            hidden_bytes: 0,
            hidden_files: 0,
            declared_bytes: None,
            arch: String::new(),
            depends: Vec::new(),
            provides: Vec::new(),
        }
    }

    /// A database is untrusted: apk accepts names dpkg would refuse, and none of them may
    /// become markup, in the text or in an attribute.
    #[test]
    fn hostile_names_and_versions_are_text_and_long_lists_are_cut() {
        let evil = package("<script>x</script>", "1\"><b>", 10);
        let mut added: Vec<Package> = (0..MAX_PACKAGE_ROWS as u64 + 3)
            .map(|i| package(&format!("p{i}"), "1", i))
            .collect();
        added.push(evil.clone());
        let found = Packages {
            packages: added.clone(),
            layers: vec![LayerPackages {
                index: 1,
                added,
                removed: vec![],
                upgraded: vec![(
                    Upgrade {
                        manager: Manager::Apk,
                        name: evil.name.clone(),
                        from: "0'".into(),
                        to: "1\"><b>".into(),
                    },
                    evil,
                )],
            }],
            ..Packages::default()
        };
        let html = section(&found).into_string();
        assert!(!html.contains("<script") && !html.contains("<b>"), "{html}");
        assert!(html.contains(r#"data-name="&lt;script&gt;x&lt;/script&gt;""#));
        assert!(html.contains("<code>1&quot;&gt;&lt;b&gt;</code>"));
        assert_eq!(
            html.matches(r#"<tr class="package" "#).count(),
            MAX_PACKAGE_ROWS
        );
        assert!(html.contains(r#"<p class="more" data-more="4">and 4 more packages"#));
        // Biggest first: the largest generated package heads the table.
        let first = html.find(r#"<tr class="package" "#).unwrap();
        assert!(html[first..].starts_with(&format!(
            r#"<tr class="package" data-manager="apk" data-name="p{}""#,
            MAX_PACKAGE_ROWS + 2
        )));
        assert_eq!(section(&Packages::default()).into_string(), "");
    }
}
