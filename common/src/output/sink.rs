//! Sinks and sources: how connectors hand results to the pipeline one element at a time.

use async_trait::async_trait;

use crate::output;

/// Receives the elements a sync produces, one at a time.
#[async_trait]
pub trait Sink<T: Send>: Send {
    /// Takes one element; an error means the output can no longer be written.
    async fn push(&mut self, item: T) -> Result<(), output::Error>;
}

/// Collects into memory: for tests and small results only.
#[async_trait]
impl<T: Send> Sink<T> for Vec<T> {
    async fn push(&mut self, item: T) -> Result<(), output::Error> {
        Vec::push(self, item);
        Ok(())
    }
}

/// Hands elements to a connector one at a time (e.g. access providers read from a file).
#[async_trait]
pub trait Source<T: Send>: Send {
    /// The next element, or `None` at the end.
    async fn next(&mut self) -> Result<Option<T>, output::Error>;
}

/// Drains a vector in order: for tests and small inputs.
#[async_trait]
impl<T: Send> Source<T> for std::collections::VecDeque<T> {
    async fn next(&mut self) -> Result<Option<T>, output::Error> {
        Ok(self.pop_front())
    }
}

/// Adds `n` to `counts[key]`. Counting runs once or more per element: the key is allocated
/// only when it is new.
pub fn add_count(counts: &mut std::collections::BTreeMap<String, u64>, key: &str, n: u64) {
    match counts.get_mut(key) {
        Some(count) => *count += n,
        None => {
            counts.insert(key.to_owned(), n);
        }
    }
}

/// Wraps a sink and counts what passes through, by a key of the caller's choosing (e.g. the
/// data object type), for the summary a pipeline reports.
pub struct CountingSink<'a, T, K: Fn(&T) -> &str + Send> {
    inner: &'a mut (dyn Sink<T> + 'a),
    key: K,
    counts: std::collections::BTreeMap<String, u64>,
}

impl<'a, T: Send, K: Fn(&T) -> &str + Send> CountingSink<'a, T, K> {
    /// Counts elements pushed into `inner` under `key(element)`.
    pub fn new(inner: &'a mut (dyn Sink<T> + 'a), key: K) -> Self {
        Self {
            inner,
            key,
            counts: Default::default(),
        }
    }

    /// The counts so far, by key.
    pub fn into_counts(self) -> std::collections::BTreeMap<String, u64> {
        self.counts
    }
}

#[async_trait]
impl<T: Send, K: Fn(&T) -> &str + Send> Sink<T> for CountingSink<'_, T, K> {
    async fn push(&mut self, item: T) -> Result<(), output::Error> {
        add_count(&mut self.counts, (self.key)(&item), 1);
        self.inner.push(item).await
    }
}
