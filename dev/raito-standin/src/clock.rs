//! Times on the wire: RFC 3339 text for `lastUpdate` and the checks on incoming `Time` values
//! (what gqlgen's `Time` scalar accepts), with the `time` crate as everywhere in the project;
//! and the [`Clock`] that decides when tokens expire and how far an import has got, which a
//! test can move forward.

use std::time::{Duration, Instant};

use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use tokio::sync::watch;

/// The clock that decides when id tokens expire and how far an import subtask has got (see
/// [`crate::Config::processing_delay`]): the real one, plus however far a test moved it forward
/// with [`crate::StandIn::advance_clock`], so that a test sees a token's hour go by, or an
/// import move on, without waiting for it. The times the stand-in writes (`lastUpdate`, a
/// token's `iat` and `exp`) stay on the wall clock.
pub(crate) struct Clock {
    /// How far ahead of the real clock it is.
    ahead: watch::Sender<Duration>,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Self {
            ahead: watch::Sender::new(Duration::ZERO),
        }
    }

    /// Now, on this clock.
    pub(crate) fn now(&self) -> Instant {
        Instant::now() + *self.ahead.borrow()
    }

    /// Moves the clock forward by `by`; whatever waits on it ([`Clock::sleep_until`]) wakes up.
    pub(crate) fn advance(&self, by: Duration) {
        self.ahead.send_modify(|ahead| *ahead += by);
    }

    /// Waits until this clock reads `until`: in real time, or at once when a test moves the
    /// clock past it.
    pub(crate) async fn sleep_until(&self, until: Instant) {
        // Subscribed before reading the clock: a move after the reading wakes the wait.
        let mut moved = self.ahead.subscribe();
        loop {
            let left = until.saturating_duration_since(self.now());
            if left.is_zero() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(left) => {}
                changed = moved.changed() => {
                    if changed.is_err() {
                        // Nobody can move the clock any more: real time only.
                        tokio::time::sleep(left).await;
                    }
                }
            }
        }
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or_default()
}

/// The format this stand-in writes its times in: RFC 3339 in UTC with milliseconds, e.g.
/// `2026-11-22T07:02:03.123Z`.
const MILLISECONDS_UTC: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// The current time as RFC 3339 in UTC with milliseconds, e.g. `2026-11-22T07:02:03.123Z`.
pub(crate) fn now_rfc3339() -> String {
    format_rfc3339(OffsetDateTime::now_utc())
}

/// `time` as RFC 3339 in UTC with milliseconds.
pub(crate) fn format_rfc3339(time: OffsetDateTime) -> String {
    // Fails only for a year the format cannot write (after 9999), which no clock or statement
    // reaches.
    time.to_offset(UtcOffset::UTC)
        .format(MILLISECONDS_UTC)
        .unwrap_or_default()
}

/// Unix epoch seconds (none before the epoch: it is the earliest) as RFC 3339 in UTC with
/// milliseconds.
pub(crate) fn rfc3339_of_epoch_seconds(epoch_seconds: i64) -> String {
    let time = OffsetDateTime::from_unix_timestamp(epoch_seconds.max(0))
        .unwrap_or(PrimitiveDateTime::MAX.assume_utc());
    format_rfc3339(time)
}

/// The epoch seconds of an RFC 3339 time in UTC (`YYYY-MM-DDTHH:MM:SS[.frac]Z`), as this
/// stand-in writes them; `None` for anything else.
pub(crate) fn epoch_seconds(text: &str) -> Option<i64> {
    if !text.ends_with('Z') {
        return None;
    }
    parse_rfc3339(text).map(OffsetDateTime::unix_timestamp)
}

/// Whether `text` is an RFC 3339 date-time (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`), as Go's
/// `time.RFC3339Nano` parsing (gqlgen's `Time`) requires.
pub(crate) fn is_rfc3339(text: &str) -> bool {
    parse_rfc3339(text).is_some()
}

/// `text` read as [`is_rfc3339`] describes, if it is one.
fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    // `time` takes any character between the date and the time (RFC 3339 allows a space); Go
    // and this stand-in only a `T` (or `t`).
    if !matches!(text.as_bytes().get(10), Some(b'T' | b't')) {
        return None;
    }
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_seconds_read_back_what_is_written() {
        for secs in [0_i64, 951_782_400, 1_795_000_123] {
            let text = rfc3339_of_epoch_seconds(secs);
            assert_eq!(epoch_seconds(&text), Some(secs), "{text}");
        }
        assert_eq!(epoch_seconds("2026-11-22T10:00:00+01:00"), None);
        assert_eq!(epoch_seconds("2026-11-22 10:00:00Z"), None);
        assert_eq!(
            rfc3339_of_epoch_seconds(-5),
            "1970-01-01T00:00:00.000Z",
            "nothing before the epoch"
        );
    }

    #[test]
    fn formats_the_epoch_and_a_leap_day() {
        assert_eq!(
            format_rfc3339(OffsetDateTime::UNIX_EPOCH),
            "1970-01-01T00:00:00.000Z"
        );
        // 2024-02-29T12:34:56.789Z
        let leap_day =
            OffsetDateTime::from_unix_timestamp_nanos(1_709_210_096_789_654_321).unwrap();
        assert_eq!(format_rfc3339(leap_day), "2024-02-29T12:34:56.789Z");
        let elsewhere = leap_day.to_offset(UtcOffset::from_hms(5, 30, 0).unwrap());
        assert_eq!(
            format_rfc3339(elsewhere),
            "2024-02-29T12:34:56.789Z",
            "in UTC"
        );
        assert_eq!(
            format_rfc3339(PrimitiveDateTime::MAX.assume_utc()),
            "9999-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn accepts_go_time_json_and_rejects_other_shapes() {
        assert!(is_rfc3339("2025-05-26T16:08:03.123456789+02:00"));
        assert!(is_rfc3339("2025-05-26T16:08:03Z"));
        assert!(is_rfc3339("2025-05-26t16:08:03z"));
        assert!(is_rfc3339("2025-05-26T16:08:03-00:00"));
        assert!(is_rfc3339(&now_rfc3339()));
        for refused in [
            "2025-05-26 16:08:03Z",
            "2025-05-26x16:08:03Z",
            "2025-05-26T16:08:03",
            "2025-13-26T16:08:03Z",
            "1748268483",
            "2025-05-26T16:08:03.Z",
            "2025-05-26T16:08:03+0200",
            "2025-05-26T16:08:03+02",
            "2025-05-26T16:08Z",
            "2025-5-26T16:08:03Z",
            "25-05-26T16:08:03Z",
            "2025-05-26T16:08:03Z ",
            " 2025-05-26T16:08:03Z",
            "2025-05-26T24:00:00Z",
            "2025-05-26T16:60:03Z",
            "2025-05-32T16:08:03Z",
            "",
        ] {
            assert!(!is_rfc3339(refused), "{refused:?} refused");
        }
    }
}
