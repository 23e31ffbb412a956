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
/// parsed in parallel, so each parse gets a look of its own.
pub trait ContentHook: fmt::Debug + Send + Sync {
    /// The look one parse takes over its layer's files, one file at a time.
    fn layer(&self) -> Box<dyn FileLook>;
}

/// One parse's look at its files. For each regular file in turn: [`FileLook::start`], then
/// (when it returned true) the file's bytes through [`FileLook::feed`], then
/// [`FileLook::finish`].
pub trait FileLook {
    /// Start on the regular file at `path` (absolute, raw bytes) of `size` bytes; false
    /// when neither its name nor its size makes it of interest.
    fn start(&mut self, path: &[u8], size: u64) -> bool;
    /// Whether this file's bytes are wanted at all (a look may decide from the name and
    /// size alone); when not, [`FileLook::feed`] is not called for it.
    fn wants_content(&self) -> bool {
        true
    }
    /// The next chunk of the file's content.
    fn feed(&mut self, chunk: &[u8]);
    /// What the look found in this file, if anything, once it has been read.
    fn finish(&mut self) -> Option<Found>;
}

/// Several hooks as one, for a load that wants them all (the explorer reads secrets and
/// package databases from the same parse). Each file goes to every hook that wants it.
#[derive(Debug)]
pub struct Hooks(pub Vec<Arc<dyn ContentHook>>);

/// What several hooks found in one file, when more than one found something.
struct Several(Vec<Found>);

impl ContentHook for Hooks {
    fn layer(&self) -> Box<dyn FileLook> {
        Box::new(Looks {
            looks: self.0.iter().map(|hook| (hook.layer(), false)).collect(),
        })
    }
}

/// Each hook's look, and whether it took the current file.
struct Looks {
    looks: Vec<(Box<dyn FileLook>, bool)>,
}

impl FileLook for Looks {
    fn start(&mut self, path: &[u8], size: u64) -> bool {
        let mut any = false;
        for (look, taken) in &mut self.looks {
            *taken = look.start(path, size);
            any |= *taken;
        }
        any
    }

    fn wants_content(&self) -> bool {
        self.looks
            .iter()
            .any(|(look, taken)| *taken && look.wants_content())
    }

    fn feed(&mut self, chunk: &[u8]) {
        for (look, taken) in &mut self.looks {
            if *taken && look.wants_content() {
                look.feed(chunk);
            }
        }
    }

    fn finish(&mut self) -> Option<Found> {
        together(
            self.looks
                .iter_mut()
                .filter(|(_, taken)| *taken)
                .filter_map(|(look, _)| look.finish())
                .collect(),
        )
    }
}

/// What several looks found in one file as one [`Found`], as [`Hooks`] keeps it (a store
/// that kept each hook's part apart puts them back together with this).
pub fn together(mut found: Vec<Found>) -> Option<Found> {
    match found.len() {
        0 => None,
        1 => found.pop(),
        _ => Some(Arc::new(Several(found))),
    }
}

/// What one hook found in a file, as the type it made, whether it ran alone or beside
/// others in [`Hooks`].
pub fn found_as<T: Any>(found: &Found) -> impl Iterator<Item = &T> {
    let several = found.downcast_ref::<Several>().map(|s| s.0.as_slice());
    found.downcast_ref::<T>().into_iter().chain(
        several
            .into_iter()
            .flatten()
            .filter_map(|f| f.downcast_ref::<T>()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hook that counts the bytes of files whose names start with its prefix.
    #[derive(Debug)]
    struct Count(&'static [u8], u8);

    struct CountLook(&'static [u8], u8, Option<usize>);

    impl ContentHook for Count {
        fn layer(&self) -> Box<dyn FileLook> {
            Box::new(CountLook(self.0, self.1, None))
        }
    }

    impl FileLook for CountLook {
        fn start(&mut self, path: &[u8], _size: u64) -> bool {
            self.2 = path.starts_with(self.0).then_some(0);
            self.2.is_some()
        }
        fn feed(&mut self, chunk: &[u8]) {
            *self.2.as_mut().expect("fed only after a true start") += chunk.len();
        }
        fn finish(&mut self) -> Option<Found> {
            let tag = self.1;
            self.2.take().map(|n| Arc::new((tag, n)) as Found)
        }
    }

    fn look(hooks: &Hooks, path: &[u8], content: &[u8]) -> Option<Found> {
        let mut look = hooks.layer();
        if !look.start(path, content.len() as u64) {
            return look.finish();
        }
        if look.wants_content() {
            look.feed(content);
        }
        look.finish()
    }

    #[test]
    fn several_hooks_each_read_back_their_own_finds() {
        let hooks = Hooks(vec![Arc::new(Count(b"/a", 1)), Arc::new(Count(b"/ab", 2))]);
        let found = |path: &[u8]| {
            look(&hooks, path, b"12345")
                .map(|f| found_as::<(u8, usize)>(&f).copied().collect::<Vec<_>>())
                .unwrap_or_default()
        };
        // Both took /abc, one took /a, none took /b; each was fed the bytes once.
        assert_eq!(found(b"/abc"), vec![(1, 5), (2, 5)]);
        assert_eq!(found(b"/a"), vec![(1, 5)]);
        assert!(found(b"/b").is_empty());
    }
}
