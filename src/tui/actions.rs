//! Everything a key can do. Keys map to actions in [`super::keymap`]; components apply
//! them. One table ([`Action::info`]) drives the keymap, the help overlay and the hints.

/// Where a binding applies. A pane's bindings win over global ones, so one key can mean
/// two things: dive binds ctrl+a to "aggregated" in the layer pane and to "show added" in
/// the file pane. Overlays and prompts have their own contexts, so that `q` closes an
/// overlay and is typed in a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    Global,
    Layers,
    Files,
    /// A scrolling overlay: help, path history, file view and diff.
    Overlay,
    /// A line being typed: the filter, the extraction destination.
    Input,
    /// A yes/no question.
    Confirm,
    /// The guided tour's overlay (its other keys are the overlays').
    Tour,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    ToggleView,
    Filter,
    CloseFilter,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Help,
    CompareLayer,
    CompareAll,
    MarkRange,
    ToggleCollapseDir,
    ToggleCollapseAll,
    ToggleAdded,
    ToggleRemoved,
    ToggleModified,
    ToggleUnchanged,
    ToggleAttributes,
    ToggleSort,
    PathHistory,
    ViewFile,
    DiffFile,
    Extract,
    ToggleDockerfile,
    ExplainLayer,
    ExplainPath,
    Tour,
    TourNext,
    TourPrevious,
    ContainerWrite,
    ContainerDelete,
    ContainerCreate,
    ContainerRemove,
    CloseOverlay,
    Confirm,
    Cancel,
    DeleteChar,
    Yes,
    No,
}

/// An action's configuration name (dive's `keybinding.*` name where dive has the action),
/// context, default keys and help text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionInfo {
    pub name: &'static str,
    pub context: Context,
    pub keys: &'static str,
    pub help: &'static str,
}

const fn info(
    name: &'static str,
    context: Context,
    keys: &'static str,
    help: &'static str,
) -> ActionInfo {
    ActionInfo {
        name,
        context,
        keys,
        help,
    }
}

impl Action {
    /// Every action, in the order help lists them.
    pub const ALL: &'static [Action] = &[
        Action::Quit,
        Action::ToggleView,
        Action::Filter,
        Action::CloseFilter,
        Action::Up,
        Action::Down,
        Action::Left,
        Action::Right,
        Action::PageUp,
        Action::PageDown,
        Action::Home,
        Action::End,
        Action::Help,
        Action::CompareLayer,
        Action::CompareAll,
        Action::MarkRange,
        Action::ToggleCollapseDir,
        Action::ToggleCollapseAll,
        Action::ToggleAdded,
        Action::ToggleRemoved,
        Action::ToggleModified,
        Action::ToggleUnchanged,
        Action::ToggleAttributes,
        Action::ToggleSort,
        Action::PathHistory,
        Action::ViewFile,
        Action::DiffFile,
        Action::Extract,
        Action::ToggleDockerfile,
        Action::ExplainLayer,
        Action::ExplainPath,
        Action::Tour,
        Action::TourNext,
        Action::TourPrevious,
        Action::ContainerWrite,
        Action::ContainerDelete,
        Action::ContainerCreate,
        Action::ContainerRemove,
        Action::CloseOverlay,
        Action::Confirm,
        Action::Cancel,
        Action::DeleteChar,
        Action::Yes,
        Action::No,
    ];

    /// The table entry of an action; a new action does not compile without one.
    pub const fn info(self) -> ActionInfo {
        match self {
            Action::Quit => info("quit", Context::Global, "ctrl+c, q", "quit"),
            Action::ToggleView => info("toggle-view", Context::Global, "tab", "switch pane"),
            Action::Filter => info(
                "filter-files",
                Context::Global,
                "ctrl+f, /",
                "filter paths (substring, regex, or pkg:NAME for one package's files)",
            ),
            Action::CloseFilter => info(
                "close-filter-files",
                Context::Global,
                "esc",
                "clear the filter, else the range mark",
            ),
            Action::Up => info("up", Context::Global, "up, k", "move up"),
            Action::Down => info("down", Context::Global, "down, j", "move down"),
            Action::Left => info(
                "left",
                Context::Global,
                "left, h",
                "collapse directory / go to parent",
            ),
            Action::Right => info("right", Context::Global, "right, l", "expand directory"),
            Action::PageUp => info("page-up", Context::Global, "pgup, u", "page up"),
            Action::PageDown => info("page-down", Context::Global, "pgdn, d", "page down"),
            Action::Home => info("home", Context::Global, "home, g", "first row"),
            Action::End => info("end", Context::Global, "end, G", "last row"),
            Action::Help => info("help", Context::Global, "?", "this help"),
            Action::CompareLayer => info(
                "compare-layer",
                Context::Layers,
                "ctrl+l",
                "show the selected layer's changes",
            ),
            Action::CompareAll => info(
                "compare-all",
                Context::Layers,
                "ctrl+a",
                "show changes of all layers up to the selected one",
            ),
            Action::MarkRange => info(
                "mark-range",
                Context::Layers,
                "m",
                "mark layer A; then select B to compare A..B (m again clears)",
            ),
            Action::ToggleCollapseDir => info(
                "toggle-collapse-dir",
                Context::Files,
                "space",
                "collapse/expand directory",
            ),
            Action::ToggleCollapseAll => info(
                "toggle-collapse-all-dir",
                Context::Files,
                "ctrl+space",
                "collapse/expand all directories",
            ),
            Action::ToggleAdded => info(
                "toggle-added-files",
                Context::Files,
                "ctrl+a, 1",
                "show/hide added paths",
            ),
            Action::ToggleRemoved => info(
                "toggle-removed-files",
                Context::Files,
                "ctrl+r, 2",
                "show/hide removed paths",
            ),
            Action::ToggleModified => info(
                "toggle-modified-files",
                Context::Files,
                "ctrl+m, 3",
                "show/hide modified paths (ctrl+m is Enter in most terminals: use 3)",
            ),
            Action::ToggleUnchanged => info(
                "toggle-unmodified-files",
                Context::Files,
                "ctrl+u, 4",
                "show/hide unchanged paths",
            ),
            Action::ToggleAttributes => info(
                "toggle-filetree-attributes",
                Context::Files,
                "ctrl+b",
                "show/hide permissions, owner, size",
            ),
            Action::ToggleSort => info(
                "toggle-sort-order",
                Context::Files,
                "ctrl+o",
                "sort by name / size",
            ),
            Action::PathHistory => info(
                "path-history",
                Context::Files,
                "enter, p",
                "every layer that touched the path",
            ),
            Action::ViewFile => info(
                "view-file",
                Context::Files,
                "v",
                "view the file at this layer",
            ),
            Action::DiffFile => info(
                "diff-file",
                Context::Files,
                "D",
                "diff against the previous version",
            ),
            Action::Extract => info(
                "extract-file",
                Context::Files,
                "x",
                "extract file or directory",
            ),
            Action::ToggleDockerfile => info(
                "toggle-dockerfile",
                Context::Global,
                "f",
                "show/hide the Dockerfile pane (--dockerfile)",
            ),
            Action::ExplainLayer => info(
                "explain-layer",
                Context::Layers,
                "e",
                "explain the selected layer in plain words",
            ),
            Action::ExplainPath => info(
                "explain-path",
                Context::Files,
                "e",
                "explain the selected path in plain words",
            ),
            Action::Tour => info(
                "tour",
                Context::Global,
                "t",
                "the guided tour of layered storage (layerscope demo)",
            ),
            Action::TourNext => info("tour-next", Context::Tour, "n, right, l", "next step"),
            Action::TourPrevious => info(
                "tour-previous",
                Context::Tour,
                "p, left, h",
                "previous step",
            ),
            Action::ContainerWrite => info(
                "container-write",
                Context::Tour,
                "w",
                "the tour's container: write to the selected file",
            ),
            Action::ContainerDelete => info(
                "container-delete",
                Context::Tour,
                "x",
                "the tour's container: delete the selected path",
            ),
            Action::ContainerCreate => info(
                "container-create",
                Context::Tour,
                "c",
                "the tour's container: create a new file",
            ),
            Action::ContainerRemove => info(
                "container-remove",
                Context::Tour,
                "r",
                "the tour's container: remove it, and its layer",
            ),
            Action::CloseOverlay => info(
                "close-overlay",
                Context::Overlay,
                "esc, q, enter",
                "close the overlay",
            ),
            Action::Confirm => info("confirm", Context::Input, "enter", "accept the typed text"),
            Action::Cancel => info(
                "cancel",
                Context::Input,
                "esc",
                "stop typing (the filter is cleared)",
            ),
            Action::DeleteChar => info(
                "delete-char",
                Context::Input,
                "backspace",
                "delete the last character",
            ),
            Action::Yes => info("yes", Context::Confirm, "y, Y", "answer yes"),
            Action::No => info("no", Context::Confirm, "n, N, esc, q", "answer no"),
        }
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn context(self) -> Context {
        self.info().context
    }

    pub fn help(self) -> &'static str {
        self.info().help
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Self::ALL.iter().copied().find(|a| a.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_listed_once_and_found_by_name() {
        for (i, action) in Action::ALL.iter().enumerate() {
            assert!(!Action::ALL[..i].contains(action), "{action:?} twice");
            assert_eq!(Action::from_name(action.name()), Some(*action));
            assert!(
                !action.info().keys.is_empty(),
                "{action:?} has no default key"
            );
        }
    }
}
