//! layerscope: look inside container images.
pub mod ci;
pub mod image;
