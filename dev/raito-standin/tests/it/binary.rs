//! Starting and stopping: the `raito-standin` program as the demo runs it, and the handle.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn the_binary_prints_its_base_url_first_and_serves_the_configured_domain() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_raito-standin"))
        .args(["--port", "0", "--domain", "acme", "--data-source", "ds-9"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base_url = line.trim().to_owned();
    let answer = reqwest::get(format!("{base_url}admin/org/acme")).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        base_url.starts_with("http://127.0.0.1:") && base_url.ends_with('/'),
        "{base_url}"
    );
    assert_eq!(answer.unwrap().status(), reqwest::StatusCode::OK);
}

#[tokio::test]
async fn a_shut_down_stand_in_no_longer_answers() {
    let standin = crate::support::standin(crate::support::config()).await;
    let url = format!("{}admin/org/demo", standin.base_url());
    assert!(reqwest::get(&url).await.is_ok());
    standin.shutdown().await;
    assert!(reqwest::get(&url).await.is_err());
}

#[tokio::test]
async fn the_binary_seeds_access_providers_from_a_file() {
    let path = std::env::temp_dir().join(format!("raito-standin-seed-{}.json", std::process::id()));
    std::fs::write(
        &path,
        r#"[{"id": "ap-1", "name": "Readers", "namingHint": "readers", "action": "grant",
             "who": {"users": ["alice"]},
             "what": [{"dataObject": {"fullName": "db.s.t", "type": "table"}, "permissions": ["SELECT"]}]}]"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_raito-standin"))
        .args(["--data-source", "ds-9", "--access-providers"])
        .arg(format!("ds-9={}", path.display()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let state = reqwest::get(format!("{}_standin/state", line.trim())).await;
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_file(&path).unwrap();
    let state: serde_json::Value = state.unwrap().json().await.unwrap();
    let seeded = &state["accessProviders"]["ds-9"][0];
    assert_eq!(seeded["accessProvider"]["id"], "ap-1", "{state}");
    assert_eq!(seeded["accessProvider"]["who"]["users"][0], "alice");
    assert_eq!(seeded["version"], 1);
}
