//! Serves a generated Snowflake account on a loopback port and prints its URL (one line on
//! stdout), for benchmarks and manual runs:
//! `snowflake-standin --columns 1000000 --users 100000 --latency-ms 50 --public-key k.pub --user RAITO_SYNC`.
//! The account is `RAITO-STANDIN` (locator `XY12345`); the user named by `--user` gets the
//! public key, the default role `RAITO_SYNC` (MANAGE GRANTS) and the warehouse `COMPUTE_WH`.
//! `--queries N` adds a query history of N queries, `--query-step-ms` apart, the last one
//! ending four hours before the start (so every one is in QUERY_HISTORY and ACCESS_HISTORY).

use std::time::Duration;

use clap::Parser;
use snowflake_standin::Options;

#[derive(Parser)]
struct Args {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Columns to generate (in tables of 20, schemas of 50 tables).
    #[arg(long, default_value_t = 10_000)]
    columns: usize,
    /// Users to generate.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// How long every statement runs, in milliseconds.
    #[arg(long, default_value_t = 0)]
    statement_delay_ms: u64,
    /// Rows per result partition.
    #[arg(long, default_value_t = 10_000)]
    rows_per_partition: usize,
    /// The public key (PEM) of `--user`, for key-pair JWTs.
    #[arg(long)]
    public_key: std::path::PathBuf,
    /// The user that connects (created when the generated account has none of that name).
    #[arg(long, default_value = "RAITO_SYNC")]
    user: String,
    /// Queries in ACCOUNT_USAGE.QUERY_HISTORY (and ACCESS_HISTORY).
    #[arg(long, default_value_t = 0)]
    queries: usize,
    /// Milliseconds between the starts of two queries of the history.
    #[arg(long, default_value_t = 1000)]
    query_step_ms: u64,
    /// A Standard Edition account: no ACCESS_HISTORY, no masking or row access policies.
    #[arg(long)]
    standard_edition: bool,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let public_key = std::fs::read_to_string(&args.public_key)?;
    let mut account = snowflake_standin::generate(args.columns, args.users)
        .with_sync_user(&args.user, &public_key);
    account.standard_edition = args.standard_edition;
    if args.queries > 0 {
        let step =
            time::Duration::milliseconds(i64::try_from(args.query_step_ms).unwrap_or(i64::MAX));
        // The last query starts four hours and one step before now, and runs under 5 s:
        // past ACCESS_HISTORY's 3 h latency.
        let span = step.saturating_mul(i32::try_from(args.queries).unwrap_or(i32::MAX));
        let start = time::OffsetDateTime::now_utc() - time::Duration::hours(4) - span;
        account.query_history =
            snowflake_standin::generate_query_history(args.queries, start, step, &account);
    }
    let options = Options {
        latency: Duration::from_millis(args.latency_ms),
        statement_delay: Duration::from_millis(args.statement_delay_ms),
        rows_per_partition: args.rows_per_partition,
        ..Options::default()
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let standin = snowflake_standin::serve(listener, account, options);
    println!("{}", standin.url);
    tokio::signal::ctrl_c().await?;
    let served = standin.requests();
    eprintln!(
        "snowflake-standin: {} statements submitted, {} polls, {} partitions served",
        served.submitted, served.polls, served.partitions
    );
    Ok(())
}
