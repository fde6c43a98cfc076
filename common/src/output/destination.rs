//! Where an output goes: a local file or an S3 object. Either way the content only becomes
//! visible under its final name once it is complete, and its size and SHA-256 are known at
//! the end without reading it again (Raito's upload needs both).

use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::Error;

/// What was written, once complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// A path, or `s3://bucket/key`.
    pub location: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Number of array elements (set by the JSON array writer).
    pub elements: u64,
    /// SHA-256 of the content.
    pub sha256: [u8; 32],
}

/// A local file or an S3 object being written.
pub enum Destination {
    /// A local file.
    File(FileDestination),
    /// An S3 object.
    S3(S3Destination),
}

impl Destination {
    /// Writes to a local file, creating it (and replacing any old one) when complete.
    pub async fn file(path: impl Into<PathBuf>) -> Result<Self, Error> {
        FileDestination::create(path.into()).await.map(Self::File)
    }

    /// Writes to an S3 object, created when complete.
    pub fn s3(client: aws_sdk_s3::Client, bucket: &str, key: &str) -> Self {
        Self::S3(S3Destination::new(client, bucket, key))
    }

    /// The path or `s3://bucket/key`, for messages.
    pub fn location(&self) -> String {
        match self {
            Destination::File(file) => file.path.display().to_string(),
            Destination::S3(s3) => s3.location(),
        }
    }

    /// Appends bytes.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        match self {
            Destination::File(file) => file.write(bytes).await,
            Destination::S3(s3) => s3.write(bytes).await,
        }
    }

    /// Completes the output and makes it visible.
    pub async fn finish(self) -> Result<Written, Error> {
        match self {
            Destination::File(file) => file.finish().await,
            Destination::S3(s3) => s3.finish().await,
        }
    }

    /// Discards what was written.
    pub async fn abort(self) {
        match self {
            Destination::File(file) => file.abort().await,
            Destination::S3(s3) => s3.abort().await,
        }
    }
}

/// A local file, written as `<name>.partial` and renamed into place on completion, so a
/// failed run never leaves a truncated file under the final name.
pub struct FileDestination {
    path: PathBuf,
    partial: PathBuf,
    writer: tokio::io::BufWriter<tokio::fs::File>,
    hasher: Sha256,
    bytes: u64,
}

impl FileDestination {
    async fn create(path: PathBuf) -> Result<Self, Error> {
        let mut partial = path.clone().into_os_string();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file = tokio::fs::File::create(&partial)
            .await
            .map_err(|source| io_error(&partial, source))?;
        Ok(Self {
            path,
            partial,
            writer: tokio::io::BufWriter::with_capacity(256 * 1024, file),
            hasher: Sha256::new(),
            bytes: 0,
        })
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.writer
            .write_all(bytes)
            .await
            .map_err(|source| io_error(&self.partial, source))?;
        self.hasher.update(bytes);
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    async fn finish(mut self) -> Result<Written, Error> {
        let partial = self.partial.clone();
        let done = async {
            self.writer.flush().await?;
            self.writer.get_ref().sync_all().await?;
            tokio::fs::rename(&self.partial, &self.path).await
        };
        if let Err(source) = done.await {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(io_error(&partial, source));
        }
        Ok(Written {
            location: self.path.display().to_string(),
            bytes: self.bytes,
            elements: 0,
            sha256: self.hasher.finalize().into(),
        })
    }

    async fn abort(self) {
        drop(self.writer);
        let _ = tokio::fs::remove_file(&self.partial).await;
    }
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Parts are uploaded once this much is buffered: S3's minimum part size is 5 MiB, and
/// 8 MiB parts allow objects of up to ~78 GiB within the 10,000-part limit while keeping the
/// memory of a Lambda small and constant.
const PART_SIZE: usize = 8 * 1024 * 1024;

/// An S3 object written with a multipart upload, started once the first part is full. A
/// small object (under one part) is sent with a single `PutObject` instead. On failure the
/// upload is aborted, so no parts are left behind.
pub struct S3Destination {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    buffer: Vec<u8>,
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
    hasher: Sha256,
    bytes: u64,
    failed: bool,
}

impl S3Destination {
    fn new(client: aws_sdk_s3::Client, bucket: &str, key: &str) -> Self {
        Self {
            client,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            buffer: Vec::new(),
            upload_id: None,
            parts: Vec::new(),
            hasher: Sha256::new(),
            bytes: 0,
            failed: false,
        }
    }

    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.failed {
            return Err(Error::Abandoned {
                location: self.location(),
            });
        }
        self.hasher.update(bytes);
        self.bytes += bytes.len() as u64;
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= PART_SIZE {
            let result = self.upload_part().await;
            if result.is_err() {
                self.failed = true;
            }
            result?;
        }
        Ok(())
    }

    async fn upload_part(&mut self) -> Result<(), Error> {
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let created = self
                    .client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .content_type("application/json")
                    .send()
                    .await
                    .map_err(|e| self.s3_error("CreateMultipartUpload", e))?;
                let id = created.upload_id.ok_or_else(|| Error::S3 {
                    operation: "CreateMultipartUpload",
                    location: self.location(),
                    message: "the answer carried no upload id".into(),
                    transient: false,
                })?;
                self.upload_id = Some(id.clone());
                id
            }
        };
        let part_number = i32::try_from(self.parts.len() + 1).unwrap_or(i32::MAX);
        let body = std::mem::take(&mut self.buffer);
        let uploaded = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .part_number(part_number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| self.s3_error("UploadPart", e))?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(part_number)
                .set_e_tag(uploaded.e_tag)
                .build(),
        );
        Ok(())
    }

    async fn finish(mut self) -> Result<Written, Error> {
        if self.failed {
            let location = self.location();
            self.abort().await;
            return Err(Error::Abandoned { location });
        }
        let result = self.complete().await;
        match result {
            Ok(()) => Ok(Written {
                location: self.location(),
                bytes: self.bytes,
                elements: 0,
                sha256: self.hasher.clone().finalize().into(),
            }),
            Err(e) => {
                self.abort().await;
                Err(e)
            }
        }
    }

    async fn complete(&mut self) -> Result<(), Error> {
        if self.upload_id.is_none() {
            let body = std::mem::take(&mut self.buffer);
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .content_type("application/json")
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| self.s3_error("PutObject", e))?;
            return Ok(());
        }
        if !self.buffer.is_empty() {
            self.upload_part().await?;
        }
        let upload_id = self.upload_id.clone().unwrap_or_default();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(std::mem::take(&mut self.parts)))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| self.s3_error("CompleteMultipartUpload", e))?;
        self.upload_id = None;
        Ok(())
    }

    async fn abort(self) {
        if let Some(upload_id) = &self.upload_id {
            let aborted = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(upload_id)
                .send()
                .await;
            if let Err(error) = aborted {
                tracing::warn!(
                    location = %self.location(),
                    error = %aws_sdk_s3::error::DisplayErrorContext(&error),
                    "could not abort the multipart upload; the bucket's lifecycle rule removes it later"
                );
            }
        }
    }

    fn s3_error<E>(
        &self,
        operation: &'static str,
        error: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    ) -> Error
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        use aws_sdk_s3::error::SdkError;
        let transient = match &error {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
            SdkError::ResponseError(_) => true,
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                status >= 500 || status == 429
            }
            _ => false,
        };
        Error::S3 {
            operation,
            location: self.location(),
            message: aws_sdk_s3::error::DisplayErrorContext(&error).to_string(),
            transient,
        }
    }
}
