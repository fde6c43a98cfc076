//! A cell decoded by its column's `rowType`: the SQL API sends every value as a JSON string (or
//! null), whose meaning depends on the column's type (the SQL API reference, "Getting the
//! results"; `../shared/reference/snowflake.md` §1):
//! - `fixed`: a decimal; `real`: a float; `boolean`: `true`/`false`;
//! - `date`: days since the epoch (`"18262"`);
//! - `time`: seconds since midnight with up to 9 decimals (`"82919.000000000"`);
//! - `timestamp_ltz` and `timestamp_ntz`: seconds since the epoch with up to 9 decimals
//!   (`"1616173619.000000000"`), or in the older form integer nanoseconds
//!   (`"1611871777123456789"`); both are read;
//! - `timestamp_tz`: the same followed by the offset in minutes plus 1440
//!   (`"1616173619.000000000 1500"` is UTC+01:00);
//! - anything else (`text`, `binary` as hex, `variant`/`object`/`array` as JSON text): text.
//!
//! Type names are compared without case: the examples write them lower case, the OpenAPI
//! description upper case.

use time::{Date, OffsetDateTime, Time, UtcOffset};

use super::client::Column;

/// One decoded cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'r> {
    /// SQL `NULL`.
    Null,
    /// `fixed`: the decimal as sent (exact; [`Cell::as_i64`] for whole numbers).
    Number(&'r str),
    /// `real`.
    Real(f64),
    /// `boolean`.
    Boolean(bool),
    /// `date`.
    Date(Date),
    /// `time`.
    Time(Time),
    /// `timestamp_ltz` and `timestamp_ntz` (as UTC: an NTZ value has no zone, and Snowflake
    /// sends its wall-clock reading as if it were UTC), `timestamp_tz` with its offset.
    Timestamp(OffsetDateTime),
    /// Every other type, as sent.
    Text(&'r str),
}

impl Cell<'_> {
    /// A whole `fixed` number, `None` for anything else.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Number(text) => text.parse().ok(),
            _ => None,
        }
    }
}

/// An integer above this many units cannot be seconds of a timestamp Snowflake can hold (year
/// 9999 is 2.5 × 10^11 s), so an integer timestamp past it is the older nanosecond form; below
/// it, an integer is whole seconds (a column of scale 0).
const NANOSECOND_FORM_ABOVE: i128 = 100_000_000_000_000;

/// Decodes `text` (a cell of `column`; `None` is null). The error says what did not parse.
pub fn decode<'r>(column: &Column, text: Option<&'r str>) -> Result<Cell<'r>, String> {
    let Some(text) = text else {
        return Ok(Cell::Null);
    };
    let bad = |what: &str| format!("column {:?}: {text:?} is not {what}", column.name);
    // A column read from the API is lower case already (client.rs): no copy per cell then.
    let lowered;
    let kind = if column.r#type.bytes().any(|b| b.is_ascii_uppercase()) {
        lowered = column.r#type.to_ascii_lowercase();
        lowered.as_str()
    } else {
        column.r#type.as_str()
    };
    Ok(match kind {
        "fixed" => {
            if !is_decimal(text) {
                return Err(bad("a decimal number"));
            }
            Cell::Number(text)
        }
        "real" | "float" | "double" => Cell::Real(text.parse().map_err(|_| bad("a float"))?),
        "boolean" => match text {
            t if t.eq_ignore_ascii_case("true") => Cell::Boolean(true),
            t if t.eq_ignore_ascii_case("false") => Cell::Boolean(false),
            _ => return Err(bad("a boolean")),
        },
        "date" => {
            let days: i64 = text.parse().map_err(|_| bad("a number of days"))?;
            let epoch = Date::from_calendar_date(1970, time::Month::January, 1)
                .map_err(|e| e.to_string())?;
            Cell::Date(
                epoch
                    .checked_add(time::Duration::days(days))
                    .ok_or_else(|| bad("a date"))?,
            )
        }
        "time" => {
            let nanos = seconds_as_nanos(text).ok_or_else(|| bad("seconds since midnight"))?;
            let day = 86_400 * 1_000_000_000_i128;
            if !(0..day).contains(&nanos) {
                return Err(bad("a time of day"));
            }
            let time = Time::MIDNIGHT + time::Duration::nanoseconds(nanos as i64);
            Cell::Time(time)
        }
        "timestamp_ltz" | "timestamp_ntz" => Cell::Timestamp(
            timestamp(text).ok_or_else(|| bad("a timestamp in seconds or nanoseconds"))?,
        ),
        "timestamp_tz" => {
            let (instant, offset) = text
                .split_once(' ')
                .ok_or_else(|| bad("a timestamp and an offset"))?;
            let minutes: i32 = offset
                .parse()
                .map_err(|_| bad("a timestamp and an offset"))?;
            let offset = UtcOffset::from_whole_seconds((minutes - 1440) * 60)
                .map_err(|_| bad("a timestamp with a valid offset"))?;
            Cell::Timestamp(
                timestamp(instant)
                    .ok_or_else(|| bad("a timestamp in seconds or nanoseconds"))?
                    .to_offset(offset),
            )
        }
        _ => Cell::Text(text),
    })
}

/// An epoch timestamp in either form, as UTC.
fn timestamp(text: &str) -> Option<OffsetDateTime> {
    let nanos = if text.contains('.') {
        seconds_as_nanos(text)?
    } else {
        let whole: i128 = text.parse().ok()?;
        if whole.abs() > NANOSECOND_FORM_ABOVE {
            whole
        } else {
            whole * 1_000_000_000
        }
    };
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

/// `"-12.5"` as nanoseconds (-12,500,000,000); at most 9 decimals.
fn seconds_as_nanos(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || fraction.len() > 9
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i128 = whole.parse().ok()?;
    let fraction: i128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse::<i128>().ok()? * 10_i128.pow(9 - fraction.len() as u32)
    };
    let nanos = whole.checked_mul(1_000_000_000)?.checked_add(fraction)?;
    Some(if negative { -nanos } else { nanos })
}

/// `-12`, `3.25`, `0.5`: what a `fixed` column sends.
fn is_decimal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime, time};

    use super::*;

    fn column(r#type: &str) -> Column {
        Column {
            name: "C".to_owned(),
            r#type: r#type.to_owned(),
        }
    }

    fn cell(r#type: &str, text: &str) -> Cell<'static> {
        let text: &'static str = Box::leak(text.to_owned().into_boxed_str());
        decode(&column(r#type), Some(text)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn timestamps_are_read_in_both_documented_forms() {
        let expected = datetime!(2021-03-19 17:06:59 UTC);
        assert_eq!(
            cell("timestamp_ltz", "1616173619.000000000"),
            Cell::Timestamp(expected)
        );
        // The older form: integer nanoseconds.
        assert_eq!(
            cell("TIMESTAMP_NTZ", "1616173619000000000"),
            Cell::Timestamp(expected)
        );
        // Scale 0: whole seconds.
        assert_eq!(
            cell("timestamp_ntz", "1616173619"),
            Cell::Timestamp(expected)
        );
        assert_eq!(
            cell("timestamp_ltz", "1611871777.123456789"),
            Cell::Timestamp(datetime!(2021-01-28 22:09:37.123456789 UTC))
        );
        assert_eq!(
            cell("timestamp_ltz", "1611871777.5"),
            Cell::Timestamp(datetime!(2021-01-28 22:09:37.5 UTC))
        );
        assert_eq!(
            cell("timestamp_ntz", "-1.500000000"),
            Cell::Timestamp(datetime!(1969-12-31 23:59:58.5 UTC))
        );
    }

    #[test]
    fn a_zoned_timestamp_keeps_its_offset_of_minutes_plus_1440() {
        let Cell::Timestamp(at) = cell("timestamp_tz", "1616173619.000000000 1500") else {
            panic!("a timestamp");
        };
        assert_eq!(at, datetime!(2021-03-19 18:06:59 +01:00));
        assert_eq!(at.offset(), UtcOffset::from_hms(1, 0, 0).unwrap());
        let Cell::Timestamp(at) = cell("TIMESTAMP_TZ", "1616173619000000000 1140") else {
            panic!("a timestamp");
        };
        assert_eq!(at, datetime!(2021-03-19 12:06:59 -05:00));
    }

    #[test]
    fn dates_times_numbers_and_booleans_follow_the_column_type() {
        assert_eq!(cell("date", "18262"), Cell::Date(date!(2020 - 01 - 01)));
        assert_eq!(cell("DATE", "-1"), Cell::Date(date!(1969 - 12 - 31)));
        assert_eq!(cell("time", "82919.000000000"), Cell::Time(time!(23:01:59)));
        assert_eq!(cell("fixed", "-12").as_i64(), Some(-12));
        assert_eq!(cell("FIXED", "3.25"), Cell::Number("3.25"));
        assert_eq!(cell("fixed", "3.25").as_i64(), None);
        assert_eq!(cell("real", "1.5e3"), Cell::Real(1500.0));
        assert_eq!(cell("Boolean", "true"), Cell::Boolean(true));
        assert_eq!(cell("text", "1616173619"), Cell::Text("1616173619"));
        assert_eq!(cell("variant", "{\"a\":1}"), Cell::Text("{\"a\":1}"));
        assert_eq!(decode(&column("timestamp_ltz"), None), Ok(Cell::Null));
    }

    #[test]
    fn what_does_not_parse_is_an_error_naming_the_column_and_value() {
        for (r#type, text) in [
            ("fixed", "12a"),
            ("fixed", "1."),
            ("boolean", "yes"),
            ("date", "2020-01-01"),
            ("time", "86400.000000000"),
            ("timestamp_ltz", "2021-03-19"),
            ("timestamp_ltz", "1.1234567890"),
            ("timestamp_tz", "1616173619.000000000"),
            ("timestamp_tz", "1616173619.000000000 99999"),
        ] {
            let error = decode(&column(r#type), Some(text)).expect_err(text);
            assert!(
                error.starts_with("column \"C\": ") && error.contains(text),
                "{error}"
            );
        }
    }
}
