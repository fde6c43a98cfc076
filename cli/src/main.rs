//! `raito-sync`: runs the sync steps of the Lambda functions locally, from the command line,
//! with the same library code. Results go to a local file or an S3 object; only `run` and
//! `access export` talk to Raito Cloud; `status` reads the run history the functions leave in
//! the bundle's bucket.

mod progress;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use raito_common::config::Config;
use raito_common::connector::{self, DataSourceRequest};
use raito_common::connectors;
use raito_common::output::Destination;
use raito_common::step::Step;
use raito_common::sync::{self, Outcome};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Runs Raito sync steps against your targets, outside AWS Lambda.
///
/// Configuration is a Raito CLI `raito.yml`: `targets` with `name`, `connector-name`,
/// `data-source-id`, and the connector's parameters. A value written "{{NAME}}" reads the
/// environment variable NAME; "{{secret:NAME#field}}" reads a field of an AWS Secrets Manager
/// secret, and `secret: NAME` merges a whole secret into the target's parameters (AWS region
/// and credentials come from the usual AWS environment).
///
/// Logs go to stderr (`RUST_LOG` sets the level, e.g. `RUST_LOG=debug`); results go to the
/// output you name. Exit status: 0 on success, 1 on any error (one line on stderr).
///
/// Progress: a step that runs longer than 2 s shows, on a terminal, a line of what it has done
/// so far (elements written, their rate, statements and requests sent to the target, time);
/// when stderr is not a terminal, or with `--log-format json`, an info log line "step in
/// progress" every 10 s per running step instead (`RAITO_PROGRESS_INTERVAL_MS` sets the
/// interval) and a last one, "step finished", with its totals.
#[derive(Debug, Parser)]
#[command(name = "raito-sync", version, about, long_about)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Data source sync: writes the data source import file (the data source element first,
    /// then every data object), without contacting Raito Cloud.
    Metadata(MetadataArgs),
    /// Identity store sync: writes the users and groups import files, without contacting
    /// Raito Cloud.
    Identities(IdentitiesArgs),
    /// Data usage sync: writes the statements (queries) the target logged since a time, with
    /// the data objects each touched, without contacting Raito Cloud.
    Usage(UsageArgs),
    /// Data access sync: apply an access file (access-as-code, or an export of Raito Cloud) to
    /// a target, plan it, import the target's own access, or fetch Raito's export.
    #[command(subcommand)]
    Access(AccessCommand),
    /// Runs the syncs of your targets once and reports them to Raito Cloud (or a stand-in),
    /// as the Lambda functions do: a job per target, its task events, the staged file
    /// uploaded and imported, then endOfTargetsSync. Uses `domain`, `api-user` and
    /// `api-secret` of raito.yml.
    Run(RunArgs),
    /// Lists the connectors of this build: each `connector-name` (and the Raito CLI plugin it
    /// replaces), the syncs it has and the parameters a target of it may have (README,
    /// "Configure a target", says what each means).
    Connectors,
    /// Prints the last runs of each target and step that the Lambda functions recorded in the
    /// bundle's bucket (`runs/`), newest first, as a table: when each ended (UTC), how long it
    /// took, its status, what it wrote and sent to the target, and why it failed. Needs AWS
    /// credentials that may list and read the bucket (s3:ListBucket, s3:GetObject on runs/*);
    /// reads only the target names of raito.yml (no secret, and no `{{NAME}}` variable needs
    /// to be set).
    Status(StatusArgs),
}

#[derive(Debug, Args)]
struct StatusArgs {
    /// The raito.yml whose targets to show (a target with runs that is not in it is shown
    /// too, marked so).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,

    /// The bundle's bucket: the stack's `BucketName` output.
    #[arg(long, env = "RAITO_BUCKET", value_name = "BUCKET")]
    bucket: Option<String>,

    /// How many runs to show per target and step.
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    last: u16,
}

#[derive(Debug, Subcommand)]
enum AccessCommand {
    /// Prints exactly the statements `apply` would run for FILE (one block per access
    /// provider, on stdout) and changes nothing: the target's state is only read.
    Plan(AccessFileArgs),
    /// Applies FILE to the target: each access provider in its own transaction; writes one
    /// feedback per access provider (errors included) to --feedback and prints the statements
    /// it ran. Exit status 1 when any access provider failed.
    Apply(AccessApplyArgs),
    /// Writes the access that exists in the target and that Raito does not manage (roles and
    /// their grants), as Raito's access import file, without contacting Raito Cloud.
    Import(AccessImportArgs),
    /// Fetches Raito Cloud's export of the access providers of the target's data source into
    /// FILE (the access file format), without applying it. Uses `domain`, `api-user` and
    /// `api-secret` of raito.yml; creates a job in Raito for the export.
    Export(AccessExportArgs),
}

#[derive(Debug, Args)]
struct AccessFileArgs {
    #[command(flatten)]
    target: Target,

    /// The access file: Raito's export format, in YAML (or JSON): `accessProviders`, each with
    /// `id`, `name`, `namingHint`, `action`, `who`, `what`, `delete`.
    #[arg(long, value_name = "ACCESS.yaml")]
    file: PathBuf,
}

#[derive(Debug, Args)]
struct AccessApplyArgs {
    #[command(flatten)]
    file: AccessFileArgs,

    /// Where to write the feedback: a local path or `s3://bucket/key`.
    #[arg(long, value_name = "FILE")]
    feedback: String,
}

#[derive(Debug, Args)]
struct AccessImportArgs {
    #[command(flatten)]
    target: Target,

    /// Where to write the import file: a local path or `s3://bucket/key`.
    #[arg(long, value_name = "FILE")]
    out: String,
}

#[derive(Debug, Args)]
struct AccessExportArgs {
    #[command(flatten)]
    target: Target,

    /// Where to write the export, exactly as Raito serves it (YAML or JSON).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,

    /// Only the access providers that are out of sync (what an `apUpdate` would apply).
    #[arg(long)]
    out_of_sync: bool,

    #[command(flatten)]
    raito: RaitoArgs,
}

#[derive(Debug, Args)]
struct RaitoArgs {
    /// Raito Cloud's API base URL (default: raito.yml's `raito-url-override`, else
    /// https://api.raito.cloud/).
    #[arg(long, env = "RAITO_API_URL", value_name = "URL")]
    raito_url: Option<String>,

    /// The Cognito endpoint to sign in with (default: Raito's, in eu-central-1).
    #[arg(long, env = "RAITO_COGNITO_ENDPOINT", value_name = "URL")]
    cognito_endpoint: Option<String>,
}

#[derive(Debug, Args)]
struct IdentitiesArgs {
    #[command(flatten)]
    target: Target,

    /// Where to write the users file: a local path or `s3://bucket/key`.
    #[arg(long, value_name = "FILE")]
    out_users: String,

    /// Where to write the groups file: a local path or `s3://bucket/key`.
    #[arg(long, value_name = "FILE")]
    out_groups: String,
}

#[derive(Debug, Args)]
struct UsageArgs {
    #[command(flatten)]
    target: Target,

    /// Where to write the usage file (local path). When the statements exceed --part-bytes they
    /// are split into numbered parts beside it: `usage.json` becomes `usage-0001.json`,
    /// `usage-0002.json`, … A run that fits one part writes FILE itself.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,

    /// Only statements that started after this time (RFC 3339, e.g. 2026-11-01T00:00:00Z).
    /// Default: as far back as the target's usage window goes (PostgreSQL:
    /// pg-usage-window-days, 90 days).
    #[arg(long, value_name = "RFC3339")]
    since: Option<String>,

    /// The size cap of one part, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = sync::usage::DEFAULT_PART_BYTES)]
    part_bytes: u64,

    /// Stop after about this many seconds, at a second boundary; the summary's last start
    /// time is where to resume with --since.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
}

/// A `--only` value: a step's segment name (`metadata`, `identities`, `access`, `usage`).
fn only_step(value: &str) -> Result<Step, String> {
    Step::from_segment(value).ok_or_else(|| {
        let names: Vec<&str> = Step::ORDER.iter().map(|step| step.segment()).collect();
        format!("possible values: {}", names.join(", "))
    })
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The raito.yml to read.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,

    /// A target to run (its `name`); repeat for several. Default: every target.
    #[arg(long = "target", value_name = "NAME")]
    targets: Vec<String>,

    /// Run only this step (metadata, identities, access or usage: the data source, identity
    /// store, data access or data usage sync); repeat for several. Default: every step, in that
    /// order, each where the target has the id for it.
    #[arg(long, value_parser = only_step)]
    only: Vec<Step>,

    /// Where files are staged before the upload. Default: a temporary folder, removed
    /// afterwards.
    #[arg(long, value_name = "DIR")]
    stage_dir: Option<PathBuf>,

    #[command(flatten)]
    raito: RaitoArgs,

    /// Give up after this many seconds (the running job is marked failed).
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    timeout: u64,

    /// Seconds between two polls of an import's progress.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    poll_interval: f64,
}

#[derive(Debug, Args)]
struct Target {
    /// The raito.yml to read.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,

    /// The target to run (its `name` in raito.yml).
    #[arg(long, value_name = "NAME")]
    target: String,
}

#[derive(Debug, Args)]
struct MetadataArgs {
    #[command(flatten)]
    target: Target,

    /// Where to write the import file: a local path, or `s3://bucket/key` (multipart upload,
    /// no local copy). Written under a temporary name and moved into place when complete.
    #[arg(long, value_name = "FILE", required_unless_present = "print_meta")]
    out: Option<String>,

    /// Print the data source metadata (object types, permissions, usage levels) as JSON on
    /// stdout instead of syncing.
    #[arg(long, conflicts_with = "out")]
    print_meta: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    progress::init(matches!(cli.log_format, LogFormat::Json));
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("raito-sync: error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("raito-sync: error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once: most of the library's errors already
/// end with their cause.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only for a person: a redirected log keeps no escape codes.
        .with_ansi(std::io::stderr().is_terminal())
        // Through the progress display, which keeps its bars out of the log lines.
        .with_writer(progress::Writer(raito_common::logs::Tee::stderr()));
    match format {
        LogFormat::Text => builder.compact().init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Metadata(args) => metadata(args).await,
        Command::Identities(args) => identities(args).await,
        Command::Usage(args) => usage(args).await,
        Command::Access(command) => access(command).await,
        Command::Run(args) => run_targets(args).await,
        Command::Connectors => {
            print!("{}", connectors_listing());
            Ok(())
        }
        Command::Status(args) => status(args).await,
    }
}

/// The `connectors` listing: one block per connector of this build.
fn connectors_listing() -> String {
    let mut out = String::new();
    for connector in connectors::ALL {
        let replaces = connector
            .go_plugin
            .map(|plugin| format!(" (replaces {plugin})"))
            .unwrap_or_default();
        let syncs: Vec<&str> = connector.steps.iter().map(|s| s.segment()).collect();
        out.push_str(&format!(
            "{}{replaces}\n  syncs: {}\n  parameters: {}\n",
            connector.name,
            syncs.join(", "),
            connector.parameters.join(", ")
        ));
    }
    out
}

/// Loads the configuration, resolving secret references through AWS Secrets Manager.
async fn load_target(args: &Target) -> anyhow::Result<raito_common::config::Target> {
    Ok(load(args).await?.1)
}

/// The configuration and the target `args` name in it.
async fn load(args: &Target) -> anyhow::Result<(Config, raito_common::config::Target)> {
    let secrets = raito_common::aws::secrets::LazySecretsManager::new();
    let config = Config::load(&args.config, &secrets).await?;
    match config.target(&args.target) {
        Some(target) => {
            let target = target.clone();
            Ok((config, target))
        }
        None => bail!(
            "{}: no target named \"{}\" (targets: {})",
            args.config.display(),
            args.target,
            config.target_names()
        ),
    }
}

async fn metadata(args: MetadataArgs) -> anyhow::Result<()> {
    let target = load_target(&args.target).await?;
    let connector = connectors::build(&target)?;

    if args.print_meta {
        let Some(meta) = sync::metadata::data_source_metadata(connector.as_ref(), &target).await?
        else {
            bail!(
                "target \"{}\": the {} connector has no data source sync",
                target.name,
                connector.name()
            );
        };
        println!("{}", serde_json::to_string_pretty(&meta)?);
        return Ok(());
    }

    let out = args.out.context("--out is required")?;
    let destination = destination(&out).await?;
    let outcome = progress::step(
        &target.name,
        Step::DataSource,
        sync::metadata::run(
            connector.as_ref(),
            &target,
            DataSourceRequest::default(),
            destination,
        ),
    )
    .await?;
    print_summary(&target.name, "data source sync", &outcome);
    Ok(())
}

async fn identities(args: IdentitiesArgs) -> anyhow::Result<()> {
    let target = load_target(&args.target).await?;
    let connector = connectors::build(&target)?;
    let users = destination(&args.out_users).await?;
    let groups = match destination(&args.out_groups).await {
        Ok(groups) => groups,
        Err(error) => {
            users.abort().await;
            return Err(error);
        }
    };
    let outcome = progress::step(
        &target.name,
        Step::IdentityStore,
        sync::identities::run(connector.as_ref(), &target, users, groups),
    )
    .await?;
    print_summary(&target.name, "identity store sync", &outcome);
    Ok(())
}

async fn usage(args: UsageArgs) -> anyhow::Result<()> {
    use raito_common::connector::UsageRequest;
    use raito_common::sync::usage::{self, LocalParts};

    let since = args
        .since
        .as_deref()
        .map(parse_rfc3339)
        .transpose()
        .context("--since")?;
    let target = load_target(&args.target).await?;
    let connector = connectors::build(&target)?;
    let request = UsageRequest {
        since,
        deadline: args
            .timeout
            .map(|s| tokio::time::Instant::now() + std::time::Duration::from_secs(s)),
    };
    let mut parts = LocalParts::new(&args.out);
    let mut result = progress::step(
        &target.name,
        Step::DataUsage,
        usage::run(
            connector.as_ref(),
            &target,
            request,
            &mut parts,
            args.part_bytes,
        ),
    )
    .await?;
    // One part: it is FILE itself.
    if let Outcome::Completed(report) = &mut result.outcome
        && let [written] = report.written.as_mut_slice()
    {
        let part = parts.path(1);
        std::fs::rename(&part, &args.out)
            .with_context(|| format!("moving {} to {}", part.display(), args.out.display()))?;
        written.location = args.out.display().to_string();
    }
    let report = match &result.outcome {
        Outcome::Skipped { .. } => {
            print_summary(&target.name, "data usage sync", &result.outcome);
            return Ok(());
        }
        Outcome::Completed(report) => report,
    };
    let statements = report
        .counts
        .get(usage::count::STATEMENTS)
        .copied()
        .unwrap_or(0);
    let headline = format!(
        "data usage sync of target \"{}\": {statements} statements",
        target.name
    );
    print_report(&headline, report, "statements");
    match result.last_start_time {
        Some(last) => match format_rfc3339(last) {
            Some(since) => {
                eprintln!("  last start time: {last} (the next run: --since {since})");
            }
            None => eprintln!("  last start time: {last}"),
        },
        None => eprintln!("  no new statements"),
    }
    Ok(())
}

/// `--since`: an RFC 3339 time, `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` (a `t` or a space for
/// the `T`, as RFC 3339 allows) → unix epoch seconds.
fn parse_rfc3339(text: &str) -> anyhow::Result<i64> {
    let bad = || anyhow::anyhow!("{text:?} is not an RFC 3339 time such as 2026-11-01T00:00:00Z");
    // `time` takes any character between the date and the time: only these three are.
    if !matches!(text.as_bytes().get(10), Some(b'T' | b't' | b' ')) {
        return Err(bad());
    }
    OffsetDateTime::parse(text, &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|_| bad())
}

/// Unix epoch seconds → `YYYY-MM-DDTHH:MM:SSZ`; `None` outside the years 0 to 9999, which RFC
/// 3339 cannot write.
fn format_rfc3339(epoch: i64) -> Option<String> {
    let time = OffsetDateTime::from_unix_timestamp(epoch).ok()?;
    time.format(&Rfc3339).ok()
}

/// The Raito Cloud clients of raito.yml: the top-level `domain`, `api-user` and `api-secret`,
/// and a target's own where it writes them.
fn raito_clients(
    config: &Config,
    file: &std::path::Path,
    args: &RaitoArgs,
) -> raito_common::raito::Clients {
    use raito_common::raito;
    use raito_common::secrecy::ExposeSecret;

    let missing = match (&config.domain, &config.api_user, &config.api_secret) {
        (Some(_), Some(_), Some(_)) => None,
        _ => Some(format!(
            "{}: `domain`, `api-user` and `api-secret` are needed to run against Raito Cloud",
            file.display()
        )),
    };
    let mut template = raito::ClientConfig::new(
        config.domain.clone().unwrap_or_default(),
        config.api_user.clone().unwrap_or_default(),
        config
            .api_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
            .unwrap_or_default()
            .into(),
    );
    if let Some(url) = args.raito_url.as_ref().or(config.raito_url.as_ref()) {
        template.base_url = url.clone();
    }
    template.cognito_endpoint = args.cognito_endpoint.clone();
    raito::Clients::new(template, missing)
}

async fn run_targets(args: RunArgs) -> anyhow::Result<()> {
    use raito_common::sync::run::{self, Limits, Selection};
    use raito_common::sync::staging::Staging;

    let secrets = raito_common::aws::secrets::LazySecretsManager::new();
    let config = Config::load(&args.config, &secrets).await?;
    let raito = raito_clients(&config, &args.config, &args.raito);

    let temporary;
    let stage_dir = match &args.stage_dir {
        Some(dir) => dir.clone(),
        None => {
            temporary = tempfile::tempdir().context("creating a temporary staging folder")?;
            temporary.path().to_path_buf()
        }
    };
    let limits = Limits {
        poll_interval: std::time::Duration::from_secs_f64(args.poll_interval.max(0.0)),
        ..Limits::until(tokio::time::Instant::now() + std::time::Duration::from_secs(args.timeout))
    };
    let selection = Selection {
        targets: args.targets.clone(),
        ..Default::default()
    };
    let steps: Vec<Step> = if args.only.is_empty() {
        Step::ORDER.to_vec()
    } else {
        args.only.clone()
    };
    // The steps are measured inside `run::run`; the display shows them while they go.
    let display = progress::Display::start();
    let summary = run::run(
        &raito,
        &config,
        &selection,
        &steps,
        &Staging::Local(stage_dir),
        limits,
    )
    .await?;
    for target in &summary.targets {
        for step in &target.steps {
            if let Some(which) = Step::from_name(step.step) {
                let elapsed = std::time::Duration::from_millis(step.elapsed_ms);
                progress::ended(&target.name, which, step.counted, elapsed);
            }
        }
    }
    drop(display);
    println!("{}", serde_json::to_string_pretty(&summary)?);
    for target in &summary.targets {
        eprintln!(
            "{}: {:?}{}",
            target.name,
            target.status,
            target
                .message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        );
    }
    if summary.failed() {
        bail!("some targets failed; see above");
    }
    Ok(())
}

async fn access(command: AccessCommand) -> anyhow::Result<()> {
    use raito_common::connector::ApplyMode;
    use raito_common::sync::access::{self, ExportInput};

    let (args, mode, feedback) = match command {
        AccessCommand::Plan(args) => (args, ApplyMode::Plan, None),
        AccessCommand::Apply(args) => (args.file, ApplyMode::Apply, Some(args.feedback)),
        AccessCommand::Import(args) => return access_import(args).await,
        AccessCommand::Export(args) => return access_export(args).await,
    };
    let target = load_target(&args.target).await?;
    let connector = connectors::build(&target)?;
    let feedback = match &feedback {
        Some(out) => Some(destination(out).await?),
        None => None,
    };
    // Printed while the step runs: with the bars out of the way.
    let mut print =
        |outcome: &connector::AccessOutcome| progress::suspend(|| print_outcome(mode, outcome));
    let applied = progress::step(
        &target.name,
        Step::DataAccess,
        access::apply(
            connector.as_ref(),
            &target,
            &ExportInput::File(args.file.clone()),
            mode,
            feedback,
            &mut print,
        ),
    )
    .await?;
    let Some(applied) = applied else {
        bail!(
            "target \"{}\": the {} connector has no data access sync",
            target.name,
            connector.name()
        );
    };
    let verb = match mode {
        ApplyMode::Plan => "planned",
        ApplyMode::Apply => "applied",
    };
    eprintln!(
        "access of target \"{}\" {verb} from {} in {:.2} s",
        target.name,
        args.file.display(),
        applied.report.elapsed.as_secs_f64()
    );
    print_counts(&applied.report.counts);
    for written in &applied.report.written {
        eprintln!(
            "  feedback: {} ({} access providers)",
            written.location, written.elements
        );
    }
    let failed = applied
        .report
        .counts
        .get(access::count::FAILED)
        .copied()
        .unwrap_or(0);
    if failed > 0 {
        bail!("{failed} access provider(s) could not be {verb}; see the errors above");
    }
    Ok(())
}

/// One access provider's block of a plan or apply, on stdout: a comment naming it, its
/// statements, its errors and warnings as comments.
fn print_outcome(mode: raito_common::connector::ApplyMode, outcome: &connector::AccessOutcome) {
    let feedback = &outcome.feedback;
    let what = match (outcome.statements.len(), mode) {
        (0, _) if feedback.errors.is_empty() => "up to date".to_owned(),
        (0, _) => "not applied".to_owned(),
        (n, raito_common::connector::ApplyMode::Plan) => format!("{n} statement(s) to run"),
        (n, raito_common::connector::ApplyMode::Apply) => format!("{n} statement(s) run"),
    };
    println!(
        "-- access provider {:?} (role {:?}): {what}",
        feedback.access_provider, feedback.actual_name
    );
    for error in &feedback.errors {
        println!("-- error: {}", error.replace('\n', " "));
    }
    for warning in &feedback.warnings {
        println!("-- warning: {}", warning.replace('\n', " "));
    }
    for statement in &outcome.statements {
        println!("{statement};");
    }
}

async fn access_import(args: AccessImportArgs) -> anyhow::Result<()> {
    let target = load_target(&args.target).await?;
    let connector = connectors::build(&target)?;
    let destination = destination(&args.out).await?;
    let outcome = progress::step(
        &target.name,
        Step::DataAccess,
        sync::access::import(connector.as_ref(), &target, destination),
    )
    .await?;
    print_summary(&target.name, "access import", &outcome);
    Ok(())
}

async fn access_export(args: AccessExportArgs) -> anyhow::Result<()> {
    use raito_common::raito::{JobStatus, JobTarget};
    use std::time::Duration;

    let (config, target) = load(&args.target).await?;
    let Some(data_source) = target.data_source_id.as_deref() else {
        bail!("target \"{}\" has no data-source-id", target.name);
    };
    let raito = raito_clients(&config, &args.target.config, &args.raito)
        .client(&target.settings.raito)
        .map_err(anyhow::Error::msg)?;
    let job_target = JobTarget::of(Some(data_source), None).context("the job's target")?;
    let job = raito.create_job(&job_target).await?;
    // Waiting for Raito's export can take a while: shown as a data access step of the target.
    let result = progress::step(&target.name, Step::DataAccess, async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
        let export = sync::access::request_export(
            &raito,
            &job,
            data_source,
            args.out_of_sync,
            deadline,
            Duration::from_secs(1),
        )
        .await?;
        let destination = Destination::file(&args.out).await?;
        Ok::<_, anyhow::Error>(export.save(&target, destination).await?)
    })
    .await;
    let (status, errors) = match &result {
        Ok(_) => (JobStatus::Completed, Vec::new()),
        Err(error) => (JobStatus::Failed, vec![format!("{error:#}")]),
    };
    if let Err(error) = raito.update_job(&job, &job_target, status, errors).await {
        tracing::warn!(%error, "could not update the job");
    }
    let written = result?;
    eprintln!(
        "access export of data source {data_source:?} (target \"{}\"): {} ({} bytes)",
        target.name, written.location, written.bytes
    );
    Ok(())
}

/// What `status` says when it has no bucket.
const NO_BUCKET: &str = "no bucket to read the run history from: pass --bucket BUCKET or set \
     RAITO_BUCKET (the bundle's bucket, the stack's `BucketName` output: aws cloudformation \
     describe-stacks --stack-name STACK --query \"Stacks[0].Outputs[?OutputKey=='BucketName'].OutputValue\" \
     --output text)";

/// `status`: the last runs of every target and step, from the run history in the bucket.
async fn status(args: StatusArgs) -> anyhow::Result<()> {
    use raito_common::history::{self, History};

    let Some(bucket) = args.bucket.filter(|b| !b.trim().is_empty()) else {
        bail!(NO_BUCKET);
    };
    let names = target_names(&args.config).await?;
    let aws = raito_common::aws::load_config().await;
    let history = History::new(raito_common::aws::s3_client(&aws), bucket.clone());
    let last = usize::from(args.last);

    // Which targets have runs of each step: those of raito.yml in its order, then the others.
    let mut shown: Vec<(Step, String, bool)> = Vec::new();
    for step in Step::ORDER {
        let recorded = history.targets(step).await.map_err(history_error)?;
        shown.extend(
            names
                .iter()
                .filter(|name| recorded.contains(name))
                .map(|name| (step, name.clone(), true)),
        );
        shown.extend(
            recorded
                .into_iter()
                .filter(|name| !names.contains(name))
                .map(|name| (step, name, false)),
        );
    }
    // Each target's runs read at the same time: with tens of targets, one after the other
    // would take seconds from a laptop.
    let mut reads = tokio::task::JoinSet::new();
    for (index, (step, target, _)) in shown.iter().enumerate() {
        let (history, step, target) = (history.clone(), *step, target.clone());
        reads.spawn(async move { (index, history.recent(step, &target, last).await) });
    }
    let mut runs: Vec<Vec<history::Record>> = vec![Vec::new(); shown.len()];
    while let Some(read) = reads.join_next().await {
        let (index, records) = read.context("reading the run history")?;
        runs[index] = records.map_err(history_error)?;
    }
    let mut records = Vec::new();
    for ((_, _, in_config), mut target_runs) in shown.iter().zip(runs) {
        if !in_config {
            for record in &mut target_runs {
                record.target.push_str(" (not in raito.yml)");
            }
        }
        records.extend(target_runs);
    }
    if records.is_empty() {
        println!(
            "no runs recorded in s3://{bucket}/{}: no sync function has run a target yet, or \
             its runs have expired",
            history::RUNS_PREFIX
        );
        return Ok(());
    }
    print!("{}", history::table(&records));
    Ok(())
}

/// A run history error, on one line, without the raw S3 response.
fn history_error(error: raito_common::history::Error) -> anyhow::Error {
    use raito_common::history::Error;
    use raito_common::pending::Error::S3;
    let error = match error {
        Error::Bucket(S3 {
            operation,
            bucket,
            key,
            message,
        }) => Error::Bucket(S3 {
            operation,
            bucket,
            key,
            message: without_sdk_debug(&message).to_owned(),
        }),
        other => other,
    };
    let text = error.to_string();
    anyhow::anyhow!(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// An AWS SDK error's message (`DisplayErrorContext`) without the `Debug` of the error that it
/// appends in parentheses: the raw response, its headers and body, pages a person does not
/// read; the message before it says what failed.
fn without_sdk_debug(message: &str) -> &str {
    let variants = [
        "ConstructionFailure",
        "TimeoutError",
        "DispatchFailure",
        "ResponseError",
        "ServiceError",
    ];
    variants
        .iter()
        .filter_map(|variant| message.find(&format!(" ({variant}(")))
        .min()
        .map_or(message, |at| &message[..at])
}

/// The target names of raito.yml, read without its secrets: every `{{secret:...}}` value reads
/// as absent and `secret:` merges nothing, and an unset `{{NAME}}` variable reads as empty
/// (the operator's laptop has neither; only the names are needed).
async fn target_names(path: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let text = tokio::fs::read_to_string(path)
        .await
        .with_context(|| format!("{}: cannot read the configuration file", path.display()))?;
    let env = |name: &str| Some(std::env::var(name).unwrap_or_default());
    let config = Config::from_yaml_str_with_env(
        &text,
        &path.display().to_string(),
        &raito_common::aws::secrets::Unread,
        &env,
    )
    .await?;
    Ok(config.targets.into_iter().map(|t| t.name).collect())
}

/// A local path, or `s3://bucket/key`.
async fn destination(out: &str) -> anyhow::Result<Destination> {
    if let Some(location) = out.strip_prefix("s3://") {
        let Some((bucket, key)) = location
            .split_once('/')
            .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        else {
            bail!("--out {out}: expected s3://bucket/key");
        };
        let aws = raito_common::aws::load_config().await;
        return Ok(Destination::s3(
            raito_common::aws::s3_client(&aws),
            bucket,
            key,
        ));
    }
    Ok(Destination::file(out).await?)
}

/// A summary a person can read, on stderr (stdout stays free for data).
fn print_summary(target: &str, step: &str, outcome: &Outcome) {
    match outcome {
        Outcome::Skipped { reason } => {
            eprintln!("{step} of target \"{target}\" skipped: {reason}");
        }
        Outcome::Completed(report) => {
            let total: u64 = report.counts.values().sum();
            let headline = format!("{step} of target \"{target}\": {total} objects");
            print_report(&headline, report, "elements");
        }
    }
}

/// What a completed step did: `headline` with its time, the counts, and each output with its
/// size and number of `elements`.
fn print_report(headline: &str, report: &sync::Report, elements: &str) {
    eprintln!("{headline} in {:.2} s", report.elapsed.as_secs_f64());
    print_counts(&report.counts);
    for written in &report.written {
        eprintln!(
            "  output: {} ({} bytes, {} {elements})",
            written.location, written.bytes, written.elements
        );
    }
}

/// One line per count, the names aligned, on stderr.
fn print_counts(counts: &std::collections::BTreeMap<String, u64>) {
    let width = counts.keys().map(String::len).max().unwrap_or(0);
    for (kind, count) in counts {
        eprintln!("  {kind:<width$}  {count:>9}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_rfc_3339_in_any_offset() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_rfc3339("2026-11-20T10:00:05.5+01:00").unwrap(),
            1_795_165_205
        );
        assert_eq!(
            parse_rfc3339("2026-11-20 09:00:05z").unwrap(),
            1_795_165_205,
            "a space and a lower-case z, as RFC 3339 allows"
        );
        assert_eq!(
            parse_rfc3339("2024-02-29t23:59:59-00:30").unwrap(),
            1_709_252_999
        );
        for refused in [
            "2026-11-20",
            "2026-11-20T10:00:05",
            "2026-11-20x10:00:05Z",
            "2026-11-20T10:00:05+0100",
            "2026-02-30T10:00:05Z",
            "2026-13-01T10:00:05Z",
            "1795165205",
            "",
        ] {
            let error = parse_rfc3339(refused).unwrap_err().to_string();
            assert!(
                error.contains("is not an RFC 3339 time"),
                "{refused:?}: {error}"
            );
        }
    }

    #[test]
    fn the_next_since_is_written_back_in_utc() {
        assert_eq!(format_rfc3339(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(
            format_rfc3339(1_709_252_999).as_deref(),
            Some("2024-03-01T00:29:59Z")
        );
        for epoch in [-86_400, 951_782_400, 1_795_165_205] {
            let text = format_rfc3339(epoch).unwrap();
            assert_eq!(parse_rfc3339(&text).unwrap(), epoch, "{text}");
        }
        assert_eq!(format_rfc3339(i64::MAX), None, "past the year 9999");
    }

    #[test]
    fn an_s3_error_is_its_message_without_the_raw_response() {
        let message = "service error: NoSuchBucket: The specified bucket does not exist \
            (ServiceError(ServiceError { source: NoSuchBucket, raw: Response { status: 404 } }))";
        assert_eq!(
            without_sdk_debug(message),
            "service error: NoSuchBucket: The specified bucket does not exist"
        );
        let error = history_error(raito_common::history::Error::Bucket(
            raito_common::pending::Error::S3 {
                operation: "listing",
                bucket: "b".into(),
                key: "runs/metadata/".into(),
                message:
                    "dispatch failure:\nother: no credentials (DispatchFailure(DispatchFailure { \
                          source: ConnectorError }))"
                        .into(),
            },
        ))
        .to_string();
        assert!(
            error.starts_with(
                "listing s3://b/runs/metadata/: dispatch failure: other: no credentials; check"
            ),
            "{error}"
        );
        assert!(!error.contains('\n'), "{error}");
        assert_eq!(
            without_sdk_debug("plain words (not debug)"),
            "plain words (not debug)"
        );
    }

    #[test]
    fn an_error_says_each_cause_once() {
        let io = std::io::Error::other("disk full");
        let said = anyhow::Error::new(raito_common::output::Error::Io {
            path: "out.json".into(),
            source: io,
        });
        assert_eq!(one_line(&said), "out.json: disk full");
        let unsaid =
            anyhow::Error::new(std::io::Error::other("refused")).context("creating out.json");
        assert_eq!(one_line(&unsaid), "creating out.json: refused");
    }
}
