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
        },
    )
    .await;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", standin.base_url())?;
    stdout.flush()?;
    drop(stdout);
    std::future::pending::<()>().await;
    Ok(())
}
