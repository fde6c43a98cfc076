//! File uploads to Raito: ask for a presigned URL (`GET file/upload/signed-url` with the
//! content's length and SHA-256), then `PUT` the content there, streaming, with an explicit
//! `Content-Length` and the signed headers. The content is re-opened for every attempt, so
//! an [`Upload`] is a way to open the bytes, never the bytes themselves.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{CONTENT_LENGTH, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tracing::Instrument;

use super::client::Client;
use super::error::{BoxError, Error, Idempotency};
use super::retry::retry_after;

const SIGNED_URL: &str = "upload URL";
const PUT: &str = "upload PUT";

/// The future an [`Upload`]'s opener returns: a fresh body with the whole content.
pub type BodyFuture = Pin<Box<dyn Future<Output = Result<reqwest::Body, BoxError>> + Send>>;

/// Opens the content of an [`Upload`] anew, for each attempt.
pub type BodyOpener = Arc<dyn Fn() -> BodyFuture + Send + Sync>;

/// Content to upload: its SHA-256 and length (which Raito signs the URL for) and a way to
/// open it as a streaming body, as often as attempts need. Cheap to clone.
#[derive(Clone)]
pub struct Upload {
    /// The SHA-256 digest of the content.
    pub sha256: [u8; 32],
    /// The content's length in bytes.
    pub length: u64,
    /// Opens the content; called once per attempt. Each body must yield exactly `length`
    /// bytes.
    pub open: BodyOpener,
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload")
            .field("sha256", &STANDARD.encode(self.sha256))
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

/// How much of a file is read at a time, when hashing it or sending it.
const CHUNK: usize = 64 * 1024;

impl Upload {
    /// Content from any source (e.g. an S3 object), whose digest and length are known.
    /// `open` is called for each attempt and must give a body of the whole content.
    pub fn from_opener<F, Fut>(sha256: [u8; 32], length: u64, open: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<reqwest::Body, BoxError>> + Send + 'static,
    {
        let open: BodyOpener = Arc::new(move || Box::pin(open()));
        Upload {
            sha256,
            length,
            open,
        }
    }

    /// A local file whose digest and length are already known (e.g. computed while it was
    /// written): nothing is read until the upload.
    pub fn from_file_with_digest(path: impl Into<PathBuf>, sha256: [u8; 32], length: u64) -> Self {
        let path: PathBuf = path.into();
        Upload::from_opener(sha256, length, move || {
            let path = path.clone();
            async move { open_file(path, length).await }
        })
    }

    /// A local file, read once now to compute its digest and length (streaming, in chunks;
    /// the file is never held in memory).
    pub async fn from_file(path: impl Into<PathBuf>) -> Result<Self, Error> {
        let path: PathBuf = path.into();
        let source = |e: std::io::Error| Error::UploadSource {
            source: format!("{}: {e}", path.display()).into(),
        };
        let mut file = tokio::fs::File::open(&path).await.map_err(source)?;
        let mut hasher = Sha256::new();
        let mut length = 0u64;
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let read = file.read(&mut buffer).await.map_err(source)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            length += read as u64;
        }
        Ok(Upload::from_file_with_digest(
            path,
            hasher.finalize().into(),
            length,
        ))
    }

    /// The digest as Raito wants it: standard base64, with padding.
    pub fn sha256_base64(&self) -> String {
        STANDARD.encode(self.sha256)
    }
}

async fn open_file(path: PathBuf, length: u64) -> Result<reqwest::Body, BoxError> {
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let actual = file
        .metadata()
        .await
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    if actual != length {
        return Err(format!(
            "{}: the file has {actual} bytes, {length} were announced (changed since hashed?)",
            path.display()
        )
        .into());
    }
    let stream = tokio_util::io::ReaderStream::with_capacity(file, CHUNK);
    Ok(reqwest::Body::wrap_stream(stream))
}

/// Where Raito wants the content: a presigned URL, the key to import it by, and the headers
/// the URL was signed with.
struct Target {
    url: reqwest::Url,
    key: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Client {
    /// Uploads `upload` and returns its key, the `fileKey` of an import request. Both the
    /// URL request and the `PUT` are retried (they are idempotent); every attempt of the
    /// `PUT` opens the content anew.
    pub async fn upload(&self, upload: Upload) -> Result<String, Error> {
        self.upload_to("file/upload/signed-url", None, upload).await
    }

    /// Uploads the log of a step (`task`: its job type, `DS`, `IS`, `DA`, `DU`) and returns its
    /// key, the `fileKey` of `addLogFileToTask`: the same flow as [`Client::upload`] with the
    /// logs' endpoint, `file/upload/logs/signed-url?contentLength=…&sha256=…&task=…` (raito-io/cli
    /// internal/file/file.go, getUploadLogsURL).
    pub async fn upload_log(&self, task: &str, upload: Upload) -> Result<String, Error> {
        self.upload_to("file/upload/logs/signed-url", Some(task), upload)
            .await
    }

    async fn upload_to(
        &self,
        path: &str,
        task: Option<&str>,
        upload: Upload,
    ) -> Result<String, Error> {
        let span = tracing::info_span!("raito_upload", length = upload.length);
        async {
            let target = self.signed_url(path, task, &upload).await?;
            let config = self.config();
            config
                .retry
                .run(PUT, Idempotency::Idempotent, |attempt| {
                    let target = &target;
                    let upload = &upload;
                    async move {
                        let body = (upload.open)()
                            .await
                            .map_err(|source| Error::UploadSource { source })?;
                        // Straight to the presigned URL: no Raito header, no token.
                        let mut request = self
                            .http()
                            .put(target.url.clone())
                            .header(CONTENT_LENGTH, upload.length)
                            .timeout(config.upload_timeout);
                        for (name, value) in &target.headers {
                            request = request.header(name.clone(), value.clone());
                        }
                        let response = request
                            .body(body)
                            .send()
                            .await
                            .map_err(|e| Error::network(PUT, e))?;
                        let status = response.status();
                        tracing::debug!(attempt, status = status.as_u16(), "upload answered");
                        if status.as_u16() < 300 {
                            return Ok(());
                        }
                        let retry_after = retry_after(response.headers());
                        let body = response.bytes().await.unwrap_or_default();
                        Err(Error::Http {
                            operation: PUT,
                            status: status.as_u16(),
                            body: s3_error_summary(&body),
                            retry_after,
                        })
                    }
                })
                .await?;
            tracing::info!(key = %target.key, "uploaded a file to Raito");
            Ok(target.key)
        }
        .instrument(span)
        .await
    }

    async fn signed_url(
        &self,
        path: &str,
        task: Option<&str>,
        upload: &Upload,
    ) -> Result<Target, Error> {
        let mut url = self.url(path)?;
        // Sorted parameter names, form-encoded (`+` → %2B, `/` → %2F, `=` → %3D), as Go's
        // `url.Values.Encode` writes them.
        url.query_pairs_mut()
            .append_pair("contentLength", &upload.length.to_string())
            .append_pair("sha256", &upload.sha256_base64());
        if let Some(task) = task {
            url.query_pairs_mut().append_pair("task", task);
        }
        let answer = self
            .send(SIGNED_URL, Idempotency::Idempotent, false, |http| {
                http.get(url.clone())
            })
            .await?;
        parse_target(&answer.body)
    }
}

fn parse_target(body: &[u8]) -> Result<Target, Error> {
    let decode = |message: String| Error::Decode {
        operation: SIGNED_URL,
        message,
    };
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| decode(e.to_string()))?;
    let object = value
        .as_object()
        .ok_or_else(|| decode("not a JSON object".to_owned()))?;
    // Keys are matched case-insensitively, as Go's JSON decoder does.
    let field = |name: &str| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    };
    let url = field("URL")
        .and_then(|v| v.as_str())
        .ok_or_else(|| decode("no URL".to_owned()))?;
    let url = reqwest::Url::parse(url).map_err(|e| decode(format!("bad URL: {e}")))?;
    let key = field("Key")
        .and_then(|v| v.as_str())
        .filter(|key| !key.is_empty())
        .ok_or_else(|| decode("no Key".to_owned()))?
        .to_owned();
    let mut headers = Vec::new();
    if let Some(signed) = field("signedHeaders").and_then(|v| v.as_object()) {
        for (name, values) in signed {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| decode(format!("bad signed header name {name:?}: {e}")))?;
            if name == CONTENT_LENGTH {
                // Always sent, from the upload's own length.
                continue;
            }
            let values: Vec<&str> = match values {
                serde_json::Value::Array(items) => {
                    items.iter().filter_map(|item| item.as_str()).collect()
                }
                serde_json::Value::String(text) => vec![text.as_str()],
                _ => Vec::new(),
            };
            for value in values {
                let value = HeaderValue::from_str(value)
                    .map_err(|e| decode(format!("bad value of signed header {name}: {e}")))?;
                headers.push((name.clone(), value));
            }
        }
    }
    Ok(Target { url, key, headers })
}

/// The `Code` and `Message` of an S3 error document; the rest can echo the presigned
/// signature, so it is not kept.
fn s3_error_summary(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let element = |name: &str| {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&close)? + start;
        Some(text[start..end].to_owned())
    };
    match (element("Code"), element("Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ => String::new(),
    }
}
