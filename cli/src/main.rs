//! `raito-sync`: runs the sync steps of the Lambda functions locally, from the command line,
//! with the same library code. Results go to a local file or an S3 object; nothing is sent
//! to Raito Cloud by the commands here.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use raito_common::config::Config;
use raito_common::connector::{self, DataSourceRequest, Step};
use raito_common::output::Destination;
use raito_common::sync::{self, Outcome};

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
    /// Runs the syncs of your targets once and reports them to Raito Cloud (or a stand-in),
    /// as the Lambda functions do: a job per target, its task events, the staged file
    /// uploaded and imported, then endOfTargetsSync. Uses `domain`, `api-user` and
    /// `api-secret` of raito.yml.
    Run(RunArgs),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Only {
    /// The data source (metadata) sync.
    Metadata,
    /// The identity store sync (users and groups).
    Identities,
    /// The data usage sync (statements since Raito's last one).
    Usage,
}

impl Only {
    fn step(self) -> Step {
        match self {
            Only::Metadata => Step::DataSource,
            Only::Identities => Step::IdentityStore,
            Only::Usage => Step::DataUsage,
        }
    }
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The raito.yml to read.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,

    /// A target to run (its `name`); repeat for several. Default: every target.
    #[arg(long = "target", value_name = "NAME")]
    targets: Vec<String>,

    /// Run only this step; repeat for several. Default: every step (data source, identity
    /// store, then data usage), each where the target has the id for it.
    #[arg(long, value_enum)]
    only: Vec<Only>,

    /// Where files are staged before the upload. Default: a temporary folder, removed
    /// afterwards.
    #[arg(long, value_name = "DIR")]
    stage_dir: Option<PathBuf>,

    /// Raito Cloud's API base URL.
    #[arg(
        long,
        env = "RAITO_API_URL",
        default_value = "https://api.raito.cloud/"
    )]
    raito_url: String,

    /// The Cognito endpoint to sign in with (default: Raito's, in eu-central-1).
    #[arg(long, env = "RAITO_COGNITO_ENDPOINT", value_name = "URL")]
    cognito_endpoint: Option<String>,

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
            eprintln!("raito-sync: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
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
        Command::Run(args) => run_targets(args).await,
    }
}

/// Loads the configuration, resolving secret references through AWS Secrets Manager.
async fn load_target(args: &Target) -> anyhow::Result<raito_common::config::Target> {
    let secrets = raito_common::aws::secrets::LazySecretsManager::new();
    let config = Config::load(&args.config, &secrets).await?;
    match config.target(&args.target) {
        Some(target) => Ok(target.clone()),
        None => bail!(
            "{}: no target named \"{}\" (targets: {})",
            args.config.display(),
            args.target,
            config
                .targets
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

async fn metadata(args: MetadataArgs) -> anyhow::Result<()> {
    let target = load_target(&args.target).await?;
    let connector = connector::build(&target)?;

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
    let outcome = sync::metadata::run(
        connector.as_ref(),
        &target,
        DataSourceRequest::default(),
        destination,
    )
    .await?;
    print_summary(&target.name, "data source sync", &outcome);
    Ok(())
}

async fn identities(args: IdentitiesArgs) -> anyhow::Result<()> {
    let target = load_target(&args.target).await?;
    let connector = connector::build(&target)?;
    let users = destination(&args.out_users).await?;
    let groups = match destination(&args.out_groups).await {
        Ok(groups) => groups,
        Err(error) => {
            users.abort().await;
            return Err(error);
        }
    };
    let outcome = sync::identities::run(connector.as_ref(), &target, users, groups).await?;
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
    let connector = connector::build(&target)?;
    let request = UsageRequest {
        since,
        deadline: args
            .timeout
            .map(|s| tokio::time::Instant::now() + std::time::Duration::from_secs(s)),
    };
    let mut parts = LocalParts::new(&args.out);
    let mut result = usage::run(
        connector.as_ref(),
        &target,
        request,
        &mut parts,
        args.part_bytes,
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
    let statements = report.counts.get("statements").copied().unwrap_or(0);
    eprintln!(
        "data usage sync of target \"{}\": {statements} statements in {:.2} s",
        target.name,
        report.elapsed.as_secs_f64()
    );
    let width = report.counts.keys().map(String::len).max().unwrap_or(0);
    for (kind, count) in &report.counts {
        eprintln!("  {kind:<width$}  {count:>9}");
    }
    for written in &report.written {
        eprintln!(
            "  output: {} ({} bytes, {} statements)",
            written.location, written.bytes, written.elements
        );
    }
    match result.last_start_time {
        Some(last) => eprintln!(
            "  last start time: {last} (the next run: --since {})",
            format_rfc3339(last)
        ),
        None => eprintln!("  no new statements"),
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` → unix epoch seconds.
fn parse_rfc3339(text: &str) -> anyhow::Result<i64> {
    let bad = || anyhow::anyhow!("{text:?} is not an RFC 3339 time such as 2026-11-01T00:00:00Z");
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> anyhow::Result<i64> {
        text.get(r).and_then(|s| s.parse().ok()).ok_or_else(bad)
    };
    let (y, mo, d, h, mi, s) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        zone if zone.len() == 6 && (zone.starts_with('+') || zone.starts_with('-')) => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let hh: i64 = zone[1..3].parse().map_err(|_| bad())?;
            let mm: i64 = zone[4..6].parse().map_err(|_| bad())?;
            sign * (hh * 3600 + mm * 60)
        }
        _ => return Err(bad()),
    };
    // Days from civil (Howard Hinnant).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * ((mo + 9) % 12) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Ok(days * 86_400 + h * 3600 + mi * 60 + s - offset)
}

/// Unix epoch seconds → `YYYY-MM-DDTHH:MM:SSZ`.
fn format_rfc3339(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

async fn run_targets(args: RunArgs) -> anyhow::Result<()> {
    use raito_common::raito;
    use raito_common::secrecy::ExposeSecret;
    use raito_common::sync::run::{self, Limits, Selection};
    use raito_common::sync::staging::Staging;

    let secrets = raito_common::aws::secrets::LazySecretsManager::new();
    let config = Config::load(&args.config, &secrets).await?;
    let file = args.config.display();
    let (Some(domain), Some(user), Some(secret)) =
        (&config.domain, &config.api_user, &config.api_secret)
    else {
        bail!(
            "{file}: `domain`, `api-user` and `api-secret` are needed to run against Raito Cloud"
        );
    };
    let mut client = raito::ClientConfig::new(
        domain.clone(),
        user.clone(),
        secret.expose_secret().to_owned().into(),
    );
    client.base_url = args.raito_url.clone();
    client.cognito_endpoint = args.cognito_endpoint.clone();
    let raito = raito::Client::new(client)?;

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
        vec![Step::DataSource, Step::IdentityStore, Step::DataUsage]
    } else {
        args.only.iter().map(|only| only.step()).collect()
    };
    let summary = run::run(
        &raito,
        &config,
        &selection,
        &steps,
        &Staging::Local(stage_dir),
        limits,
    )
    .await?;
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
            eprintln!(
                "{step} of target \"{target}\": {total} objects in {:.2} s",
                report.elapsed.as_secs_f64()
            );
            let width = report.counts.keys().map(String::len).max().unwrap_or(0);
            for (kind, count) in &report.counts {
                eprintln!("  {kind:<width$}  {count:>9}");
            }
            for written in &report.written {
                eprintln!(
                    "  output: {} ({} bytes, {} elements)",
                    written.location, written.bytes, written.elements
                );
            }
        }
    }
}
