//! What the file checks of `import` and `identities` share: reading one JSON array element by
//! element (never as one big `Value`), with each element checked as soon as it is read and a bad
//! one named by its index and field, and a capped list of problems.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer as _;
use serde::de::{DeserializeOwned, DeserializeSeed, SeqAccess, Visitor};

/// After this many problems the rest are only counted.
pub(crate) const MAX_REPORTED: usize = 50;

/// Problems found so far: the first [`MAX_REPORTED`] in full, the rest counted.
#[derive(Default)]
pub(crate) struct Problems {
    reported: Vec<String>,
    suppressed: usize,
}

impl Problems {
    pub(crate) fn add(&mut self, problem: String) {
        if self.reported.len() < MAX_REPORTED {
            self.reported.push(problem);
        } else {
            self.suppressed += 1;
        }
    }

    /// The problems, with a last line counting those left out.
    pub(crate) fn finish(mut self) -> Vec<String> {
        if self.suppressed > 0 {
            self.reported
                .push(format!("... and {} more problems", self.suppressed));
        }
        self.reported
    }
}

/// Why a file could not be read.
pub(crate) enum ReadError {
    /// An element did not deserialize: `element 3, field `tags[0].key`: invalid type: ...`.
    Element(String),
    /// The file as a whole is not one JSON array (or has trailing characters):
    /// `not one JSON array of users: ...`.
    File(String),
}

impl ReadError {
    /// The message, with `file` (e.g. `users file`) in front, or `the file is` for a file-level
    /// problem when `file` is `None`.
    pub(crate) fn message(self, file: Option<&str>) -> String {
        match (self, file) {
            (Self::Element(message), None) => message,
            (Self::Element(message), Some(file)) => format!("{file} {message}"),
            (Self::File(message), None) => format!("the file is {message}"),
            (Self::File(message), Some(file)) => format!("{file} is {message}"),
        }
    }
}

/// Reads `bytes` as one JSON array of `T` (`what` names the elements in messages), calling
/// `check(index, &element)` on each element as soon as it is read. Returns the elements in file
/// order, or why reading stopped (the elements before it have been checked).
pub(crate) fn read_array<T: DeserializeOwned>(
    bytes: &[u8],
    what: &str,
    mut check: impl FnMut(usize, &T),
) -> Result<Vec<T>, ReadError> {
    let mut element_failure = None;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let read = deserializer
        .deserialize_seq(ArrayVisitor {
            what,
            check: &mut check,
            element_failure: &mut element_failure,
            elements: PhantomData,
        })
        .and_then(|elements| deserializer.end().map(|()| elements));
    read.map_err(|error| match element_failure {
        Some(message) => ReadError::Element(message),
        None => ReadError::File(format!("not one JSON array of {what}: {error}")),
    })
}

/// Streams the array: one element at a time through `check`.
struct ArrayVisitor<'a, T, F> {
    what: &'a str,
    check: &'a mut F,
    element_failure: &'a mut Option<String>,
    elements: PhantomData<T>,
}

impl<'de, T, F> Visitor<'de> for ArrayVisitor<'_, T, F>
where
    T: DeserializeOwned,
    F: FnMut(usize, &T),
{
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON array of {}", self.what)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut elements = Vec::new();
        loop {
            let index = elements.len();
            let mut field = None;
            match seq.next_element_seed(Element {
                field: &mut field,
                element: PhantomData,
            }) {
                Ok(Some(element)) => {
                    (self.check)(index, &element);
                    elements.push(element);
                }
                Ok(None) => return Ok(elements),
                Err(error) => {
                    let place = match field {
                        Some(path) if path != "." => format!("element {index}, field `{path}`"),
                        _ => format!("element {index}"),
                    };
                    *self.element_failure = Some(format!("{place}: {error}"));
                    return Err(error);
                }
            }
        }
    }
}

/// Reads one element, remembering which field a type error was in.
struct Element<'f, T> {
    field: &'f mut Option<String>,
    element: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Element<'_, T> {
    type Value = T;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            *self.field = Some(error.path().to_string());
            error.into_inner()
        })
    }
}
