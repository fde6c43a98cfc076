//! `raito-standin`: the Raito Cloud stand-in as a program, for the demo. Prints the base URL as
//! the first line of stdout, then serves on 127.0.0.1 until killed. Logs go to stderr
//! (`RUST_LOG`).

use std::io::Write as _;
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
}

/// Seeds the access providers of every `--access-providers DS=FILE`.
fn seed_access_providers(standin: &raito_standin::StandIn, seeds: &[String]) -> Result<(), String> {
    for seed in seeds {
        let (data_source, path) = seed.split_once('=').ok_or_else(|| {
            format!("--access-providers {seed:?}: expected <DATA SOURCE ID>=<FILE>")
        })?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--access-providers: cannot read {path:?}: {e}"))?;
        let list: Vec<serde_json::Value> = serde_json::from_str(&text).map_err(|e| {
            format!("--access-providers: {path:?} is not a JSON array of access providers: {e}")
        })?;
        for (i, access_provider) in list.into_iter().enumerate() {
            standin
                .put_access_provider(data_source, access_provider)
                .map_err(|e| format!("--access-providers: {path:?} element {i}: {e}"))?;
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
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
    seed_access_providers(&standin, &args.access_providers).map_err(std::io::Error::other)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", standin.base_url())?;
    stdout.flush()?;
    drop(stdout);
    std::future::pending::<()>().await;
    Ok(())
}
