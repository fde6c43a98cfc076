//! `raito-standin`: the Raito Cloud stand-in as a program, for the demo. Prints the base URL as
//! the first line of stdout, then serves on 127.0.0.1 until killed. Logs go to stderr
//! (`RUST_LOG`).

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use clap::Parser;

/// Serves a local stand-in for Raito Cloud on 127.0.0.1.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The organization's domain.
    #[arg(long, default_value = "demo")]
    domain: String,
    /// The API user that may sign in.
    #[arg(long, default_value = "api-user")]
    api_user: String,
    /// The API user's password.
    #[arg(long, default_value = "api-secret", env = "RAITO_STANDIN_API_SECRET")]
    api_secret: String,
    /// A data source id that exists (repeat for more).
    #[arg(long = "data-source", value_name = "ID")]
    data_sources: Vec<String>,
    /// An identity store id that exists (repeat for more).
    #[arg(long = "identity-store", value_name = "ID")]
    identity_stores: Vec<String>,
    /// How long an id token is valid, in seconds.
    #[arg(long, default_value_t = 3600)]
    token_lifetime_secs: u64,
    /// How long an import subtask takes, in milliseconds.
    #[arg(long, default_value_t = 0)]
    processing_delay_ms: u64,
    /// The format of access export files: `yaml` (as Raito Cloud) or `json`.
    #[arg(long, default_value = "yaml", value_parser = ["yaml", "json"])]
    export_format: String,
    /// How long an access export's download URL is valid, in seconds.
    #[arg(long, default_value_t = 3600)]
    export_url_lifetime_secs: u64,
    /// Access providers Raito manages, as `<DATA SOURCE ID>=<FILE>`: a JSON array of access
    /// providers in the export shape (`id`, `name`, `namingHint`, `action`, `who`, `what`...;
    /// `who.inheritFrom` lists Raito ids). Repeat for more.
    #[arg(long = "access-providers", value_name = "DS=FILE")]
    access_providers: Vec<String>,
    /// Keep reading the files of --access-providers (every 100 ms) and put their access
    /// providers again when a file's text changes: how a demo changes an access provider as a
    /// user does in Raito (one that changed is out of sync until its next feedback). An access
    /// provider left out of the file is kept; an unreadable or invalid file is logged and
    /// skipped until it changes again.
    #[arg(long, requires = "access_providers")]
    watch_access_providers: bool,
}

/// One `--access-providers DS=FILE`, with the text last put from it.
struct Seed {
    data_source: String,
    path: String,
    text: String,
}

/// Seeds the access providers of every `--access-providers DS=FILE`.
fn seed_access_providers(
    standin: &raito_standin::StandIn,
    seeds: &[String],
) -> Result<Vec<Seed>, String> {
    let mut seeded = Vec::new();
    for seed in seeds {
        let (data_source, path) = seed.split_once('=').ok_or_else(|| {
            format!("--access-providers {seed:?}: expected <DATA SOURCE ID>=<FILE>")
        })?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--access-providers: cannot read {path:?}: {e}"))?;
        put_access_providers(standin, data_source, path, &text)?;
        seeded.push(Seed {
            data_source: data_source.to_owned(),
            path: path.to_owned(),
            text,
        });
    }
    Ok(seeded)
}

/// Puts every access provider of `text`, the content of the seed file `path`; returns how many.
fn put_access_providers(
    standin: &raito_standin::StandIn,
    data_source: &str,
    path: &str,
    text: &str,
) -> Result<usize, String> {
    let list: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| {
        format!("--access-providers: {path:?} is not a JSON array of access providers: {e}")
    })?;
    let count = list.len();
    for (i, access_provider) in list.into_iter().enumerate() {
        standin
            .put_access_provider(data_source, access_provider)
            .map_err(|e| format!("--access-providers: {path:?} element {i}: {e}"))?;
    }
    Ok(count)
}

/// `--watch-access-providers`: puts a seed file's access providers again whenever its text
/// changes, until the process is killed. Polling (not inotify): the files are small, and an
/// editor that replaces the file (write to a temp file, rename) is seen like any other write.
async fn watch_access_providers(standin: &raito_standin::StandIn, mut seeds: Vec<Seed>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        for seed in &mut seeds {
            let text = match std::fs::read_to_string(&seed.path) {
                Ok(text) if text != seed.text => text,
                Ok(_) => continue,
                Err(error) => {
                    // Between an editor's delete and its rename: the next tick sees the file.
                    tracing::debug!(path = %seed.path, %error, "access providers not readable");
                    continue;
                }
            };
            // Remembered before putting, so an invalid file is reported once, not every tick.
            seed.text = text;
            match put_access_providers(standin, &seed.data_source, &seed.path, &seed.text) {
                Ok(count) => tracing::info!(
                    path = %seed.path,
                    data_source = %seed.data_source,
                    count,
                    "access providers put again"
                ),
                Err(error) => tracing::error!(%error, "access providers not put again"),
            }
        }
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Plain text in a log file (the demo's), colours only on a terminal.
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let standin = raito_standin::start(
        listener,
        raito_standin::Config {
            domain: args.domain,
            api_user: args.api_user,
            api_secret: args.api_secret,
            data_sources: args.data_sources,
            identity_stores: args.identity_stores,
            token_lifetime: Duration::from_secs(args.token_lifetime_secs),
            processing_delay: Duration::from_millis(args.processing_delay_ms),
            export_format: if args.export_format == "json" {
                raito_standin::ExportFormat::Json
            } else {
                raito_standin::ExportFormat::Yaml
            },
            export_url_lifetime: Duration::from_secs(args.export_url_lifetime_secs),
            other_organizations: Vec::new(),
        },
    )
    .await;
    let seeds =
        seed_access_providers(&standin, &args.access_providers).map_err(std::io::Error::other)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", standin.base_url())?;
    stdout.flush()?;
    drop(stdout);
    if args.watch_access_providers {
        watch_access_providers(&standin, seeds).await;
    }
    std::future::pending::<()>().await;
    Ok(())
}
