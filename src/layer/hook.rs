//! A look at file contents while the pass streams them past. The pass reads every regular
//! file's bytes once, to hash them; whoever else wants those bytes (the secret rules, a
//! package database reader) hooks in here instead of reading the layer again. The pass
//! knows none of them by name: it asks the hook about each file, feeds it the file's
//! bytes, and keeps what the hook found by the file's record. The load hands that on by
//! entry, and the hook's owner reads it back as its own type.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// What a look found in one file. Opaque to the pass and the load; its hook's owner
/// downcasts it to the type it made.
pub type Found = Arc<dyn Any + Send + Sync>;

/// Something that looks at file contents during the parse. It is shared by the layers
/// parsed in parallel, so each file gets a look of its own.
pub trait ContentHook: fmt::Debug + Send + Sync {
    /// A look at the regular file at `path` (absolute, raw bytes) of `size` bytes, or
    /// `None` when neither its name nor its size makes it of interest.
    fn start(&self, path: &[u8], size: u64) -> Option<Box<dyn FileLook>>;
}

/// One file's look, fed the file's bytes in order.
pub trait FileLook {
    /// Whether the bytes are wanted at all (a look may decide from the name and size
    /// alone); when not, [`FileLook::feed`] is never called.
    fn wants_content(&self) -> bool {
        true
    }
    /// The next chunk of the file's content.
    fn feed(&mut self, chunk: &[u8]);
    /// What the look found, if anything, once the file has been read.
    fn finish(self: Box<Self>) -> Option<Found>;
}
