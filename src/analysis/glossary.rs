//! The teaching texts' definitions, each stated once, so that the tour, `e` and `explain`
//! say the same thing and a test pins each sentence against its source.

/// What a whiteout does, after the OCI image-spec (`layer.md`, "Whiteouts"): it applies
/// only to what the layers *below* it hold; a later layer may create the path again.
pub const WHITEOUT_EFFECT: &str = "an empty entry that deletes the path from the layers \
     below it (a layer above may create it again)";

#[cfg(test)]
mod tests {
    use super::*;

    /// OCI image-spec, layer.md, "Whiteouts": "Whiteout files MUST only apply to resources
    /// in lower/parent layers." A wording change here is a deliberate act.
    #[test]
    fn a_whiteout_deletes_from_the_layers_below() {
        assert_eq!(
            WHITEOUT_EFFECT,
            "an empty entry that deletes the path from the layers below it \
             (a layer above may create it again)"
        );
        assert!(!WHITEOUT_EFFECT.contains("every layer above"));
    }
}
