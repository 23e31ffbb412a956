//! Image formats, manifests, configs, history and platform choice.
pub mod history;
