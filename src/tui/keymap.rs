//! Keys to actions: dive's defaults, overridable per action from the config file.

use super::actions::{Action, Context};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key with its modifiers, as bindings name it (`ctrl+a`, `G`, `pgdn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub fn from_event(event: &KeyEvent) -> Key {
        let mut code = event.code;
        // Shift is in the character itself (`G`); BackTab is shift+tab.
        if let KeyCode::Char(c) = code {
            code = KeyCode::Char(if event.modifiers.contains(KeyModifiers::CONTROL) {
                c.to_ascii_lowercase()
            } else {
                c
            });
        }
        Key {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parse `ctrl+a`, `alt+x`, `shift+g`, `space`, `pgup`, `G`, `/`, `ctrl+slash`.
    pub fn parse(text: &str) -> Option<Key> {
        let text = text.trim();
        let mut key = Key {
            code: KeyCode::Null,
            ctrl: false,
            alt: false,
        };
        let mut shift = false;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl+") {
                key.ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt+") {
                key.alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("shift+") {
                shift = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        key.code = match rest.to_ascii_lowercase().as_str() {
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "esc" | "escape" => KeyCode::Esc,
            "enter" | "return" => KeyCode::Enter,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            "delete" => KeyCode::Delete,
            "slash" => KeyCode::Char('/'),
            _ => {
                let mut chars = rest.chars();
                let c = chars.next()?;
                if chars.next().is_some() {
                    return None;
                }
                let c = if key.ctrl {
                    c.to_ascii_lowercase()
                } else if shift {
                    c.to_ascii_uppercase()
                } else {
                    c
                };
                KeyCode::Char(c)
            }
        };
        Some(key)
    }

    pub fn display(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Tab => "tab".into(),
            KeyCode::BackTab => "backtab".into(),
            KeyCode::Esc => "esc".into(),
            KeyCode::Enter => "enter".into(),
            KeyCode::Up => "up".into(),
            KeyCode::Down => "down".into(),
            KeyCode::Left => "left".into(),
            KeyCode::Right => "right".into(),
            KeyCode::PageUp => "pgup".into(),
            KeyCode::PageDown => "pgdn".into(),
            KeyCode::Home => "home".into(),
            KeyCode::End => "end".into(),
            KeyCode::Backspace => "backspace".into(),
            KeyCode::Delete => "delete".into(),
            _ => "?".into(),
        };
        format!(
            "{}{}{base}",
            if self.ctrl { "ctrl+" } else { "" },
            if self.alt { "alt+" } else { "" }
        )
    }
}

/// A key name in a binding that [`Key::parse`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown key {0:?}")]
pub struct UnknownKey(pub String);

/// Bindings from keys to actions.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<(Key, Action)>,
}

impl Default for Keymap {
    fn default() -> Self {
        let mut bindings = Vec::new();
        for &action in Action::ALL {
            for key in action.info().keys.split(',').filter_map(Key::parse) {
                bindings.push((key, action));
            }
        }
        Keymap { bindings }
    }
}

impl Keymap {
    /// Replace an action's keys with `keys` (comma-separated, as dive's config writes them).
    pub fn bind(&mut self, action: Action, keys: &str) -> Result<(), UnknownKey> {
        let parsed: Vec<Key> = keys
            .split(',')
            .map(|k| Key::parse(k).ok_or_else(|| UnknownKey(k.to_string())))
            .collect::<Result<_, _>>()?;
        self.bindings.retain(|(_, a)| *a != action);
        self.bindings
            .extend(parsed.into_iter().map(|k| (k, action)));
        Ok(())
    }

    /// Apply `keybinding.*` settings; unknown names are reported, not fatal.
    pub fn configure<'a>(
        &mut self,
        settings: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, keys) in settings {
            match Action::from_name(name) {
                Some(action) => {
                    if let Err(e) = self.bind(action, keys) {
                        problems.push(format!("keybinding.{name}: {e}"));
                    }
                }
                None => problems.push(format!("keybinding.{name}: no such action")),
            }
        }
        problems
    }

    /// The action for a key in a context (the focused pane, an overlay or a prompt);
    /// the context's bindings win over global ones.
    pub fn lookup(&self, event: &KeyEvent, focus: Context) -> Option<Action> {
        let key = Key::from_event(event);
        let matching = || self.bindings.iter().filter(move |(k, _)| *k == key);
        matching()
            .find(|(_, a)| a.context() == focus)
            .or_else(|| matching().find(|(_, a)| a.context() == Context::Global))
            .map(|(_, a)| *a)
    }

    /// The action for a key in the first of `contexts` that binds it, else a global one:
    /// an overlay with keys of its own (the tour) still closes with the overlays' keys.
    pub fn lookup_in(&self, event: &KeyEvent, contexts: &[Context]) -> Option<Action> {
        let key = Key::from_event(event);
        contexts
            .iter()
            .find_map(|&context| {
                self.bindings
                    .iter()
                    .find(|(k, a)| *k == key && a.context() == context)
            })
            .map(|(_, a)| *a)
            .or_else(|| self.lookup(event, Context::Global))
    }

    /// The keys bound to an action, for help and hints.
    pub fn keys(&self, action: Action) -> String {
        let keys: Vec<String> = self
            .bindings
            .iter()
            .filter(|(_, a)| *a == action)
            .map(|(k, _)| k.display())
            .collect();
        keys.join(", ")
    }

    /// The first key bound to an action.
    pub fn first_key(&self, action: Action) -> String {
        self.bindings
            .iter()
            .find(|(_, a)| *a == action)
            .map_or_else(|| "-".into(), |(k, _)| k.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventKind;

    fn event(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent {
            code,
            modifiers,
            kind: KeyEventKind::Press,
            state: crossterm::event::KeyEventState::NONE,
        }
    }

    #[test]
    fn pane_bindings_win_over_global() {
        let keymap = Keymap::default();
        let ctrl_a = event(KeyCode::Char('a'), KeyModifiers::CONTROL);
        assert_eq!(
            keymap.lookup(&ctrl_a, Context::Layers),
            Some(Action::CompareAll)
        );
        assert_eq!(
            keymap.lookup(&ctrl_a, Context::Files),
            Some(Action::ToggleAdded)
        );
        let shift_g = event(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(keymap.lookup(&shift_g, Context::Files), Some(Action::End));
        let ctrl_space = event(KeyCode::Char(' '), KeyModifiers::CONTROL);
        assert_eq!(
            keymap.lookup(&ctrl_space, Context::Files),
            Some(Action::ToggleCollapseAll)
        );
    }

    #[test]
    fn config_replaces_an_actions_keys() {
        let mut keymap = Keymap::default();
        let problems = keymap.configure([("quit", "ctrl+q"), ("no-such", "x")]);
        assert_eq!(problems, vec!["keybinding.no-such: no such action"]);
        let q = event(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(keymap.lookup(&q, Context::Files), None);
        let ctrl_q = event(KeyCode::Char('q'), KeyModifiers::CONTROL);
        assert_eq!(keymap.lookup(&ctrl_q, Context::Files), Some(Action::Quit));
        assert_eq!(keymap.keys(Action::Quit), "ctrl+q");
    }
}
