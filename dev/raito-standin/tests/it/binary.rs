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
