//! Command-line definitions (clap derive). `main.rs` parses these and calls
//! [`crate::commands::run`].

use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};

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
///   container://NAME        a container (running or stopped; NAME or ID) in Docker's
///                           engine, else Podman's: its image's layers, and its writable
///                           layer as the top layer (docker-container://NAME and
///                           podman-container://NAME name the engine)
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
    #[arg(value_hint = ValueHint::AnyPath)]
    pub image: Option<String>,

    #[command(flatten)]
    pub global: GlobalArgs,

    /// Explorer colours: dark, light or mono. `NO_COLOR` forces mono.
    #[arg(long, value_name = "THEME", value_hint = ValueHint::Other)]
    pub theme: Option<String>,

    /// Draw the explorer with ASCII only (no box-drawing characters or arrows).
    #[arg(long)]
    pub ascii: bool,

    /// Lay this Dockerfile beside the explorer's layers: each layer row shows the line
    /// that made it, and `f` opens the Dockerfile pane, where moving through the lines
    /// selects their layers.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
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
  layerscope ls image.tar --format ncdu > fs.json   browse it with ncdu -f fs.json (or gdu)
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
    #[arg(long, global = true, value_name = "OS/ARCH[/VARIANT]", value_hint = ValueHint::Other)]
    pub platform: Option<String>,

    /// Image to open when the archive holds several (`docker save a b`): a tag or a
    /// 0-based index. Default: the first. With `diff`, `A:NAME` and `B:NAME` choose for
    /// each side (the option may then be given twice).
    #[arg(
        long = "image",
        id = "select_image",
        global = true,
        value_name = "NAME|INDEX",
        value_hint = ValueHint::Other
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
    /// docker-archive, oci, oci-archive, registry, or container (IMAGE is then a
    /// container's name or ID).
    #[arg(long, global = true, value_enum, value_name = "SOURCE")]
    pub source: Option<crate::source::spec::SourceKind>,

    /// Registry credentials, USER or USER:PASS (asked for on the terminal when PASS is
    /// missing). Used before any auth file.
    #[arg(long, global = true, value_name = "USER[:PASS]", value_hint = ValueHint::Other)]
    pub creds: Option<String>,

    /// Speak plain HTTP to this registry host (repeatable). Loopback hosts (localhost,
    /// 127.0.0.0/8) always may; every other host gets verified HTTPS.
    #[arg(long, global = true, value_name = "HOST[:PORT]", value_hint = ValueHint::Other)]
    pub insecure_registry: Vec<String>,

    /// Keep no registry blobs on disk ($XDG_CACHE_HOME/layerscope/blobs is the cache).
    #[arg(long, global = true)]
    pub no_cache: bool,

    /// Each registry document (manifest, index, config, token response, error body), and
    /// the headers of any answer, must arrive whole within this: seconds, or 1m, 500ms.
    /// Default 30 s.
    #[arg(long, global = true, value_name = "DURATION", env = "LAYERSCOPE_REGISTRY_TIMEOUT", value_hint = ValueHint::Other,
          value_parser = parse_duration)]
    pub registry_timeout: Option<std::time::Duration>,

    /// A registry blob slower than this (bytes per second: 1024, 1KiB; 0: no floor) for
    /// --speed-time fails, as with curl's --speed-limit. Default 1KiB.
    #[arg(long, global = true, value_name = "BYTES", env = "LAYERSCOPE_SPEED_LIMIT", value_hint = ValueHint::Other,
          value_parser = parse_rate)]
    pub speed_limit: Option<u64>,

    /// How long a registry blob may stay below --speed-limit. Default 30 s.
    #[arg(long, global = true, value_name = "DURATION", env = "LAYERSCOPE_SPEED_TIME", value_hint = ValueHint::Other,
          value_parser = parse_duration)]
    pub speed_time: Option<std::time::Duration>,

    /// All the waits of one registry pull together (retries after 429 or 503,
    /// Retry-After, resumes of a broken blob) before it gives up. Default 60 s.
    #[arg(long, global = true, value_name = "DURATION", env = "LAYERSCOPE_WAIT_BUDGET", value_hint = ValueHint::Other,
          value_parser = parse_wait)]
    pub wait_budget: Option<std::time::Duration>,

    /// Refuse a layer that decompresses to more than RATIO times its compressed size
    /// (never below 1 GiB), as a decompression bomb. Default 100; 0 lifts the cap.
    #[arg(
        long,
        global = true,
        value_name = "RATIO",
        env = "LAYERSCOPE_MAX_EXPANSION",
        value_hint = ValueHint::Other
    )]
    pub max_expansion: Option<u64>,
}

/// A duration above zero: seconds (`30`, `0.5`) or humantime's `1m`, `500ms`.
fn parse_duration(text: &str) -> std::result::Result<std::time::Duration, String> {
    match parse_wait(text)? {
        d if d.is_zero() => Err("must be above zero".into()),
        d => Ok(d),
    }
}

/// A duration, zero allowed (a wait budget of zero: no retries).
fn parse_wait(text: &str) -> std::result::Result<std::time::Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return std::time::Duration::try_from_secs_f64(secs).map_err(|e| e.to_string());
    }
    humantime::parse_duration(text).map_err(|e| format!("{e} (e.g. 30, 30s, 1m, 500ms)"))
}

/// Bytes per second: `1024`, `1KiB`, `0`.
fn parse_rate(text: &str) -> std::result::Result<u64, String> {
    text.trim()
        .parse::<bytesize::ByteSize>()
        .map(|size| size.as_u64())
        .map_err(|e| format!("{e} (e.g. 1024, 1KiB, 0)"))
}

impl GlobalArgs {
    /// The decompression cap `--max-expansion` asks for.
    pub fn expansion(&self) -> crate::layer::Expansion {
        let default = crate::layer::Expansion::default();
        crate::layer::Expansion {
            ratio: self.max_expansion.unwrap_or(default.ratio),
            ..default
        }
    }

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
    /// List the merged filesystem after a layer, sorted bytewise by path, or write it in
    /// ncdu's JSON export format (`--format ncdu`) for ncdu and gdu.
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
    /// Measure a set of images together: what each costs on top of the others (its unique
    /// bytes), the layers they share, what a registry stores (each blob once) and what a
    /// fresh node pulls (each layer once) against pulling each image alone, and the sharing
    /// tree (images grouped by their common bottom layers). Each distinct layer (same
    /// diff_id) is read and parsed once across the set.
    ///
    /// IMAGE is anything layerscope opens; `--from-file` adds one per line. Exit code: 0;
    /// 1 when --max-pull or --max-unique is exceeded; 2 on bad input (with --keep-going,
    /// after the report of the images that opened).
    #[command(after_help = FLEET_EXAMPLES)]
    Fleet(FleetArgs),
    /// Find secrets in every layer, including files a later layer deleted: their bytes are
    /// still in the earlier layer's tar, so every pull ships them. Also scans the config's
    /// Env, Labels and history. Exit code: 0 when nothing is found, 1 when something is,
    /// 2 on bad input. A secret is never printed: only its rule and a redacted preview.
    Secrets(SecretsArgs),
    /// The OS packages (dpkg, apk, rpm) of every layer, read from the databases as each layer
    /// left them: who installed what, its version, and its measured bytes in that layer.
    /// With --layer N, what layer N added, removed and upgraded. Exit 0, or 2 on bad input;
    /// a database that cannot be read is a warning.
    Packages(PackagesArgs),
    /// Open the demo images built into layerscope: real builds of small Dockerfiles (hello:
    /// a multi-stage hello-world; layers: the five-layer example; wasteful and its fixed
    /// twin, fixed; opaque: a directory replaced whole). Their sources are in the
    /// repository's demo/ directory.
    Demo(DemoArgs),
    /// Explain the image layer by layer in plain words: what each layer adds, changes and
    /// deletes, its whiteouts and what they hide, what it costs, and what to change (hints
    /// with the bytes they save).
    ///
    /// Made for class notes and code review: `--format markdown` renders on GitHub,
    /// `--format html` is a printable handout with the layer stack drawn.
    Explain(ExplainArgs),
    /// Write one self-contained HTML page about the image: the summary, the layer stack,
    /// a treemap of the final filesystem coloured by layer and one of the wasted bytes,
    /// the hints with their savings, the secret findings (redacted) and the story of each
    /// layer.
    ///
    /// The page makes no network request (a Content-Security-Policy forbids any), reads
    /// without script and prints: attach it to a CI job, mail it, open it offline.
    /// `layerscope report app.tar -o report.html`
    Report(ReportArgs),
    /// Manage the registry blob cache ($XDG_CACHE_HOME/layerscope/blobs/sha256).
    Cache(CacheArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    ///
    /// The script completes subcommands, options and their values; image and file
    /// arguments complete file names.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Print the man page (roff): layerscope.1, or one subcommand's page.
    ///
    /// `layerscope man` prints layerscope.1, the main page (IMAGE forms, global options,
    /// the list of subcommands). Each subcommand has its own page, as git's do:
    /// `layerscope man ci` prints layerscope-ci.1, `layerscope man cache prune` prints
    /// layerscope-cache-prune.1. `--dir DIR` writes every page into DIR, as a package
    /// installs them.
    #[command(after_help = MAN_HELP)]
    Man(ManArgs),
}

const COMPLETIONS_HELP: &str = "\
Install:
  bash        mkdir -p ~/.local/share/bash-completion/completions
              layerscope completions bash > ~/.local/share/bash-completion/completions/layerscope
              (the bash-completion package loads it; without that package, add
              `source <(layerscope completions bash)` to ~/.bashrc)
  zsh         mkdir -p ~/.zfunc && layerscope completions zsh > ~/.zfunc/_layerscope
              and in ~/.zshrc, before `autoload -U compinit && compinit`:
              fpath=(~/.zfunc $fpath)
  fish        layerscope completions fish > ~/.config/fish/completions/layerscope.fish
  elvish      in ~/.config/elvish/rc.elv: eval (layerscope completions elvish | slurp)
  powershell  in $PROFILE: layerscope completions powershell | Out-String | Invoke-Expression
Then open a new shell.

Packages install the scripts system-wide: bash's as
/usr/share/bash-completion/completions/layerscope, zsh's as
/usr/share/zsh/vendor-completions/_layerscope (Debian; site-functions elsewhere), fish's as
/usr/share/fish/vendor_completions.d/layerscope.fish.";

const MAN_HELP: &str = "\
Install:
  mkdir -p ~/.local/share/man/man1
  layerscope man > ~/.local/share/man/man1/layerscope.1
then `man layerscope`. Every page, the subcommands' too (`man layerscope-ci`):
  layerscope man --dir ~/.local/share/man/man1
man finds ~/.local/share/man when ~/.local/bin is on PATH; else add it to MANPATH.

Read a page without installing it: `layerscope man ci | man -l -`. Packages install every
page: `layerscope man --dir /usr/share/man/man1`, then compress them as usual.";

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print (`ci`, `cache prune`); none for layerscope.1.
    #[arg(value_name = "SUBCOMMAND", value_hint = ValueHint::Other, num_args = 0..)]
    pub subcommand: Vec<String>,
    /// Write every page (layerscope.1 and one per subcommand) into DIR, created if
    /// missing, and print their paths.
    #[arg(
        long,
        value_name = "DIR",
        value_hint = ValueHint::DirPath,
        conflicts_with = "subcommand"
    )]
    pub dir: Option<std::path::PathBuf>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PackagesFormat {
    #[default]
    Text,
    /// Versioned schema (`layerscope.packages/v1`), documented in docs/packages-json-schema.md.
    Json,
}

#[derive(Debug, Args)]
pub struct PackagesArgs {
    /// Image file, OCI layout directory, or - for stdin.
    #[arg(value_hint = ValueHint::AnyPath)]
    pub image: String,
    /// Only this layer's added, removed and upgraded packages.
    #[arg(long, value_name = "N", value_hint = ValueHint::Other)]
    pub layer: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: PackagesFormat,
    /// The Dockerfile the image was built from: each package names the line of the layer
    /// that installed it.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub dockerfile: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct SecretsArgs {
    /// Image file, OCI layout directory, or - for stdin.
    #[arg(value_hint = ValueHint::AnyPath)]
    pub image: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: SecretsFormat,
    /// Leave paths matching GLOB out (repeatable), as `ci --exclude` does.
    #[arg(long, value_name = "GLOB", value_hint = ValueHint::Other)]
    pub exclude: Vec<String>,
    /// The Dockerfile the image was built from: each finding names the line that added the
    /// file (or set the ENV), and SARIF locates it on that line, where code scanning shows it.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub dockerfile: Option<std::path::PathBuf>,
}

const DIFF_EXAMPLES: &str = "\
Examples:
  layerscope diff app-v1.tar app-v2.tar                 shared layers, changes, summary
  layerscope diff v1.tar v2.tar --long                  with mode, owner and link changes
  layerscope diff v1.tar v2.tar --format markdown       for a pull-request comment
  layerscope diff v1.tar v2.tar --fail-on-growth 5MB    exit 1 when B is 5 MB bigger
  layerscope diff v1.tar v2.tar --tui                   side by side in the terminal";

const FLEET_EXAMPLES: &str = "Examples:
  layerscope fleet api.tar web.tar worker.tar           shared, unique, pull and stored bytes
  layerscope fleet --from-file images.txt               one image per line, # comments
  layerscope fleet --compose compose.yaml               every service's image
  layerscope fleet registry://ghcr.io/org/app --all-tags   every tag of a repository
  layerscope fleet a.tar b.tar --format json            layerscope.fleet/v1, keyed by diff_id
  layerscope fleet a.tar b.tar --max-pull 500MB         exit 1 when a fresh node pulls more
  layerscope fleet a.tar b.tar --format html -o fleet.html   one self-contained page
  layerscope fleet a.tar b.tar c.tar --tui              side by side in the terminal
  layerscope fleet --from-file images.txt --db sqlite:fleet.db   store layers and facts
  LAYERSCOPE_FLEET_DB=postgres://… layerscope fleet --from-file images.txt --shard 3
                                                        JOB_COMPLETION_INDEX's share
  layerscope fleet report --db sqlite:fleet.db --from-file images.txt   from the database";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FleetFormat {
    /// Per-image table, totals, shared layers and the sharing tree.
    #[default]
    Text,
    /// Versioned schema (`layerscope.fleet/v1`), documented in docs/fleet-json-schema.md.
    Json,
    /// For a pull-request comment.
    Markdown,
    /// One self-contained page (no script, no request) with the sharing tree drawn: for a
    /// CI artifact or a browser.
    Html,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, disable_help_subcommand = true)]
pub struct FleetArgs {
    #[command(subcommand)]
    pub action: Option<FleetAction>,
    /// The images: files, OCI layouts, - for stdin (once), engine or registry references.
    /// An image file named `report` is written `./report`.
    #[arg(value_name = "IMAGE", value_hint = ValueHint::AnyPath)]
    pub images: Vec<String>,
    /// Also read images from LIST: one reference per line; blank lines and lines starting
    /// with # are skipped.
    #[arg(long, value_name = "LIST", value_hint = ValueHint::FilePath)]
    pub from_file: Option<std::path::PathBuf>,
    /// Also every service's `image:` in a Compose file (the Compose specification's
    /// format). A service with only `build:`, or an image with `${…}` variables, is listed
    /// as skipped with the reason.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub compose: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: FleetFormat,
    /// Write the report to FILE (e.g. fleet.html) instead of stdout; the exit code still
    /// says whether a limit was passed.
    #[arg(short, long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub output: Option<std::path::PathBuf>,
    /// Every registry IMAGE (`registry://HOST/REPO`, a tag in it is ignored) stands for
    /// every tag of its repository, from the registry's tag list.
    #[arg(long)]
    pub all_tags: bool,
    /// Tags asked for per page of a tag list (the registry may send fewer).
    #[arg(long, hide = true, value_name = "N", value_hint = ValueHint::Other, default_value_t = crate::source::registry::TAGS_PAGE)]
    pub tag_page: usize,
    /// An image that fails to open is reported (one line on stderr) and left out; the
    /// report covers the rest and the exit code is 2.
    #[arg(long)]
    pub keep_going: bool,
    /// Rules file, as `ci` reads it (else `.layerscope-ci.yaml`, `.layerscope-ci.yml` or
    /// `.dive-ci` in the current directory): its `fleet:` section's `max-pull` and
    /// `max-unique`, which the flags override.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub config: Option<std::path::PathBuf>,
    /// Exit 1 when a fresh node would pull more than SIZE for the whole set (each
    /// distinct layer once, compressed): `500MB`, `1.5 GiB` or a byte count.
    #[arg(long, value_name = "SIZE", value_hint = ValueHint::Other)]
    pub max_pull: Option<String>,
    /// Exit 1 when any image's unique bytes (its layers no other image of the set has,
    /// compressed) exceed SIZE.
    #[arg(long, value_name = "SIZE", value_hint = ValueHint::Other)]
    pub max_unique: Option<String>,
    /// Open the set in the terminal instead of printing it: one column per image with its
    /// layers bottom first, a layer that neighbouring images share (same diff_id at the same
    /// height) joined into one cell across their columns, the selected image's unique and
    /// shared bytes, and the sharing tree with the bytes of each branch. Arrows or h/j/k/l
    /// move, tab switches between the stacks and the tree, enter opens the selected image
    /// in the explorer (esc or q there comes back), ? lists every key, q quits. Not with
    /// --format or the limits, which are for output and exit codes.
    #[arg(long, conflicts_with_all = ["format", "output", "max_pull", "max_unique", "config", "db"])]
    pub tui: bool,
    /// Also store what the run learns in the fleet database at URL: `sqlite:PATH` (one
    /// machine) or `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (many workers). A layer
    /// the database holds is not parsed again; `fleet report` prints the set from it.
    /// Give it through LAYERSCOPE_FLEET_DB to keep a password out of the command line.
    /// Schema and lease protocol: docs/fleet-db.md.
    #[arg(long, value_name = "URL", value_hint = ValueHint::Url, env = "LAYERSCOPE_FLEET_DB", hide_env_values = true)]
    pub db: Option<String>,
    /// Take only this worker's share of the images: `I/N` takes those whose position in
    /// the input list is I modulo N (0 ≤ I < N); `N` alone takes I from
    /// JOB_COMPLETION_INDEX (a Kubernetes Indexed Job). Every worker names the same list,
    /// so they write into one scan of the database.
    #[arg(long, value_name = "I/N", value_hint = ValueHint::Other, requires = "db")]
    pub shard: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum FleetAction {
    /// Print the report of a scan stored by `fleet --db`, from the database alone (no
    /// image is opened): byte for byte what `fleet` prints over the same set. Name the
    /// set as the workers did (IMAGE…, --from-file, --compose), or nothing for the scan
    /// started last. Exit 2 while images of the scan are not stored yet.
    Report(Box<FleetReportArgs>),
}

#[derive(Debug, Args)]
pub struct FleetReportArgs {
    /// The images of the scan, as the workers were given them.
    #[arg(value_name = "IMAGE", value_hint = ValueHint::AnyPath)]
    pub images: Vec<String>,
    /// Also read images from LIST, as `fleet --from-file` does.
    #[arg(long, value_name = "LIST", value_hint = ValueHint::FilePath)]
    pub from_file: Option<std::path::PathBuf>,
    /// Also every service's `image:` in a Compose file, as `fleet --compose` does.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub compose: Option<std::path::PathBuf>,
    /// The fleet database: `sqlite:PATH` or `postgres://…` (or LAYERSCOPE_FLEET_DB).
    #[arg(long, value_name = "URL", value_hint = ValueHint::Url, env = "LAYERSCOPE_FLEET_DB", hide_env_values = true, required = true)]
    pub db: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: FleetFormat,
    /// Write the report to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub output: Option<std::path::PathBuf>,
}

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
    #[arg(value_hint = ValueHint::AnyPath)]
    pub a: String,
    /// The image after.
    #[arg(value_hint = ValueHint::AnyPath)]
    pub b: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: DiffFormat,
    /// Also show the mode, owner and symlink target on both sides of every change.
    #[arg(long, short)]
    pub long: bool,
    /// Exit 1 when B's final filesystem is larger than A's by more than SIZE
    /// (`20MB`, `1.5 GiB` or a byte count).
    #[arg(long, value_name = "SIZE", value_hint = ValueHint::Other)]
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
    /// Which demo image to open. Without one, the guided tour starts at its first step;
    /// with one, at its first step on NAME.
    #[arg(value_name = "NAME", value_parser = demo_names(), ignore_case = true)]
    pub name: Option<String>,
    /// Write every demo archive (and its Dockerfile) to DIR instead, to open with other
    /// tools.
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub export: Option<std::path::PathBuf>,
}

/// The demo images' names, each with what it shows (for `--help`, completions and the
/// man page).
fn demo_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        crate::demo::IMAGES
            .iter()
            .map(|image| clap::builder::PossibleValue::new(image.name).help(image.about)),
    )
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
        #[arg(long, value_name = "DURATION", value_hint = ValueHint::Other)]
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
    #[arg(value_hint = ValueHint::AnyPath)]
    pub image: String,
    /// Rules file (YAML; dive's `.dive-ci` format is accepted).
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub config: Option<std::path::PathBuf>,
    /// Which efficiency score the rules judge.
    #[arg(long, value_enum, default_value_t)]
    pub score: ScoreArg,
    /// Report format on stdout (or in --output).
    #[arg(long, value_enum, default_value_t)]
    pub format: CiFormat,
    /// Write the report in --format to FILE; a text summary still goes to stdout.
    #[arg(long, short, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub output: Option<std::path::PathBuf>,
    /// Leave paths matching GLOB out of the analysis (repeatable; adds to the config's).
    #[arg(long, value_name = "GLOB", value_hint = ValueHint::Other)]
    pub exclude: Vec<String>,
    /// How many bottom layers form the base image. Default: the layers before the final
    /// stage when --dockerfile is given, else 1 (as dive assumes).
    #[arg(long, value_name = "N", value_hint = ValueHint::Other)]
    pub base_layers: Option<usize>,
    /// The Dockerfile the image was built from: reports show the line that made each
    /// layer, and the base image's layers (`FROM …`) are the base for the user-wasted
    /// ratio. Lines and history entries that do not match are listed.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub dockerfile: Option<std::path::PathBuf>,
    /// Fail below this efficiency (0..1 or a percentage). dive: lowestEfficiency.
    #[arg(long, alias = "lowestEfficiency", value_name = "RATIO", value_hint = ValueHint::Other)]
    pub lowest_efficiency: Option<String>,
    /// Fail above this many wasted bytes. dive: highestWastedBytes.
    #[arg(long, alias = "highestWastedBytes", value_name = "SIZE", value_hint = ValueHint::Other)]
    pub highest_wasted_bytes: Option<String>,
    /// Fail above this ratio of wasted to user-layer bytes. dive: highestUserWastedPercent.
    #[arg(long, alias = "highestUserWastedPercent", value_name = "RATIO", value_hint = ValueHint::Other)]
    pub highest_user_wasted_percent: Option<String>,
    /// Fail when the image's bytes exceed this size budget.
    #[arg(long, value_name = "SIZE", value_hint = ValueHint::Other)]
    pub highest_image_bytes: Option<String>,
    /// Fail above this many layers.
    #[arg(long, value_name = "COUNT", value_hint = ValueHint::Other)]
    pub highest_layer_count: Option<String>,
    /// Fail above this many secret findings (default 0: any secret in any layer, deleted
    /// files included, or in the config fails). `disabled` also skips the scan.
    #[arg(long, value_name = "COUNT", value_hint = ValueHint::Other)]
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
    #[arg(value_hint = ValueHint::AnyPath)]
    pub image: String,
    /// Output format. The JSON schema is versioned (`schema` field) and documented in
    /// docs/inspect-json-schema.md.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// The Dockerfile the image was built from: each layer shows the line that made it,
    /// base layers show `FROM <image>`, and lines or history entries that do not match are
    /// listed.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub dockerfile: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LsFormat {
    /// One path per line, sorted bytewise (`--long` adds mode, owner, size and target).
    #[default]
    Text,
    /// ncdu's JSON export (what `ncdu -o FILE` writes), to browse with `ncdu -f FILE` or
    /// `gdu -f FILE`. Sizes are the bytes stored in the layers, so ncdu's totals are
    /// `ls --long`'s; hardlinks carry `ino`, `nlink` and `hlnkc`; symlinks, devices and
    /// fifos are `notreg`.
    Ncdu,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Image: a file, directory, - for stdin, or a source form (see layerscope --help).
    #[arg(value_hint = ValueHint::AnyPath)]
    pub image: String,
    /// Show the filesystem as it stands after this layer (0-based). Default: the top layer.
    #[arg(long, value_name = "N", value_hint = ValueHint::Other)]
    pub layer: Option<usize>,
    /// Print `<mode> <uid>:<gid> <size> /<path>[ -> <target>]`, the reference format.
    #[arg(long, short)]
    pub long: bool,
    /// Output format. `ncdu` streams the filesystem as ncdu's JSON export, names as exact
    /// JSON strings (bytes that are not UTF-8 as `\xNN` text); not with --long:
    /// `layerscope ls IMAGE --format ncdu > fs.json && ncdu -f fs.json`.
    #[arg(long, value_enum, default_value_t)]
    pub format: LsFormat,
}

#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// Image: a file, directory, - for stdin, or a source form (see layerscope --help).
    #[arg(value_hint = ValueHint::AnyPath)]
    pub image: String,
    /// The layer whose changes to list (0-based).
    #[arg(long, value_name = "N", value_hint = ValueHint::Other)]
    pub layer: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ExplainFormat {
    /// Plain text for a terminal.
    #[default]
    Text,
    /// GitHub-flavoured Markdown, for class notes, a wiki or a code review.
    Markdown,
    /// One printable HTML page with the layer stack drawn: a handout.
    Html,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Image file, OCI layout directory, or - for stdin.
    #[arg(value_hint = ValueHint::AnyPath)]
    pub image: String,
    /// The Dockerfile the image was built from: layers are labelled with their lines,
    /// base layers are marked, and the Dockerfile's own hints apply.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub dockerfile: Option<std::path::PathBuf>,
    /// Write the page to FILE (e.g. report.html) instead of stdout.
    #[arg(short, long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Image file, OCI layout directory, or - for stdin.
    #[arg(value_hint = ValueHint::AnyPath)]
    pub image: String,
    /// The Dockerfile the image was built from: layers get their line numbers, the
    /// multi-stage build is explained, and the build-order hint can apply.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub dockerfile: Option<std::path::PathBuf>,
    /// How many bottom layers form the base image (hints leave them alone). Default: the
    /// Dockerfile's base when --dockerfile is given, else 1.
    #[arg(long, value_name = "N", value_hint = ValueHint::Other)]
    pub base_layers: Option<usize>,
    #[arg(long, value_enum, default_value_t)]
    pub format: ExplainFormat,
}

#[cfg(test)]
mod tests {
    /// `demo --help` names every demo image, in the summary `layerscope --help` prints and
    /// in the NAME argument's help: a demo added to `IMAGES` must be added there too.
    #[test]
    fn demo_help_names_every_demo_image() {
        use clap::CommandFactory;
        let mut cli = super::Cli::command();
        let demo = cli.find_subcommand_mut("demo").expect("a demo subcommand");
        let help = demo.render_long_help().to_string();
        let about = demo.get_about().map(|a| a.to_string()).unwrap_or_default();
        for image in crate::demo::IMAGES {
            assert!(
                about.contains(image.name),
                "{} missing from: {about}",
                image.name
            );
            assert!(
                help.contains(image.name),
                "{} missing from: {help}",
                image.name
            );
        }
    }
}
