//! Serves a generated tenant on a loopback port and prints its base URL (first line of
//! stdout), for benchmarks and manual runs: `graph-standin --users 100000 --groups 10000`.
//! Tenant `contoso`, client `app-1`, secret `app-secret`.

use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Users to generate.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Groups to generate.
    #[arg(long, default_value_t = 100)]
    groups: usize,
    /// Groups each user is in.
    #[arg(long, default_value_t = 3)]
    groups_per_user: usize,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let config = graph_standin::generated(args.users, args.groups, args.groups_per_user);
    let standin = graph_standin::start(listener, config).await;
    println!("{}", standin.base_url());
    tokio::signal::ctrl_c().await?;
    eprintln!(
        "graph-standin: {} Graph requests served",
        standin.requests()
    );
    Ok(())
}
