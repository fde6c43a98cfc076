//! The SQL API's HTTP side: refusals of malformed calls, the exact ResultSet, 202 and polling,
//! partitions (gzip, `Link`), retries by requestId, cancels, timeouts and the fault switches.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use snowflake_standin::Options;

use crate::support::*;

#[tokio::test]
async fn malformed_calls_are_refused_as_snowflake_refuses_them() {
    let standin = start(account(), Options::default()).await;
    let client = Client::sync(&standin);
    let post = || client.request(Method::POST, "/api/v2/statements");

    let r = post()
        .header("Content-Type", "text/plain")
        .body("{\"statement\":\"select 1\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.text().await.unwrap(), "");

    // Without Content-Type the payload is taken as JSON.
    let r = post()
        .body("{\"statement\":\"select current_user()\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let invalid =
        json!({"code": "390142", "message": "Incoming request does not contain a valid payload."});
    for body in [
        "not json",
        "{}",
        "{\"statement\": 1}",
        "{\"statement\":\"select 1\",\"parameters\":{\"AUTOCOMMIT\":\"false\"}}",
    ] {
        let r = post()
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.json::<Value>().await.unwrap(), invalid, "{body}");
    }

    for (method, path) in [
        (Method::GET, "/api/v2/statements"),
        (Method::DELETE, "/api/v2/statements/x"),
        (Method::GET, "/api/v2/statements/x/cancel"),
    ] {
        let r = client.request(method, path).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(r.text().await.unwrap(), "");
    }
    let r = client.get("/api/v2/statement").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let bare = reqwest::Client::new();
    let url = format!("{}/api/v2/statements", standin.url);
    let r = bare
        .post(&url)
        .bearer_auth(&client.token)
        .header("Accept", "application/json")
        .json(&json!({"statement": "select 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "User-Agent is required"
    );
    // reqwest sends `Accept: */*` unless told otherwise; an empty one is as good as none.
    let r = bare
        .post(&url)
        .bearer_auth(&client.token)
        .header("User-Agent", "t/1")
        .header("Accept", "")
        .json(&json!({"statement": "select 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "Accept is required");
    let r = bare
        .post(&url)
        .bearer_auth(&client.token)
        .header("User-Agent", "t/1")
        .header("Accept", "text/html")
        .json(&json!({"statement": "select 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_ACCEPTABLE);
    assert_eq!(standin.requests().submitted, 1);
}

#[tokio::test]
async fn a_result_set_has_snowflakes_exact_shape() {
    let standin = start(account(), Options::default()).await;
    let (status, body) = Client::sync(&standin)
        .submit("?requestId=11111111-2222-4333-8444-555555555555", json!({"statement": "SELECT CONCAT(CURRENT_ORGANIZATION_NAME(),'-',CURRENT_ACCOUNT_NAME()), 7 AS N"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let handle = body["statementHandle"].as_str().unwrap().to_owned();
    let created_on = body["createdOn"].as_u64().unwrap();
    assert!(
        created_on > 1_700_000_000_000,
        "createdOn is in milliseconds"
    );
    let text_column = |name: &str| {
        json!({"name": name, "database": "", "schema": "", "table": "", "scale": null, "precision": null,
        "length": 16777216, "type": "text", "nullable": true, "byteLength": 16777216, "collation": null})
    };
    assert_eq!(
        body,
        json!({
            "resultSetMetaData": {
                "numRows": 1, "format": "jsonv2",
                "rowType": [
                    text_column("CONCAT(CURRENT_ORGANIZATION_NAME(),'-',CURRENT_ACCOUNT_NAME())"),
                    {"name": "N", "database": "", "schema": "", "table": "", "scale": 0, "precision": 38,
                     "length": null, "type": "fixed", "nullable": true, "byteLength": null, "collation": null},
                ],
                "partitionInfo": [{"rowCount": 1, "uncompressedSize": 22}],
            },
            "data": [["ACME-PROD_EU", "7"]],
            "code": "090001",
            "sqlState": "00000",
            "message": "Statement executed successfully.",
            "statementHandle": handle,
            "statementStatusUrl": format!("/api/v2/statements/{handle}?requestId=11111111-2222-4333-8444-555555555555&partition=0"),
            "requestId": "11111111-2222-4333-8444-555555555555",
            "createdOn": created_on,
        })
    );
    // The same result under its handle.
    let r = Client::sync(&standin)
        .get(&format!("/api/v2/statements/{handle}"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), body);
}

#[tokio::test]
async fn nullable_false_sends_null_as_a_string() {
    let standin = start(account(), Options::default()).await;
    let statement = json!({"statement": "select current_database(), current_user()"});
    let (_, body) = Client::sync(&standin)
        .submit("?nullable=false", statement.clone())
        .await;
    assert_eq!(body["data"], json!([["null", "SYNC_USER"]]));
    let (_, body) = Client::sync(&standin).submit("", statement).await;
    assert_eq!(body["data"], json!([[null, "SYNC_USER"]]));
}

fn assert_in_progress(body: &Value) {
    let handle = body["statementHandle"].as_str().unwrap();
    assert_eq!(body["code"], "333334");
    assert_eq!(
        body["message"],
        "Asynchronous execution in progress. Use provided query id to perform query monitoring and management."
    );
    assert!(
        body["statementStatusUrl"]
            .as_str()
            .unwrap()
            .starts_with(&format!("/api/v2/statements/{handle}?requestId="))
    );
}

#[tokio::test]
async fn async_true_answers_202_then_polls_reach_the_result() {
    let options = Options {
        statement_delay: Duration::from_millis(400),
        ..Options::default()
    };
    let standin = start(account(), options).await;
    let client = Client::sync(&standin);
    let (status, body) = client
        .submit("?async=true", json!({"statement": "select current_user()"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_in_progress(&body);
    let handle = body["statementHandle"].as_str().unwrap();
    let r = client.get(&format!("/api/v2/statements/{handle}")).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_in_progress(&r.json().await.unwrap());
    let (status, body) = client.poll(handle).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], json!([["SYNC_USER"]]));
    let counters = standin.requests();
    assert_eq!((counters.submitted, counters.executed), (1, 1));
    assert!(counters.polls >= 2, "{counters:?}");
}

#[tokio::test]
async fn a_statement_slower_than_async_after_answers_202_and_a_slow_fault_delays_one() {
    let options = Options {
        async_after: Some(Duration::from_millis(200)),
        ..Options::default()
    };
    let standin = start(account(), options).await;
    let client = Client::sync(&standin);
    standin.faults().slow_next(1, Duration::from_millis(600));
    let (status, body) = client.run("show warehouses").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // Only the next statement was slow.
    let (status, _) = client.run("show warehouses").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = client.poll(body["statementHandle"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"][0][0], "COMPUTE_WH");
}

#[tokio::test]
async fn a_retry_with_the_same_request_id_returns_the_first_result_without_running_again() {
    let standin = start(account(), Options::default()).await;
    let client = Client::sync(&standin);
    let statement = json!({"statement": "show roles"});
    let (_, first) = client
        .submit(
            "?requestId=0c8a3d1e-1111-4222-8333-444455556666",
            statement.clone(),
        )
        .await;
    let (status, again) = client
        .submit(
            "?requestId=0c8a3d1e-1111-4222-8333-444455556666&retry=true",
            statement.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, first, "the same handle and rows");
    assert_eq!(
        (standin.requests().submitted, standin.requests().executed),
        (2, 1)
    );
    // Without retry=true the statement runs again, under a new handle.
    let (_, third) = client
        .submit("?requestId=0c8a3d1e-1111-4222-8333-444455556666", statement)
        .await;
    assert_ne!(third["statementHandle"], first["statementHandle"]);
    assert_eq!(standin.requests().executed, 2);
}

#[tokio::test]
async fn throttling_and_unavailability_switches_answer_429_and_503_then_recover() {
    let standin = start(account(), Options::default()).await;
    let client = Client::sync(&standin);
    standin.faults().throttle_next(2);
    for _ in 0..2 {
        let (status, body) = client.run("select current_user()").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            body,
            json!({"code": "390505", "message": "Too many requests."})
        );
    }
    standin.faults().unavailable_next(1);
    let r = client
        .request(Method::POST, "/api/v2/statements")
        .json(&json!({"statement": "select 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        client.rows("select current_user()").await,
        vec![vec![json!("SYNC_USER")]]
    );
    let counters = standin.requests();
    assert_eq!(
        (counters.throttled, counters.unavailable, counters.submitted),
        (2, 1, 1)
    );
}

#[tokio::test]
async fn a_running_statement_is_cancelled_and_unknown_handles_are_not_found() {
    let options = Options {
        statement_delay: Duration::from_secs(5),
        ..Options::default()
    };
    let standin = start(account(), options).await;
    let client = Client::sync(&standin);
    let (status, body) = client
        .submit("?async=true", json!({"statement": "show users"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let handle = body["statementHandle"].as_str().unwrap().to_owned();
    let r = client
        .request(Method::POST, &format!("/api/v2/statements/{handle}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (
            &body["code"],
            &body["sqlState"],
            &body["message"],
            &body["statementHandle"]
        ),
        (
            &json!("000604"),
            &json!("57014"),
            &json!("SQL execution canceled"),
            &json!(handle)
        )
    );
    let r = client.get(&format!("/api/v2/statements/{handle}")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "000604");
    assert_eq!(standin.requests().executed, 0, "cancelled before it ran");

    let unknown = "01b2c3d4-0000-4000-8000-000000000000";
    let r = client
        .request(
            Method::POST,
            &format!("/api/v2/statements/{unknown}/cancel"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let expected = json!({"code": "000709", "sqlState": "02000", "message": format!("Statement {unknown} not found"), "statementHandle": unknown});
    assert_eq!(r.json::<Value>().await.unwrap(), expected);
    let r = client.get(&format!("/api/v2/statements/{unknown}")).await;
    assert_eq!(r.json::<Value>().await.unwrap(), expected);
    // Another user's handle is not found either.
    let r = Client::analyst(&standin)
        .get(&format!("/api/v2/statements/{handle}"))
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "000709");
}

#[tokio::test]
async fn a_statement_past_its_timeout_is_cancelled_with_408() {
    let options = Options {
        statement_delay: Duration::from_secs(3),
        ..Options::default()
    };
    let standin = start(account(), options).await;
    let started = std::time::Instant::now();
    let (status, body) = Client::sync(&standin)
        .submit("", json!({"statement": "show users", "timeout": 1}))
        .await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert_eq!(body["code"], "000630");
    assert_eq!(body["sqlState"], "57014");
    assert_eq!(
        body["message"],
        "Statement reached its statement or warehouse timeout of 1 second(s) and was canceled."
    );
}

#[tokio::test]
async fn information_schema_columns_stream_in_gzip_partitions_equal_to_the_model() {
    let options = Options {
        rows_per_partition: 7,
        ..Options::default()
    };
    let generated = snowflake_standin::generate(230, 0);
    let mut account = account();
    account.databases = generated.databases.clone();
    let standin = start(account, options).await;
    let client = Client::sync(&standin);
    let (status, body) = client
        .run("SELECT * FROM SALES.INFORMATION_SCHEMA.COLUMNS")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let meta = &body["resultSetMetaData"];
    let infos = meta["partitionInfo"].as_array().unwrap();
    let handle = body["statementHandle"].as_str().unwrap();
    let mut rows: Vec<Vec<Value>> = serde_json::from_value(body["data"].clone()).unwrap();
    assert_eq!(rows.len(), 7);
    assert!(infos[0].get("compressedSize").is_none());
    for (n, info) in infos.iter().enumerate().skip(1) {
        let r = client
            .get(&format!("/api/v2/statements/{handle}?partition={n}"))
            .await;
        let link = r.headers()["link"].to_str().unwrap().to_owned();
        assert!(
            link.contains(&format!(
                "</api/v2/statements/{handle}?partition={}>; rel=\"last\"",
                infos.len() - 1
            )),
            "{link}"
        );
        assert!(
            link.contains(&format!("?partition={}>; rel=\"prev\"", n - 1)),
            "{link}"
        );
        let compressed = r.content_length();
        let part = partition_rows(r).await;
        assert_eq!(part.len() as u64, info["rowCount"].as_u64().unwrap());
        assert_eq!(compressed, info["compressedSize"].as_u64());
        rows.extend(part);
    }
    assert_eq!(meta["numRows"].as_u64().unwrap() as usize, rows.len());
    // The model's columns of SALES, in order, then those of its INFORMATION_SCHEMA views.
    let sales = &generated.databases[0];
    let mut expected: Vec<String> = sales
        .schemas
        .iter()
        .flat_map(|s| {
            s.tables.iter().flat_map(move |t| {
                t.columns
                    .iter()
                    .map(move |c| format!("{}.{}.{}", s.name, t.name, c.name))
            })
        })
        .collect();
    let model_columns = expected.len();
    assert!(model_columns > 50, "{model_columns}");
    let got: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}.{}.{}",
                r[1].as_str().unwrap(),
                r[2].as_str().unwrap(),
                r[3].as_str().unwrap()
            )
        })
        .collect();
    expected.extend(
        got[model_columns..]
            .iter()
            .filter(|n| n.starts_with("INFORMATION_SCHEMA."))
            .cloned(),
    );
    assert_eq!(got, expected);
    assert_eq!(
        got.len() - model_columns,
        15 + 29 + 44,
        "the three views' columns"
    );
    assert_eq!(standin.requests().partitions as usize, infos.len() - 1);

    // One failing partition GET, then it is served.
    standin.faults().fail_partition_once(1);
    let r = client
        .get(&format!("/api/v2/statements/{handle}?partition=1"))
        .await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let r = client
        .get(&format!("/api/v2/statements/{handle}?partition=1"))
        .await;
    assert_eq!(partition_rows(r).await.len(), 7);
    // Past the last partition.
    let r = client
        .get(&format!(
            "/api/v2/statements/{handle}?partition={}",
            infos.len()
        ))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "002003");
}
