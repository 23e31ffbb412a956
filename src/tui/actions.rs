//! Everything a key can do. Keys map to actions in [`super::keymap`]; the app applies them.

/// Where a binding applies: everywhere, or only when a pane has the focus. dive binds
/// ctrl+a to "aggregated" in the layer pane and to "toggle added" in the file pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    Global,
    Layers,
    Files,
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
}

impl Action {
    /// Every action with its configuration name (dive's `keybinding.*` names where dive
    /// has the action), context, default keys and help text.
    pub const ALL: &'static [(Action, &'static str, Context, &'static str, &'static str)] = &[
        (Action::Quit, "quit", Context::Global, "ctrl+c, q", "quit"),
        (
            Action::ToggleView,
            "toggle-view",
            Context::Global,
            "tab",
            "switch pane",
        ),
        (
            Action::Filter,
            "filter-files",
            Context::Global,
            "ctrl+f, /",
            "filter paths (substring or regex)",
        ),
        (
            Action::CloseFilter,
            "close-filter-files",
            Context::Global,
            "esc",
            "close filter or overlay",
        ),
        (Action::Up, "up", Context::Global, "up, k", "move up"),
        (
            Action::Down,
            "down",
            Context::Global,
            "down, j",
            "move down",
        ),
        (
            Action::Left,
            "left",
            Context::Global,
            "left, h",
            "collapse directory / go to parent",
        ),
        (
            Action::Right,
            "right",
            Context::Global,
            "right, l",
            "expand directory",
        ),
        (
            Action::PageUp,
            "page-up",
            Context::Global,
            "pgup, u",
            "page up",
        ),
        (
            Action::PageDown,
            "page-down",
            Context::Global,
            "pgdn, d",
            "page down",
        ),
        (
            Action::Home,
            "home",
            Context::Global,
            "home, g",
            "first row",
        ),
        (Action::End, "end", Context::Global, "end, G", "last row"),
        (Action::Help, "help", Context::Global, "?", "this help"),
        (
            Action::CompareLayer,
            "compare-layer",
            Context::Layers,
            "ctrl+l",
            "show the selected layer's changes",
        ),
        (
            Action::CompareAll,
            "compare-all",
            Context::Layers,
            "ctrl+a",
            "show changes of all layers up to the selected one",
        ),
        (
            Action::MarkRange,
            "mark-range",
            Context::Layers,
            "m",
            "mark layer A; then select B to compare A..B (m again clears)",
        ),
        (
            Action::ToggleCollapseDir,
            "toggle-collapse-dir",
            Context::Files,
            "space",
            "collapse/expand directory",
        ),
        (
            Action::ToggleCollapseAll,
            "toggle-collapse-all-dir",
            Context::Files,
            "ctrl+space",
            "collapse/expand all directories",
        ),
        (
            Action::ToggleAdded,
            "toggle-added-files",
            Context::Files,
            "ctrl+a, 1",
            "show/hide added paths",
        ),
        (
            Action::ToggleRemoved,
            "toggle-removed-files",
            Context::Files,
            "ctrl+r, 2",
            "show/hide removed paths",
        ),
        (
            Action::ToggleModified,
            "toggle-modified-files",
            Context::Files,
            "ctrl+m, 3",
            "show/hide modified paths (ctrl+m is Enter in most terminals: use 3)",
        ),
        (
            Action::ToggleUnchanged,
            "toggle-unmodified-files",
            Context::Files,
            "ctrl+u, 4",
            "show/hide unchanged paths",
        ),
        (
            Action::ToggleAttributes,
            "toggle-filetree-attributes",
            Context::Files,
            "ctrl+b",
            "show/hide permissions, owner, size",
        ),
        (
            Action::ToggleSort,
            "toggle-sort-order",
            Context::Files,
            "ctrl+o",
            "sort by name / size",
        ),
        (
            Action::PathHistory,
            "path-history",
            Context::Files,
            "enter, p",
            "every layer that touched the path",
        ),
        (
            Action::ViewFile,
            "view-file",
            Context::Files,
            "v",
            "view the file at this layer",
        ),
        (
            Action::DiffFile,
            "diff-file",
            Context::Files,
            "D",
            "diff against the previous version",
        ),
        (
            Action::Extract,
            "extract-file",
            Context::Files,
            "x",
            "extract file or directory",
        ),
    ];

    pub fn name(self) -> &'static str {
        Self::info(self).1
    }

    pub fn context(self) -> Context {
        Self::info(self).2
    }

    pub fn help(self) -> &'static str {
        Self::info(self).4
    }

    fn info(self) -> &'static (Action, &'static str, Context, &'static str, &'static str) {
        Self::ALL
            .iter()
            .find(|entry| entry.0 == self)
            .unwrap_or(&Self::ALL[0])
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Self::ALL.iter().find(|e| e.1 == name).map(|e| e.0)
    }
}
