//! Command-line definitions (clap derive). `main.rs` parses these and calls
//! [`crate::commands::run`].

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Look inside container images: layers, the merged filesystem, wasted space.
///
/// IMAGE is a `docker save` tarball (any Docker version; plain, gzip or zstd), an
/// oci-archive tarball, an OCI image-layout directory, or `-` for stdin. The format is
/// detected. Without a subcommand, layerscope opens the interactive explorer (or runs
/// `ci` when the CI environment variable is true, as dive does).
#[derive(Debug, Parser)]
#[command(name = "layerscope", version, about, long_about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Image to explore (when no subcommand is given).
    pub image: Option<String>,

    #[command(flatten)]
    pub global: GlobalArgs,
}

const EXAMPLES: &str = "\
Examples:
  layerscope image.tar                      explore interactively
  layerscope inspect image.tar              layers, sizes and instructions
  layerscope ls image.tar --layer 2 --long  the filesystem after layer 2
  layerscope changes image.tar --layer 3    what layer 3 added, changed, deleted
  layerscope ci image.tar                   efficiency score and rules; exit code gates CI
  docker save app | layerscope inspect -    read from stdin

Exit codes: 0 success, 1 a CI rule failed, 2 bad input or usage, 130 interrupted.";

/// Options that apply to every subcommand.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Platform to open in a multi-platform image, as os/arch[/variant] (e.g. linux/arm64).
    /// Default: the host's platform if its blobs are present, else the only complete one.
    #[arg(long, global = true, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,

    /// Image to open when the archive holds several (`docker save a b`): a tag or a
    /// 0-based index. Default: the first.
    #[arg(
        long = "image",
        id = "select_image",
        global = true,
        value_name = "NAME|INDEX"
    )]
    pub select_image: Option<String>,

    /// Skip sha256 verification of layer blobs and diff_ids (faster on huge images).
    #[arg(long, global = true)]
    pub no_verify: bool,

    /// Show the chain of causes with errors.
    #[arg(long, short, global = true)]
    pub verbose: bool,

    /// Hide the progress bar.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the image's format, platform, sizes and one row per layer.
    Inspect(InspectArgs),
    /// List the merged filesystem after a layer, sorted bytewise by path.
    Ls(LsArgs),
    /// List one layer's changes, `docker diff` style (A added, C changed, D deleted).
    Changes(ChangesArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Image file, OCI layout directory, or - for stdin.
    pub image: String,
    /// Output format. The JSON schema is versioned (`schema` field) and documented in
    /// docs/inspect-json-schema.md.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Image file, OCI layout directory, or - for stdin.
    pub image: String,
    /// Show the filesystem as it stands after this layer (0-based). Default: the top layer.
    #[arg(long, value_name = "N")]
    pub layer: Option<usize>,
    /// Print `<mode> <uid>:<gid> <size> /<path>[ -> <target>]`, the reference format.
    #[arg(long, short)]
    pub long: bool,
}

#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// Image file, OCI layout directory, or - for stdin.
    pub image: String,
    /// The layer whose changes to list (0-based).
    #[arg(long, value_name = "N")]
    pub layer: usize,
}
