//! The one-JSON-array-per-file format: `[`, each element on its own line separated by
//! commas, `]`. Both directions stream: memory does not grow with the number of elements.

use std::marker::PhantomData;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::{DeserializeOwned, SeqAccess, Visitor};
use tokio::io::AsyncRead;
use tokio::sync::mpsc;

use super::{Destination, Error, Written};
use super::{Sink, Source};

/// Writes elements one by one as a JSON array into a destination.
pub struct JsonArrayWriter {
    destination: Destination,
    /// Reused for every element, so serialising allocates only when an element is larger
    /// than any before it.
    buffer: Vec<u8>,
    count: u64,
}

impl JsonArrayWriter {
    /// A writer that has written nothing yet.
    pub fn new(destination: Destination) -> Self {
        Self {
            destination,
            buffer: Vec::with_capacity(4096),
            count: 0,
        }
    }

    /// Appends one element.
    pub async fn write<T: Serialize + ?Sized>(&mut self, element: &T) -> Result<(), Error> {
        self.write_element(|buffer| serde_json::to_writer(buffer, element))
            .await
    }

    /// Appends one element that `encode` appends as JSON (one JSON value, e.g. by a model
    /// type's `write_json`) to the buffer it is given, for elements written by hand instead of
    /// by serde on a hot path. The buffer is the writer's own, reused: `encode` must only
    /// append to it.
    pub async fn write_with(&mut self, encode: impl FnOnce(&mut Vec<u8>)) -> Result<(), Error> {
        self.write_element(|buffer| {
            encode(buffer);
            Ok(())
        })
        .await
    }

    /// Appends one element that the caller already serialised with `serde_json` (one JSON
    /// value, e.g. from [`serde_json::to_writer`]): for callers that need its size first.
    pub async fn write_encoded(&mut self, json: &[u8]) -> Result<(), Error> {
        // Written as given rather than copied into the buffer first: it is already whole.
        self.destination.write(self.separator()).await?;
        self.destination.write(json).await?;
        self.count += 1;
        crate::metrics::written(1);
        Ok(())
    }

    /// What comes before the next element: the array's opening or a comma, each followed by a
    /// line break (one element per line).
    fn separator(&self) -> &'static [u8] {
        if self.count == 0 { b"[\n" } else { b",\n" }
    }

    /// Writes the separator and the element `encode` appends into the reused buffer, then the
    /// buffer into the destination in one write.
    async fn write_element(
        &mut self,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), serde_json::Error>,
    ) -> Result<(), Error> {
        self.buffer.clear();
        self.buffer.extend_from_slice(self.separator());
        encode(&mut self.buffer).map_err(|source| Error::Encode {
            location: self.destination.location(),
            index: self.count,
            source,
        })?;
        self.destination.write(&self.buffer).await?;
        self.count += 1;
        crate::metrics::written(1);
        Ok(())
    }

    /// How many elements were written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Closes the array and makes the file or object visible under its final name.
    pub async fn finish(mut self) -> Result<Written, Error> {
        let tail: &[u8] = if self.count == 0 { b"[]\n" } else { b"\n]\n" };
        self.destination.write(tail).await?;
        let mut written = self.destination.finish().await?;
        written.elements = self.count;
        Ok(written)
    }

    /// Gives up: removes the partial file or aborts the multipart upload.
    pub async fn abort(self) {
        self.destination.abort().await;
    }
}

#[async_trait]
impl<T: Serialize + Send + Sync + 'static> Sink<T> for JsonArrayWriter {
    async fn push(&mut self, item: T) -> Result<(), Error> {
        self.write(&item).await
    }
}

/// Reads a JSON array element by element. Parsing runs on a blocking thread (serde_json
/// parses from a synchronous reader) and elements cross a bounded channel, so at most a
/// few elements are in memory at once.
pub struct JsonArrayReader<T> {
    receiver: mpsc::Receiver<Result<T, Error>>,
}

/// How many parsed elements may wait in the channel.
const READ_AHEAD: usize = 64;

impl<T: DeserializeOwned + Send + 'static> JsonArrayReader<T> {
    /// Opens a local file.
    pub async fn open(path: &std::path::Path) -> Result<Self, Error> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|source| Error::Io {
                path: path.display().to_string(),
                source,
            })?;
        Ok(Self::from_reader(file, path.display().to_string()))
    }

    /// Reads from any asynchronous byte stream (a file, an S3 object body). `location` names
    /// the input in errors.
    pub fn from_reader(reader: impl AsyncRead + Send + Unpin + 'static, location: String) -> Self {
        let (sender, receiver) = mpsc::channel(READ_AHEAD);
        tokio::task::spawn_blocking(move || {
            let bridge = std::io::BufReader::with_capacity(
                64 * 1024,
                tokio_util::io::SyncIoBridge::new(reader),
            );
            let mut deserializer = serde_json::Deserializer::from_reader(bridge);
            let visitor = ForEachElement {
                sender: &sender,
                _element: PhantomData,
            };
            let outcome = serde::Deserializer::deserialize_seq(&mut deserializer, visitor)
                .and_then(|()| deserializer.end());
            if let Err(source) = outcome {
                // A closed channel means the consumer stopped reading: nothing to report.
                if !sender.is_closed() {
                    let _ = sender.blocking_send(Err(Error::Decode { location, source }));
                }
            }
        });
        Self { receiver }
    }

    /// The next element, `None` after the closing `]`.
    pub async fn next(&mut self) -> Result<Option<T>, Error> {
        self.receiver.recv().await.transpose()
    }
}

#[async_trait]
impl<T: DeserializeOwned + Send + 'static> Source<T> for JsonArrayReader<T> {
    async fn next(&mut self) -> Result<Option<T>, Error> {
        JsonArrayReader::next(self).await
    }
}

/// Visits the outer array and sends each element as soon as it is parsed.
struct ForEachElement<'a, T> {
    sender: &'a mpsc::Sender<Result<T, Error>>,
    _element: PhantomData<T>,
}

impl<'de, T: DeserializeOwned + Send> Visitor<'de> for ForEachElement<'_, T> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(element) = seq.next_element::<T>()? {
            if self.sender.blocking_send(Ok(element)).is_err() {
                return Err(serde::de::Error::custom("the reader was dropped"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// The three ways of appending share one separator and one count: mixed, they make one
    /// array, one element per line.
    #[tokio::test]
    async fn elements_written_by_hand_by_serde_and_encoded_make_one_array() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mixed.json");
        let mut writer = JsonArrayWriter::new(Destination::file(&path).await.unwrap());
        writer
            .write_with(|buffer| buffer.extend_from_slice(b"{\"by\":\"hand\"}"))
            .await
            .unwrap();
        writer
            .write(&serde_json::json!({"by": "serde"}))
            .await
            .unwrap();
        writer.write_encoded(b"\"encoded\"").await.unwrap();
        writer
            .write_with(|buffer| buffer.extend_from_slice(b"4"))
            .await
            .unwrap();
        assert_eq!(writer.count(), 4);
        let written = writer.finish().await.unwrap();
        assert_eq!(written.elements, 4);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[\n{\"by\":\"hand\"},\n{\"by\":\"serde\"},\n\"encoded\",\n4\n]\n"
        );
    }

    /// A first element by hand opens the array as one by serde does.
    #[tokio::test]
    async fn a_single_element_by_hand_opens_and_closes_the_array() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one.json");
        let mut writer = JsonArrayWriter::new(Destination::file(&path).await.unwrap());
        writer
            .write_with(|buffer| buffer.extend_from_slice(b"[]"))
            .await
            .unwrap();
        assert_eq!(writer.finish().await.unwrap().elements, 1);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[\n[]\n]\n");
    }
}
