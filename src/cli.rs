//! Command-line types (clap derive) and nothing else: what each subcommand
//! accepts. The work happens in [`crate::commands`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// twinform: declarative configuration for AI agent platforms (Twin, Twig, Cadenya).
#[derive(Debug, Parser)]
#[command(name = "twinform", version = crate::VERSION, about, long_about = None)]
pub struct Cli {
    /// Never colour output (NO_COLOR is respected too; CLICOLOR_FORCE forces colour).
    #[arg(long, global = true)]
    pub no_color: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests offline and report every problem with its location.
    Validate {
        /// A manifest file or a directory of manifests.
        #[arg(default_value = ".")]
        path: PathBuf,
        #[command(flatten)]
        input: ManifestArgs,
        #[command(flatten)]
        policy: PolicyArgs,
        /// Output: `text` (reports with snippets), `json` (every problem with
        /// file, line and column; versioned) or `markdown` (a list for a
        /// pull-request comment; the reports still go to stderr).
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the JSON Schema of the manifest language (for editors).
    Schema,
    /// Show what apply would change, without writing anything.
    Plan(PlanArgs),
    /// A plan for alerts: compact report, exit 0 (no drift), 2 (drift) or 1 (error).
    Drift(DriftArgs),
    /// Plan and then execute the changes (or execute a plan saved with `plan --out`).
    Apply(ApplyArgs),
    /// Write live changes back into the manifests: every managed value that
    /// drifted, edited in place (prompt files rewritten byte for byte).
    Pull(PullArgs),
    /// List an agent's server-side instruction versions, or diff two of them.
    History(HistoryArgs),
    /// Write an earlier version of an agent's instructions into its manifest
    /// (the next apply restores it, through review).
    Rollback(RollbackArgs),
    /// Render a plan saved with `plan --out` (no API access, no keys needed).
    Show {
        /// The saved plan file.
        plan: PathBuf,
        /// Output format: as `plan -o` printed it when it was saved.
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Write manifests that describe existing workspaces and agents.
    Export(ExportArgs),
    /// Run a local emulator of one platform's API.
    Emulator(EmulatorArgs),
    /// Check credentials: who the API key belongs to.
    Whoami {
        /// Which platform's key to check: twin, twig or cadenya.
        #[arg(long, default_value = crate::providers::DEFAULT)]
        provider: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Print shell completions (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Policies as code (Rego): run their tests, write a starter set, or
    /// print the input they are given.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Print the man page (roff), or write one per subcommand with `--out`.
    Man {
        /// Write `twinform.1` and `twinform-<subcommand>.1` for every
        /// subcommand into this directory (created if missing).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// `twinform policy …`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Run every `test_*` rule of the policies under DIR, as `opa test`
    /// does: pass or fail per test; exit 1 when any fails.
    Test {
        /// A directory of `*.rego` files (searched recursively) or one file.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Show every test, its time and what it printed (failures always are).
        #[arg(short, long)]
        verbose: bool,
        /// Stop a test run that takes longer than this, in seconds (0.1 to 3600).
        #[arg(long, default_value = "10", value_parser = seconds)]
        policy_timeout: std::time::Duration,
    },
    /// Write a starter set of policies with their tests into DIR: approved
    /// models, temperature at most 0.7, HTTPS webhooks, schedules at most
    /// every 15 minutes, the safety fragment in customer-facing prompts,
    /// prompts under 8,000 tokens, no prune without an owner.
    Init {
        /// Where to write them (created if missing).
        #[arg(default_value = "policy")]
        dir: PathBuf,
        /// Overwrite files that exist.
        #[arg(long)]
        force: bool,
    },
    /// Print the document policies receive as `input` in `validate` (JSON;
    /// `plan` and `apply` give the same with the plan's changes), for
    /// writing policies or running them in conftest.
    Input {
        /// A manifest file or a directory of manifests.
        #[arg(default_value = ".")]
        path: PathBuf,
        #[command(flatten)]
        input: ManifestArgs,
    },
}

/// Policies as code: flattened into `validate`, `plan`, `drift` and `apply`.
#[derive(Debug, Args, Clone)]
pub struct PolicyArgs {
    /// Evaluate every `*.rego` file below DIR (or this file) with regorus
    /// (Rego v1, conftest's conventions): `deny`/`violation` rules fail the
    /// command (apply writes nothing), `warn` rules warn. Repeatable.
    #[arg(long = "policy", value_name = "DIR")]
    pub policy: Vec<PathBuf>,
    /// The package whose `deny`, `violation` and `warn` rules are
    /// evaluated (default `main`). Repeatable.
    #[arg(long = "namespace", value_name = "PACKAGE", requires = "policy")]
    pub namespace: Vec<String>,
    /// Stop a policy evaluation that takes longer than this, in seconds
    /// (0.1 to 3600): the command fails, naming the rule.
    #[arg(long, default_value = "10", value_parser = seconds)]
    pub policy_timeout: std::time::Duration,
}

impl Default for PolicyArgs {
    fn default() -> Self {
        PolicyArgs {
            policy: Vec::new(),
            namespace: Vec::new(),
            policy_timeout: std::time::Duration::from_secs(10),
        }
    }
}

/// How to reach the platforms' APIs.
#[derive(Debug, Args, Clone, Default)]
pub struct ApiArgs {
    /// Trace every API request (method, path, status, milliseconds, retries) on stderr.
    #[arg(short, long)]
    pub verbose: bool,

    /// Base URL of an API: `URL` for Twin, `twig=URL` or `cadenya=URL` for
    /// the others (repeatable). Otherwise TWIN_ENDPOINT, TWIG_ENDPOINT,
    /// CADENYA_ENDPOINT (or CADENYA_BASE_URL), else the public service.
    #[arg(long, value_name = "[PROVIDER=]URL")]
    pub endpoint: Vec<String>,

    /// Read an API key from a file: `FILE` for Twin, `twig=FILE` for another
    /// provider (repeatable). Otherwise TWIN_API_KEY, TWIG_API_KEY, CADENYA_API_KEY.
    #[arg(long, value_name = "[PROVIDER=]FILE")]
    pub api_key_file: Vec<String>,

    /// Run against embedded emulators on loopback ports, one per platform the
    /// manifests use, with Twin's state in STATE (default
    /// `.twinform/local.json`; other platforms beside it). No account needed.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = ".twinform/local.json")]
    pub local: Option<PathBuf>,

    /// Request timeout in seconds (0.1 to 3600).
    #[arg(long, default_value = "30", value_parser = seconds)]
    pub timeout: std::time::Duration,

    /// Connect timeout in seconds (0.1 to 3600).
    #[arg(long, default_value = "10", value_parser = seconds)]
    pub connect_timeout: std::time::Duration,

    /// Concurrent API requests.
    #[arg(long, default_value_t = 16)]
    pub parallelism: usize,
}

/// A duration flag in seconds: finite, between 0.1 s and one hour. An
/// infinite or absurd value is a usage error, never a panic later on.
pub fn seconds(s: &str) -> Result<std::time::Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !v.is_finite() || !(0.1..=3600.0).contains(&v) {
        return Err(format!("`{s}` is out of range: give 0.1 to 3600 seconds"));
    }
    Ok(std::time::Duration::from_secs_f64(v))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// How manifests are read (the tree's variables) and how their problems
/// are reported: flattened into every command that reads manifests
/// (`tests/cli.rs` checks that none lacks them).
#[derive(Debug, Args, Clone, Default)]
pub struct ManifestArgs {
    /// A YAML map of variable names to values (`env: staging`), overriding
    /// the tree's `kind: Variables` defaults; `${var.NAME}` in manifests.
    /// Repeatable; a later file wins.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_file: Vec<PathBuf>,
    /// Make a variable that no manifest uses (a misspelt var-file key, an
    /// unused `kind: Variables` default) an error instead of a warning.
    #[arg(long)]
    pub strict_vars: bool,
    /// Also report manifest problems as CI annotations: `github` prints
    /// workflow commands (`::error file=…,line=…,col=…::…`), so problems
    /// show on the pull request's diff.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub annotations: Option<Annotations>,
    /// Let templates and `{file: …}` read this hidden file or folder
    /// (relative to the manifest root; repeatable). Hidden files are refused
    /// otherwise, since they hold tokens; `.git/` and `.twinform/` never.
    #[arg(long = "allow-hidden", value_name = "PATH")]
    pub allow_hidden: Vec<PathBuf>,
    /// Problems as a JSON document on stdout (set by `-o json`, not a flag).
    #[arg(skip)]
    pub json_problems: bool,
    /// Also read what each document declares, for policies (set by
    /// `--policy`, not a flag).
    #[arg(skip)]
    pub declared: bool,
}

impl ManifestArgs {
    /// These options for a command printing `format`: with `-o json`,
    /// manifest problems are a JSON document on stdout too.
    pub fn for_output(&self, format: Format) -> Self {
        ManifestArgs {
            json_problems: format == Format::Json,
            ..self.clone()
        }
    }
}

/// CI systems whose annotation syntax twinform writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Annotations {
    Github,
}

/// The local record of applies.
#[derive(Debug, Args, Clone)]
pub struct JournalArgs {
    /// The journal of applies (NDJSON, no secrets): apply appends to it, and
    /// plans read it to find webhooks whose create a hard kill cut short.
    #[arg(long, default_value = ".twinform/journal.ndjson")]
    pub journal: PathBuf,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// A manifest file or a directory of manifests.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub input: ManifestArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Changes only a person can make (Twig's "do by hand") do not count:
    /// exit 0 when they are all that differs (they are still reported).
    #[arg(long)]
    pub ignore_manual: bool,
    #[command(flatten)]
    pub journal: JournalArgs,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A manifest file or a directory of manifests.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub input: ManifestArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// With --detailed-exitcode: changes only a person can make (Twig's
    /// "do by hand") do not count, so a plan whose only changes are manual
    /// exits 0; they are still shown. For the check after an apply.
    #[arg(long, requires = "detailed_exitcode")]
    pub ignore_manual: bool,
    /// Save the plan (with fingerprints of what it read) for `apply FILE`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Narrow the plan to these addresses (e.g. `agent["daily-digest"]`,
    /// `workspace["Support"]`, or a bare agent id). Repeatable.
    #[arg(long)]
    pub target: Vec<String>,
    /// Narrow the plan to agents in these workspaces. Repeatable.
    #[arg(long)]
    pub workspace: Vec<String>,
    /// Take over live resources that have a declared id but not the
    /// workspace owner's mark (Cadenya).
    #[arg(long)]
    pub adopt: bool,
    /// Rewrite every declared secret's value, changed or not (Cadenya).
    #[arg(long)]
    pub sync_secrets: bool,
    #[command(flatten)]
    pub journal: JournalArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A manifest file or directory, or a plan file saved with `plan --out`.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub input: ManifestArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Refuse a plan that destroys more than this many resources.
    #[arg(long, default_value_t = 5)]
    pub max_destroy: usize,
    /// Where signing secrets of created webhooks are written (0600, merged).
    /// `-` writes them as JSON to stdout (and nothing else goes to stdout).
    #[arg(long, default_value = ".twinform/secrets.json")]
    pub secrets_out: PathBuf,
    /// Pipe each new signing secret to this shell command (stdin), with
    /// TWINFORM_AGENT_ID, TWINFORM_WEBHOOK_URL and TWINFORM_WEBHOOK_ID set.
    #[arg(long)]
    pub secrets_command: Option<String>,
    #[command(flatten)]
    pub journal: JournalArgs,
    /// Output: `text` (one line per change), `json` (versioned events, one per
    /// line, ending with a summary event) or `markdown` (a report for a
    /// pull-request comment).
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Narrow to these addresses (see `plan --target`). Repeatable.
    #[arg(long)]
    pub target: Vec<String>,
    /// Narrow to agents in these workspaces. Repeatable.
    #[arg(long)]
    pub workspace: Vec<String>,
    /// Take over live resources that have a declared id but not the
    /// workspace owner's mark (Cadenya).
    #[arg(long)]
    pub adopt: bool,
    /// Rewrite every declared secret's value, changed or not (Cadenya).
    #[arg(long)]
    pub sync_secrets: bool,
    /// Show where the last apply recorded in the journal stopped, then exit.
    #[arg(long)]
    pub resume: bool,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// A manifest file or a directory of manifests.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub input: ManifestArgs,
    /// Print the patch (a unified diff of the manifests) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only these agents (by id). Repeatable.
    #[arg(long)]
    pub agent: Vec<String>,
    /// Only agents in these workspaces (by name). Repeatable.
    #[arg(long)]
    pub workspace: Vec<String>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The agent (its id).
    pub agent: String,
    /// Show the change from version A to version B (an id, `@N` with @1 the
    /// newest, or a content-hash prefix).
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    pub diff: Option<Vec<String>>,
    /// Which platform's agent.
    #[arg(long, default_value = crate::providers::DEFAULT)]
    pub provider: String,
    /// Manifests whose interpolated values are redacted from the output
    /// (they must load: history stops when they do not).
    #[arg(long, default_value = ".")]
    pub manifests: PathBuf,
    #[command(flatten)]
    pub input: ManifestArgs,
    /// Output format (`markdown` is the text form).
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The agent (its id).
    pub agent: String,
    /// The version to restore: an id, `@N` (@1 is the newest), or a
    /// content-hash prefix, as `history` lists them.
    #[arg(long)]
    pub to: String,
    /// A manifest file or a directory of manifests.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Print the patch and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Rewrite the agent's prompt file even when other resources use it too
    /// (their text changes with it).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub input: ManifestArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Which platforms to export (repeatable; default: twin).
    #[arg(long, default_value = crate::providers::DEFAULT)]
    pub provider: Vec<String>,
    /// Only these workspaces (by name). Repeatable.
    #[arg(long)]
    pub workspace: Vec<String>,
    /// Only these agents (by id, or by name where a platform names agents). Repeatable.
    #[arg(long)]
    pub agent: Vec<String>,
    /// Directory to write manifests into.
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args, Clone)]
pub struct EmulatorArgs {
    /// Which platform to emulate: twin, twig or cadenya.
    #[arg(long, default_value = crate::providers::DEFAULT)]
    pub provider: String,
    /// Address to listen on (loopback only is sensible).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// JSON file the state persists to (atomically, after every write).
    #[arg(long)]
    pub state: Option<PathBuf>,
    #[command(flatten)]
    pub faults: FaultArgs,
}

/// Fault injection and behaviour switches of the emulator.
#[derive(Debug, Args, Clone, Default)]
pub struct FaultArgs {
    /// Enforce a documented rule the live service is known not to (Twin: a
    /// schedule needs a deployed agent, else 409).
    #[arg(long, alias = "strict-deploy")]
    pub strict: bool,
    /// Timestamps with one-second resolution and random ids (servers where
    /// neither tells which of two objects came first).
    #[arg(long)]
    pub coarse_clock: bool,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Fraction of requests answered 503 (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    pub rate_503: f64,
    /// Fraction of requests answered 429 with Retry-After.
    #[arg(long, default_value_t = 0.0)]
    pub rate_429: f64,
    /// Fraction of writes whose connection is dropped after the write commits.
    #[arg(long, default_value_t = 0.0)]
    pub rate_reset: f64,
    /// Fraction of requests that answer only after `--spike-ms` (after committing).
    #[arg(long, default_value_t = 0.0)]
    pub rate_spike: f64,
    /// Fraction of writes that commit only after `--spike-ms`, even when the
    /// client has given up waiting (a slow server behind a client timeout).
    #[arg(long, default_value_t = 0.0)]
    pub rate_late_commit: f64,
    /// Fraction of writes answered 500 after they commit (the write took
    /// effect; the client cannot tell).
    #[arg(long, default_value_t = 0.0)]
    pub rate_500_after_commit: f64,
    /// Length of a latency spike or a late commit, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub spike_ms: u64,
    /// Requests per minute before 429 (0 = unlimited), with X-RateLimit-* headers.
    #[arg(long, default_value_t = 0)]
    pub rpm: u32,
    /// Run rate-limit windows this many times faster (a platform's per-minute
    /// limits, tested in seconds).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Seed for the fault dice (deterministic runs).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[cfg(feature = "emulator")]
impl FaultArgs {
    /// The emulator's configuration.
    pub fn config(&self) -> crate::engine::emulation::FaultConfig {
        crate::engine::emulation::FaultConfig {
            strict: self.strict,
            coarse_clock: self.coarse_clock,
            latency_ms: self.latency_ms,
            rate_503: self.rate_503,
            rate_429: self.rate_429,
            rate_reset: self.rate_reset,
            rate_late_commit: self.rate_late_commit,
            rate_500_after_commit: self.rate_500_after_commit,
            rate_spike: self.rate_spike,
            spike_ms: self.spike_ms,
            rpm: self.rpm,
            time_scale: self.time_scale,
            seed: self.seed,
        }
    }
}
