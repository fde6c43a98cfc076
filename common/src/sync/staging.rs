//! Where a run stages its files before they are uploaded to Raito Cloud: the bundle's S3
//! bucket in Lambda (so a file survives the function and can be inspected), or a local folder
//! for `raito-sync run`. Either way the file is streamed in and streamed out again.

use std::path::PathBuf;

use crate::output::{self, Destination, Written};
use crate::raito::Upload;

/// A staging area.
#[derive(Debug, Clone)]
pub enum Staging {
    /// A local folder.
    Local(PathBuf),
    /// An S3 bucket, under a key prefix (e.g. `staged/`).
    S3 {
        /// The S3 client.
        client: aws_sdk_s3::Client,
        /// The bucket.
        bucket: String,
        /// Prepended to every key.
        prefix: String,
    },
}

impl Staging {
    /// A destination for the file `name` of a run (`name` may contain `/`).
    pub async fn destination(&self, name: &str) -> Result<Destination, output::Error> {
        match self {
            Staging::Local(dir) => {
                let path = dir.join(name);
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent).await.map_err(|source| {
                        output::Error::Io {
                            path: parent.display().to_string(),
                            source,
                        }
                    })?;
                }
                Destination::file(path).await
            }
            Staging::S3 {
                client,
                bucket,
                prefix,
            } => Ok(Destination::s3(
                client.clone(),
                bucket,
                &format!("{prefix}{name}"),
            )),
        }
    }

    /// The upload of a staged file to Raito: re-opened (streamed) for every attempt.
    pub fn upload(&self, written: &Written) -> Upload {
        match self {
            Staging::Local(_) => {
                Upload::from_file_with_digest(&written.location, written.sha256, written.bytes)
            }
            Staging::S3 { client, bucket, .. } => {
                let client = client.clone();
                let bucket = bucket.clone();
                let key = written
                    .location
                    .strip_prefix(&format!("s3://{bucket}/"))
                    .unwrap_or(&written.location)
                    .to_owned();
                Upload::from_opener(written.sha256, written.bytes, move || {
                    let client = client.clone();
                    let bucket = bucket.clone();
                    let key = key.clone();
                    async move {
                        let object = client
                            .get_object()
                            .bucket(&bucket)
                            .key(&key)
                            .send()
                            .await
                            .map_err(|e| {
                                format!(
                                    "reading the staged s3://{bucket}/{key}: {}",
                                    aws_sdk_s3::error::DisplayErrorContext(&e)
                                )
                            })?;
                        let stream =
                            tokio_util::io::ReaderStream::new(object.body.into_async_read());
                        Ok(reqwest::Body::wrap_stream(stream))
                    }
                })
            }
        }
    }
}
