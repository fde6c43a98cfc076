//! The JSON side: serde_json's streaming deserializer over the metered reader, driven by
//! visitors. The top-level visitor walks the document's keys; the `accessProviders` value is
//! visited as a sequence whose elements are captured one at a time as raw JSON text (bounded by
//! the meter), typed with a field path on error, and sent on before the next is read.

use std::fmt;
use std::io::BufRead;

use serde::de::{DeserializeSeed, Deserializer as _, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::document::{Context, Halt, split_json_error};
use super::input::CountingRead;
use super::{Error, Format, Part};

/// Reads a whole JSON document, handing over access providers as they come.
pub(super) fn read(reader: impl BufRead, cx: &Context) -> Result<(), Halt> {
    cx.meter.window(cx.cap());
    let mut deserializer =
        serde_json::Deserializer::from_reader(CountingRead::new(reader, cx.meter.clone()));
    let outcome = (&mut deserializer)
        .deserialize_any(DocumentVisitor { cx })
        .and_then(|()| deserializer.end());
    match outcome {
        Ok(()) => Ok(()),
        Err(error) => Err(cx
            .take_halt()
            .unwrap_or_else(|| Halt::from(convert(cx, error)))),
    }
}

/// A parser error, told apart: the cap was hit, the input failed, or the JSON is malformed.
fn convert(cx: &Context, error: serde_json::Error) -> Error {
    if cx.meter.exceeded() {
        Error::TooLarge {
            location: cx.location.clone(),
            part: cx.part(),
            position: None,
            limit: cx.cap(),
        }
    } else if error.is_io() {
        Error::Io {
            location: cx.location.clone(),
            source: error.into(),
        }
    } else {
        let (position, message) = split_json_error(&error);
        Error::Syntax {
            location: cx.location.clone(),
            format: Format::Json,
            part: cx.part(),
            position,
            message,
        }
    }
}

/// The top level: a mapping (the document) or, leniently, a bare list of access providers.
struct DocumentVisitor<'a> {
    cx: &'a Context,
}

impl DocumentVisitor<'_> {
    fn not_an_export<E: serde::de::Error>(self, found: &str) -> Result<(), E> {
        Err(self.cx.abort(Halt::from(Error::NotAnExport {
            location: self.cx.location.clone(),
            found: found.to_owned(),
        })))
    }
}

impl<'de> Visitor<'de> for DocumentVisitor<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an access export document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let cx = self.cx;
        loop {
            cx.meter.window(cx.cap());
            let Some(key) = map.next_key::<String>()? else {
                return Ok(());
            };
            let position = Some(cx.meter.position());
            if key == "accessProviders" {
                cx.first_time(&key, position)
                    .map_err(|halt| cx.abort(halt))?;
                map.next_value_seed(ListSeed { cx })?;
            } else {
                let value = map.next_value::<serde_json::Value>()?;
                cx.header_field(key, value, position)
                    .map_err(|halt| cx.abort(halt))?;
            }
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        ListVisitor { cx: self.cx }.visit_seq(seq)
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_export("a boolean")
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_export("a number")
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_export("a number")
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_export("a number")
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_export("a string")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.not_an_export("null")
    }
}

/// The value of `accessProviders`: a list, or `null` for none.
struct ListSeed<'a> {
    cx: &'a Context,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(ListVisitor { cx: self.cx })
    }
}

struct ListVisitor<'a> {
    cx: &'a Context,
}

impl ListVisitor<'_> {
    fn not_a_list<E: serde::de::Error>(self, found: &str) -> Result<(), E> {
        Err(self.cx.abort(Halt::from(Error::Invalid {
            location: self.cx.location.clone(),
            part: Part::Document,
            position: Some(self.cx.meter.position()),
            field: Some("accessProviders".to_owned()),
            message: format!("expected a list of access providers, found {found}"),
        })))
    }
}

impl<'de> Visitor<'de> for ListVisitor<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a list of access providers")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.not_a_list("a boolean")
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.not_a_list("a number")
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.not_a_list("a number")
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.not_a_list("a number")
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.not_a_list("a string")
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_a_list("a mapping")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let cx = self.cx;
        cx.begin_list();
        while seq.next_element_seed(ElementSeed { cx })?.is_some() {}
        cx.end_list();
        Ok(())
    }
}

/// One access provider: captured as raw text within the cap, then typed.
struct ElementSeed<'a> {
    cx: &'a Context,
}

impl<'de> DeserializeSeed<'de> for ElementSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let cx = self.cx;
        // serde_json has already read the element's first byte: this is where it starts.
        let start = cx.meter.position();
        cx.meter.window(cx.cap());
        let raw = <Box<RawValue> as serde::Deserialize>::deserialize(deserializer)?;
        cx.access_provider_json(raw.get(), start)
            .map_err(|halt| cx.abort(halt))?;
        cx.meter.window(cx.cap());
        Ok(())
    }
}
