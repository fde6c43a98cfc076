//! The `snowflake-standin` binary as dev/bench.sh runs it: a generated account, the given
//! public key on the given user, its URL on the first line of stdout.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn the_binary_serves_a_generated_account_to_the_given_key() {
    let key = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-keys/client.pub");
    let mut child = Command::new(env!("CARGO_BIN_EXE_snowflake-standin"))
        .args([
            "--columns",
            "100",
            "--users",
            "12",
            "--latency-ms",
            "1",
            "--public-key",
            key,
            "--user",
            "BENCH",
            "--queries",
            "30",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let url = url.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let fp = snowflake_standin::fingerprint(CLIENT_PUB).unwrap();
    let iat = now();
    let token = jwt_with(
        CLIENT_KEY,
        json!({"iss": format!("RAITO-STANDIN.BENCH.SHA256:{fp}"), "sub": "RAITO-STANDIN.BENCH", "iat": iat, "exp": iat + 60}),
    );
    let client = Client {
        http: reqwest::Client::new(),
        url,
        token,
        token_type: "KEYPAIR_JWT",
    };
    let result = async {
        let who = client
            .rows("select current_user(), current_role(), current_warehouse()")
            .await;
        let users = client.rows("show users").await.len();
        let columns = client
            .rows("select COLUMN_NAME from SALES.INFORMATION_SCHEMA.COLUMNS")
            .await
            .len();
        let queries = client
            .rows("with h as (select QUERY_ID, EXECUTION_STATUS from SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY) select h.EXECUTION_STATUS, a.DIRECT_OBJECTS_ACCESSED from h left join SNOWFLAKE.ACCOUNT_USAGE.ACCESS_HISTORY a on h.QUERY_ID = a.QUERY_ID")
            .await;
        (who, users, columns, queries)
    }
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    let (who, users, columns, queries) = result;
    assert_eq!(queries.len(), 30, "--queries 30");
    assert!(
        queries
            .iter()
            .all(|q| (q[0] == "SUCCESS") != q[1].is_null()),
        "every successful query already has its access row: {queries:?}"
    );
    assert_eq!(
        who,
        vec![vec![
            json!("BENCH"),
            json!("RAITO_SYNC"),
            json!("COMPUTE_WH")
        ]]
    );
    assert_eq!(users, 13, "12 generated and BENCH");
    // 100 columns in 5 tables of one schema, in SALES; and the INFORMATION_SCHEMA views'.
    assert_eq!(columns, 100 + 15 + 29 + 44);
}
