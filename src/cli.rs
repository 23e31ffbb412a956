//! Command-line definitions (clap derive). `main.rs` parses these and calls
//! [`crate::commands::run`].

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Look inside container images: layers, the merged filesystem, wasted space.
///
/// IMAGE is where the image lives:
///
///   PATH                    an existing file or directory, always opened as a file: a
///                           `docker save` tarball (any Docker version; plain, gzip or
///                           zstd), an oci-archive tarball or an OCI image-layout
///                           directory (the format is detected); `-` reads stdin
///   docker://NAME           the Docker engine's image (also skopeo's docker-daemon:NAME)
///   podman://NAME           Podman's image
///   docker-archive://PATH   a `docker save` tarball
///   oci://DIR               an OCI image-layout directory
///   oci-archive://PATH      an oci-archive tarball
///   registry://REF          pulled from a registry directly, no daemon needed
///   REF                     a bare reference (nginx, nginx:1.27, ghcr.io/org/app@sha256:…):
///                           a local engine's image if one answers and has it, else the
///                           registry's; a note on stderr says which
///
/// References are normalised as Docker does: docker.io/library/ is implied and the tag
/// defaults to latest. Note: skopeo's `docker://` means a registry; layerscope follows dive,
/// where `docker://` is the Docker engine; use `registry://` for a registry.
///
/// Without a subcommand, layerscope opens the interactive explorer (or runs `ci` when the
/// CI environment variable is true, as dive does).
#[derive(Debug, Parser)]
#[command(
    name = "layerscope",
    version = VERSION,
    about,
    long_about,
    verbatim_doc_comment,
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Image to explore (when no subcommand is given).
    pub image: Option<String>,

    #[command(flatten)]
    pub global: GlobalArgs,

    /// Explorer colours: dark, light or mono. `NO_COLOR` forces mono.
    #[arg(long, value_name = "THEME")]
    pub theme: Option<String>,

    /// Draw the explorer with ASCII only (no box-drawing characters or arrows).
    #[arg(long)]
    pub ascii: bool,

    /// Lay this Dockerfile beside the explorer's layers: each layer row shows the line
    /// that made it, and `f` opens the Dockerfile pane, where moving through the lines
    /// selects their layers.
    #[arg(long, value_name = "FILE")]
    pub dockerfile: Option<std::path::PathBuf>,
}

/// `--version` also names the gzip inflater the build chose (build.rs), for bug reports.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ngzip: ",
    env!("LAYERSCOPE_INFLATER")
);

const EXAMPLES: &str = "\
Examples:
  layerscope image.tar                      explore interactively
  layerscope image.tar --dockerfile Dockerfile   the same, each layer beside its line
  layerscope inspect image.tar              layers, sizes and instructions
  layerscope ls image.tar --layer 2 --long  the filesystem after layer 2
  layerscope changes image.tar --layer 3    what layer 3 added, changed, deleted
  layerscope ci image.tar                   efficiency score and rules; exit code gates CI
  layerscope diff v1.tar v2.tar             shared layers and changed paths of two images
  layerscope secrets image.tar              keys and tokens in any layer, deleted ones too
  layerscope ci image.tar --dockerfile Dockerfile   the same, with each layer's Dockerfile line
  layerscope demo                           explore the built-in demo images
  layerscope explain image.tar --dockerfile Dockerfile --format markdown
                                            the layers in plain words, with advice
  docker save app | layerscope inspect -    read from stdin
  layerscope ci registry://ghcr.io/org/app:1.2   pull from a registry, no daemon
  layerscope nginx:1.27                      the local engine's, else Docker Hub's
  layerscope cache prune --older-than 7d     clean the registry blob cache

Registry credentials are looked up as the container tools do: --creds, then
REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, then $DOCKER_CONFIG/config.json
or ~/.docker/config.json (auths, credsStore, credHelpers), then anonymous.

Exit codes: 0 success, 1 a CI rule failed, 2 bad input or usage, 130 interrupted.";

/// Options that apply to every subcommand.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Platform to open in a multi-platform image, as os/arch[/variant] (e.g. linux/arm64).
    /// Default: the host's platform if its blobs are present, else the only complete one.
    #[arg(long, global = true, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,

    /// Image to open when the archive holds several (`docker save a b`): a tag or a
    /// 0-based index. Default: the first. With `diff`, `A:NAME` and `B:NAME` choose for
    /// each side (the option may then be given twice).
    #[arg(
        long = "image",
        id = "select_image",
        global = true,
        value_name = "NAME|INDEX"
    )]
    pub select_image: Vec<String>,

    /// Skip sha256 verification of layer blobs and diff_ids (faster on huge images).
    #[arg(long, global = true)]
    pub no_verify: bool,

    /// Show the chain of causes with errors.
    #[arg(long, short, global = true)]
    pub verbose: bool,

    /// Hide the progress bar.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// Where IMAGE lives, instead of a prefix (as dive's --source): docker, podman,
    /// docker-archive, oci, oci-archive or registry.
    #[arg(long, global = true, value_enum, value_name = "SOURCE")]
    pub source: Option<crate::source::spec::SourceKind>,

    /// Registry credentials, USER or USER:PASS (asked for on the terminal when PASS is
    /// missing). Used before any auth file.
    #[arg(long, global = true, value_name = "USER[:PASS]")]
    pub creds: Option<String>,

    /// Speak plain HTTP to this registry host (repeatable). Loopback hosts (localhost,
    /// 127.0.0.0/8) always may; every other host gets verified HTTPS.
    #[arg(long, global = true, value_name = "HOST[:PORT]")]
    pub insecure_registry: Vec<String>,

    /// Keep no registry blobs on disk ($XDG_CACHE_HOME/layerscope/blobs is the cache).
    #[arg(long, global = true)]
    pub no_cache: bool,
}

impl GlobalArgs {
    /// The one `--image` choice of a single-image command.
    pub fn image_choice(&self) -> crate::Result<Option<String>> {
        match self.select_image.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.clone())),
            _ => Err(crate::Error::Usage(
                "--image was given more than once; only `diff` takes two (A:NAME and B:NAME)"
                    .into(),
            )),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the image's format, platform, sizes and one row per layer.
    Inspect(InspectArgs),
    /// List the merged filesystem after a layer, sorted bytewise by path.
    Ls(LsArgs),
    /// List one layer's changes, `docker diff` style (A added, C changed, D deleted).
    Changes(ChangesArgs),
    /// Score the image's efficiency, explain its wasted bytes and evaluate rules: the exit
    /// code is 0 when every rule passes, 1 when one fails, 2 on bad input or config.
    ///
    /// Rules come from --config FILE, else `.layerscope-ci.yaml`, else dive's `.dive-ci`
    /// in the current directory, else dive's defaults; flags override them. Thresholds
    /// accept `disabled`/`off`/`false`; sizes accept `20MB`, `1.5 GiB` or `20000`.
    ///
    /// The `secrets` rule is on by default: any secret in any layer (a file a later layer
    /// deleted included) or in the config fails the build. `secrets: disabled` in the
    /// config (or `--secrets disabled`) turns it off, and the layers are then not scanned.
    Ci(Box<CiArgs>),
    /// Compare two images: the layers they share (by diff_id, so a gzip layer and its zstd
    /// twin are one layer), where their stacks part, and every path of the final
    /// filesystem that B added (A), changed (C) or deleted (D), with size deltas.
    ///
    /// A and B are anything layerscope opens. `--platform` applies to both; `--image A:NAME`
    /// and `--image B:NAME` pick within multi-image archives. Layers both images hold are
    /// read once. Exit code: 0, or 1 with --fail-on-growth when B grew by more than
    /// allowed, or 2 on bad input.
    #[command(after_help = DIFF_EXAMPLES)]
    Diff(DiffArgs),
    /// Find secrets in every layer, including files a later layer deleted: their bytes are
    /// still in the earlier layer's tar, so every pull ships them. Also scans the config's
    /// Env, Labels and history. Exit code: 0 when nothing is found, 1 when something is,
    /// 2 on bad input. A secret is never printed: only its rule and a redacted preview.
    Secrets(SecretsArgs),
    /// Open the demo images built into layerscope: real builds of small Dockerfiles (a
    /// multi-stage hello-world, the five-layer example, a wasteful Dockerfile and its fixed
    /// twin). Their sources are in the repository's demo/ directory.
    Demo(DemoArgs),
    /// Explain the image layer by layer in plain words: what each layer adds, changes and
    /// deletes, its whiteouts and what they hide, what it costs, and what to change (hints
    /// with the bytes they save).
    ///
    /// Made for class notes and code review: `--format markdown` renders on GitHub.
    Explain(ExplainArgs),
    /// Manage the registry blob cache ($XDG_CACHE_HOME/layerscope/blobs/sha256).
    Cache(CacheArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum SecretsFormat {
    #[default]
    Text,
    /// Versioned schema (`layerscope.secrets/v1`), documented in docs/secrets-json-schema.md.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
}

#[derive(Debug, Args)]
pub struct SecretsArgs {
    /// Image file, OCI layout directory, or - for stdin.
    pub image: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: SecretsFormat,
    /// Leave paths matching GLOB out (repeatable), as `ci --exclude` does.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// The Dockerfile the image was built from: each finding names the line that added the
    /// file (or set the ENV), and SARIF locates it on that line, where code scanning shows it.
    #[arg(long, value_name = "FILE")]
    pub dockerfile: Option<std::path::PathBuf>,
}

const DIFF_EXAMPLES: &str = "\
Examples:
  layerscope diff app-v1.tar app-v2.tar                 shared layers, changes, summary
  layerscope diff v1.tar v2.tar --long                  with mode, owner and link changes
  layerscope diff v1.tar v2.tar --format markdown       for a pull-request comment
  layerscope diff v1.tar v2.tar --fail-on-growth 5MB    exit 1 when B is 5 MB bigger
  layerscope diff v1.tar v2.tar --tui                   side by side in the terminal";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DiffFormat {
    /// Paths sorted bytewise with their size deltas, then a summary.
    #[default]
    Text,
    /// Versioned schema (`layerscope.diff/v1`), documented in docs/diff-json-schema.md.
    Json,
    /// For a pull-request comment.
    Markdown,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The image before: a file, OCI layout directory, or - for stdin.
    pub a: String,
    /// The image after.
    pub b: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: DiffFormat,
    /// Also show the mode, owner and symlink target on both sides of every change.
    #[arg(long, short)]
    pub long: bool,
    /// Exit 1 when B's final filesystem is larger than A's by more than SIZE
    /// (`20MB`, `1.5 GiB` or a byte count).
    #[arg(long, value_name = "SIZE")]
    pub fail_on_growth: Option<String>,
    /// Open the comparison in the terminal instead of printing it: A's and B's layers in
    /// two columns, the bottom layers they share (same diff_id) joined into one row each,
    /// and both final filesystems merged into one tree, each path marked as B changed it
    /// (A added, C changed, D deleted) with its size delta. The explorer's keys work:
    /// arrows or j/k move, tab switches pane, space or enter collapses, ctrl+f filters,
    /// 1-4 show/hide added, deleted, changed and unchanged paths, ? lists every key, q
    /// quits. Not with --format or --fail-on-growth, which are for output and exit codes.
    #[arg(long, conflicts_with_all = ["format", "fail_on_growth"])]
    pub tui: bool,
}

#[derive(Debug, Args, Default)]
pub struct DemoArgs {
    /// Which demo image to open: hello, layers, wasteful, fixed or opaque. Without one,
    /// the guided tour starts at its first step; with one, at its first step on NAME.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Write every demo archive (and its Dockerfile) to DIR instead, to open with other
    /// tools.
    #[arg(long, value_name = "DIR")]
    pub export: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub command: CacheCommand,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Delete cached blobs: all of them, or those unused for longer than --older-than.
    Prune {
        /// Only blobs last used longer ago than this: 30m, 12h, 7d, 2w.
        #[arg(long, value_name = "DURATION")]
        older_than: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ScoreArg {
    /// layerscope's score: every hidden byte counts once, kept copies never do.
    #[default]
    Layerscope,
    /// dive 0.13.1's score, reproduced exactly, for thresholds set with dive.
    Dive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum CiFormat {
    #[default]
    Text,
    Json,
    Junit,
    Github,
    Markdown,
    /// SARIF 2.1.0 for code scanning: secrets, failed rules and hints as results, on their
    /// Dockerfile lines with --dockerfile.
    Sarif,
}

#[derive(Debug, Args, Default)]
pub struct CiArgs {
    /// Image: a file, directory, - for stdin, or a source form (see layerscope --help).
    pub image: String,
    /// Rules file (YAML; dive's `.dive-ci` format is accepted).
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Which efficiency score the rules judge.
    #[arg(long, value_enum, default_value_t)]
    pub score: ScoreArg,
    /// Report format on stdout (or in --output).
    #[arg(long, value_enum, default_value_t)]
    pub format: CiFormat,
    /// Write the report in --format to FILE; a text summary still goes to stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Leave paths matching GLOB out of the analysis (repeatable; adds to the config's).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// How many bottom layers form the base image. Default: the layers before the final
    /// stage when --dockerfile is given, else 1 (as dive assumes).
    #[arg(long, value_name = "N")]
    pub base_layers: Option<usize>,
    /// The Dockerfile the image was built from: reports show the line that made each
    /// layer, and the base image's layers (`FROM …`) are the base for the user-wasted
    /// ratio. Lines and history entries that do not match are listed.
    #[arg(long, value_name = "FILE")]
    pub dockerfile: Option<std::path::PathBuf>,
    /// Fail below this efficiency (0..1 or a percentage). dive: lowestEfficiency.
    #[arg(long, alias = "lowestEfficiency", value_name = "RATIO")]
    pub lowest_efficiency: Option<String>,
    /// Fail above this many wasted bytes. dive: highestWastedBytes.
    #[arg(long, alias = "highestWastedBytes", value_name = "SIZE")]
    pub highest_wasted_bytes: Option<String>,
    /// Fail above this ratio of wasted to user-layer bytes. dive: highestUserWastedPercent.
    #[arg(long, alias = "highestUserWastedPercent", value_name = "RATIO")]
    pub highest_user_wasted_percent: Option<String>,
    /// Fail when the image's bytes exceed this size budget.
    #[arg(long, value_name = "SIZE")]
    pub highest_image_bytes: Option<String>,
    /// Fail above this many layers.
    #[arg(long, value_name = "COUNT")]
    pub highest_layer_count: Option<String>,
    /// Fail above this many secret findings (default 0: any secret in any layer, deleted
    /// files included, or in the config fails). `disabled` also skips the scan.
    #[arg(long, value_name = "COUNT")]
    pub secrets: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Image: a file, directory, - for stdin, or a source form (see layerscope --help).
    pub image: String,
    /// Output format. The JSON schema is versioned (`schema` field) and documented in
    /// docs/inspect-json-schema.md.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// The Dockerfile the image was built from: each layer shows the line that made it,
    /// base layers show `FROM <image>`, and lines or history entries that do not match are
    /// listed.
    #[arg(long, value_name = "FILE")]
    pub dockerfile: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Image: a file, directory, - for stdin, or a source form (see layerscope --help).
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
    /// Image: a file, directory, - for stdin, or a source form (see layerscope --help).
    pub image: String,
    /// The layer whose changes to list (0-based).
    #[arg(long, value_name = "N")]
    pub layer: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ExplainFormat {
    /// Plain text for a terminal.
    #[default]
    Text,
    /// GitHub-flavoured Markdown, for class notes, a wiki or a code review.
    Markdown,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Image file, OCI layout directory, or - for stdin.
    pub image: String,
    /// The Dockerfile the image was built from: layers get their line numbers, the
    /// multi-stage build is explained, and the build-order hint can apply.
    #[arg(long, value_name = "FILE")]
    pub dockerfile: Option<std::path::PathBuf>,
    /// How many bottom layers form the base image (hints leave them alone). Default: the
    /// Dockerfile's base when --dockerfile is given, else 1.
    #[arg(long, value_name = "N")]
    pub base_layers: Option<usize>,
    #[arg(long, value_enum, default_value_t)]
    pub format: ExplainFormat,
}
