//! Fault injection: counted HTTP errors, 429 with Retry-After, stuck subtasks, rejected logins.

use raito_standin::{Fault, Target};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Harness, cognito, config, file, metadata, standin, warehouse};

const CREATE_JOB: &str = "mutation ($input:JobInput!){createJob(input: $input){jobId}}";

#[tokio::test]
async fn an_injected_status_answers_the_next_n_requests_then_disarms() {
    let harness = Harness::new().await;
    harness.standin.inject(Fault::status("createJob", 500, 2));
    let input = json!({"input": {"dataSourceId": "ds-1"}});
    for _ in 0..2 {
        let (status, body) = harness.graphql(CREATE_JOB, input.clone()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body["errors"].is_array());
    }
    let (status, _) = harness.graphql(CREATE_JOB, input).await;
    assert_eq!(status, StatusCode::OK);
    let state = harness.standin.state();
    assert_eq!(state.jobs.len(), 1);
    assert_eq!(state.count("createJob"), 3);
}

#[tokio::test]
async fn an_injected_429_carries_retry_after() {
    let harness = Harness::new().await;
    harness.standin.inject(Fault::TooManyRequests {
        target: Target::Path("file/upload/signed-url".into()),
        retry_after_secs: 7,
        times: 1,
    });
    let url = harness.url("file/upload/signed-url?contentLength=0&sha256=47DEQpj8HBSa%2B%2FTImW%2B5JCeuQeRkm5NMpJWZG3hSuFU%3D");
    let response = harness.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "7");
    // Disarmed: now the missing token is what fails.
    assert_eq!(
        harness.http.get(&url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_fault_on_cognito_answers_in_the_aws_error_shape() {
    let standin = standin(config()).await;
    standin.inject(Fault::status("InitiateAuth", 500, 1));
    let (status, body) = cognito(
        &reqwest::Client::new(),
        &standin,
        json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": standin.client_app_id(),
               "AuthParameters": {"USERNAME": "api-user", "PASSWORD": "api-secret"}}),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["__type"], "InternalErrorException");
}

#[tokio::test]
async fn subtasks_of_a_stuck_data_source_never_finish() {
    let harness = Harness::new().await;
    harness.set_metadata(metadata()).await;
    harness.standin.inject(Fault::StuckSubtasks {
        data_source: "ds-1".into(),
    });
    let key = harness.upload(&file(&warehouse())).await;
    let (job, subtask) = harness.request_import(&key, true).await;
    let document = format!(
        "query jobSubtask{{ jobSubtask(jobId: \"{job}\", jobType: \"DS\", subtaskId: \"{subtask}\") {{ status }}}}"
    );
    for _ in 0..5 {
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
        let status = harness.data(&document, json!({})).await["jobSubtask"]["status"].clone();
        assert!(
            status == "QUEUED" || status == "DATA_PROCESSING",
            "{status}"
        );
    }
    assert!(harness.standin.state().data_objects("ds-1").is_empty());
    assert_eq!(harness.standin.state().subtask(&subtask).unwrap().polls, 5);
}

#[tokio::test]
async fn rejected_logins_fail_with_not_authorized_until_cleared() {
    let standin = standin(config()).await;
    let http = reqwest::Client::new();
    let login = json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": standin.client_app_id(),
                       "AuthParameters": {"USERNAME": "api-user", "PASSWORD": "api-secret"}});
    standin.inject(Fault::RejectLogins);
    let (status, body) = cognito(&http, &standin, login.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["__type"], "NotAuthorizedException");
    standin.clear_faults();
    assert_eq!(cognito(&http, &standin, login).await.0, StatusCode::OK);
}

#[tokio::test]
async fn faults_can_be_armed_over_http_for_the_demo() {
    let harness = Harness::new().await;
    let response = harness
        .http
        .post(harness.url("_standin/faults"))
        .body(r#"{"status":{"target":{"operation":"createJob"},"status":503,"times":1}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, _) = harness
        .graphql(CREATE_JOB, json!({"input": {"dataSourceId": "ds-1"}}))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}
