//! File uploads: `GET file/upload/signed-url` hands out a signed PUT URL for a declared length
//! and SHA-256, and `PUT upload/<key>?sig=...` (no Raito headers, like a presigned S3 URL)
//! stores the body only if the signature, the length and the checksum all match.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::server::{Api, Shared, json};
use crate::state::Upload;

/// The job types a log can be uploaded for (raito-io/cli internal/target_sync/sync_job.go:
/// the `task` of `file/upload/logs/signed-url` is the step's job type).
const LOG_TASKS: &[&str] = &["IS", "DS", "DA", "DU", "RP", "TAG"];

/// `GET file/upload/signed-url?contentLength=<n>&sha256=<base64>`.
pub(crate) async fn signed_url(
    AxumState(shared): AxumState<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    sign(&shared, &headers, &query, "file/upload/signed-url", None)
}

/// `GET file/upload/logs/signed-url?contentLength=<n>&sha256=<base64>&task=<job type>`: the
/// same, for a step's log (raito-io/cli internal/file/file.go, getUploadLogsURL).
pub(crate) async fn log_signed_url(
    AxumState(shared): AxumState<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let task = query.get("task").cloned().unwrap_or_default();
    sign(
        &shared,
        &headers,
        &query,
        "file/upload/logs/signed-url",
        Some(task),
    )
}

fn sign(
    shared: &Shared,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    path: &str,
    log_task: Option<String>,
) -> Response {
    if let Some(response) = shared.admit(Api::Rest, &["signedUrl".to_owned()], path) {
        return response;
    }
    if let Some(response) = shared.authenticate(Api::Rest, headers) {
        return response;
    }
    if let Some(task) = &log_task
        && !LOG_TASKS.contains(&task.as_str())
    {
        return Api::Rest.error(
            StatusCode::BAD_REQUEST,
            &format!("task must be one of {}, got {task:?}", LOG_TASKS.join(", ")),
        );
    }
    let Some(content_length) = query
        .get("contentLength")
        .and_then(|n| n.parse::<u64>().ok())
    else {
        return Api::Rest.error(
            StatusCode::BAD_REQUEST,
            "contentLength must be a non-negative integer",
        );
    };
    let sha256 = query.get("sha256").cloned().unwrap_or_default();
    if STANDARD.decode(&sha256).map(|d| d.len()) != Ok(32) {
        return Api::Rest.error(
            StatusCode::BAD_REQUEST,
            "sha256 must be the standard base64 (padded, query-escaped) of a SHA-256 digest",
        );
    }
    let key = shared.secret.new_id();
    let signature = signature(shared, &key, content_length, &sha256);
    let url = format!("{}upload/{key}?sig={signature}", shared.base_url);
    shared.lock().record.uploads.push(Upload {
        key: key.clone(),
        content_length,
        sha256,
        received: false,
        log_task,
        body: None,
    });
    json(
        StatusCode::OK,
        &json!({ "URL": url, "Key": key, "signedHeaders": {} }),
    )
}

/// `PUT upload/<key>?sig=<signature>` with the file as the body.
pub(crate) async fn put_file(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(key): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Some(response) =
        shared.admit(Api::Rest, &["upload".to_owned()], &format!("upload/{key}"))
    {
        return response;
    }
    let mut state = shared.lock();
    let Some(upload) = state.upload_mut(&key) else {
        return s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "no upload URL was signed for this key",
        );
    };
    let expected = signature(&shared, &key, upload.content_length, &upload.sha256);
    if query.get("sig") != Some(&expected) {
        return s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "the request signature does not match the signed URL",
        );
    }
    if body.len() as u64 != upload.content_length {
        return s3_error(
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            &format!(
                "received {} bytes, but {} were declared",
                body.len(),
                upload.content_length
            ),
        );
    }
    let digest = STANDARD.encode(Sha256::digest(&body));
    if digest != upload.sha256 {
        return s3_error(
            StatusCode::BAD_REQUEST,
            "BadDigest",
            &format!(
                "the body's SHA-256 is {digest}, but {} was declared",
                upload.sha256
            ),
        );
    }
    upload.received = true;
    upload.body = Some(body);
    StatusCode::OK.into_response()
}

/// What the `sig` of an upload URL is: an HMAC over the key and the declared length and digest.
fn signature(shared: &Shared, key: &str, content_length: u64, sha256: &str) -> String {
    shared
        .secret
        .sign(format!("{key}\n{content_length}\n{sha256}").as_bytes())
}

/// An S3-style XML error.
pub(crate) fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}
