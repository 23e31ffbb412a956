//! The optional config file, `$XDG_CONFIG_HOME/layerscope/config.yaml` (default
//! `~/.config/layerscope/config.yaml`). It accepts dive's `keybinding:` section:
//!
//! ```yaml
//! keybinding:
//!   quit: ctrl+c
//!   filter-files: ctrl+f, /
//!   toggle-modified-files: ctrl+m, 3
//! theme: light
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Why the explorer's settings cannot be used: a broken config file or an unknown theme.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", .path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    #[error("unknown theme {0:?} (choose dark, light or mono)")]
    UnknownTheme(String),
}

#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub struct ConfigFile {
    pub keybinding: BTreeMap<String, String>,
    pub theme: Option<String>,
    pub ascii: Option<bool>,
}

impl From<SettingsError> for crate::error::Error {
    fn from(error: SettingsError) -> Self {
        crate::error::Error::Settings(Box::new(error))
    }
}

impl ConfigFile {
    pub fn path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("layerscope").join("config.yaml"))
    }

    /// Read the config; a missing file is an empty config, a broken one an error.
    pub fn load() -> Result<ConfigFile, SettingsError> {
        let Some(path) = Self::path() else {
            return Ok(ConfigFile::default());
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text).map_err(|source| SettingsError::Parse {
                path,
                source: Box::new(source),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
            Err(source) => Err(SettingsError::Read { path, source }),
        }
    }

    pub fn parse(text: &str) -> Result<ConfigFile, serde_saphyr::Error> {
        if text.trim().is_empty() {
            return Ok(ConfigFile::default());
        }
        serde_saphyr::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dive_keybinding_section_parses() {
        let config =
            ConfigFile::parse("keybinding:\n  quit: ctrl+q\n  filter-files: ctrl+f, /\n").unwrap();
        assert_eq!(config.keybinding["quit"], "ctrl+q");
        assert_eq!(config.keybinding["filter-files"], "ctrl+f, /");
        assert!(config.theme.is_none());
    }
}
