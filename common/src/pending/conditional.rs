//! S3's answers to conditional requests (`If-None-Match: *`, `If-Match: <etag>`), told apart
//! by HTTP status and error code, shared by the pending queue, the lease and the webhook
//! replay guard.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Reads the object `key`: `None` when it does not exist; any other failure described (for
/// the caller's error, which names what it was reading).
pub(crate) async fn get_if_exists(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<aws_sdk_s3::operation::get_object::GetObjectOutput>, String> {
    match client.get_object().bucket(bucket).key(key).send().await {
        Ok(object) => Ok(Some(object)),
        Err(error) => match classify(&error) {
            Failure::NotFound => Ok(None),
            Failure::Refused | Failure::Other(_) => Err(DisplayErrorContext(&error).to_string()),
        },
    }
}

/// How a conditional S3 request failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The condition did not hold: `412 PreconditionFailed`, or `409
    /// ConditionalRequestConflict` (a concurrent conditional write of the same key won).
    Refused,
    /// The object does not exist (`404`, e.g. `If-Match` on a deleted key).
    NotFound,
    /// Anything else (network, permissions, throttling...), described.
    Other(String),
}

/// Classifies `error` of any S3 operation.
pub(crate) fn classify<E>(error: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = error.raw_response().map(|r| r.status().as_u16());
    let code = match error {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    };
    match (status, code) {
        (_, Some("NoSuchBucket")) => Failure::Other(DisplayErrorContext(error).to_string()),
        (Some(412 | 409), _) | (_, Some("PreconditionFailed" | "ConditionalRequestConflict")) => {
            Failure::Refused
        }
        (Some(404), _) | (_, Some("NoSuchKey" | "NotFound")) => Failure::NotFound,
        _ => Failure::Other(DisplayErrorContext(error).to_string()),
    }
}
