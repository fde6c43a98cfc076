//! Times on the wire: RFC 3339 text for `lastUpdate` and the checks on incoming `Time` values
//! (what gqlgen's `Time` scalar accepts), written out here rather than pulling in a date crate;
//! and the [`Clock`] that decides when tokens expire and how far an import has got, which a
//! test can move forward.

use std::time::{Duration, Instant, SystemTime};

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
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// The current time as RFC 3339 in UTC with milliseconds, e.g. `2026-11-22T07:02:03.123Z`.
pub(crate) fn now_rfc3339() -> String {
    format_rfc3339(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default(),
    )
}

/// `since_epoch` as RFC 3339 in UTC with milliseconds.
pub(crate) fn format_rfc3339(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since_epoch.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The epoch seconds of an RFC 3339 time in UTC (`YYYY-MM-DDTHH:MM:SS[.frac]Z`), as this
/// stand-in writes them; `None` for anything else.
pub(crate) fn epoch_seconds(text: &str) -> Option<i64> {
    if !is_rfc3339(text) || !text.ends_with('Z') {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Whether `text` is an RFC 3339 date-time (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`), as Go's
/// `time.RFC3339Nano` parsing (gqlgen's `Time`) requires.
pub(crate) fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range.clone())
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
            .then(|| text[range].parse::<u32>().unwrap_or(u32::MAX))
    };
    let shape = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't')
        && b[13] == b':'
        && b[16] == b':';
    if !shape {
        return false;
    }
    let fields = [
        digits(0..4),
        digits(5..7),
        digits(8..10),
        digits(11..13),
        digits(14..16),
        digits(17..19),
    ];
    let [
        Some(_),
        Some(month),
        Some(day),
        Some(hour),
        Some(minute),
        Some(second),
    ] = fields
    else {
        return false;
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return false;
    }
    if second > 60 {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', ..] if rest.len() == 6 => {
            let offset = rest.as_bytes();
            offset[3] == b':'
                && offset[1..3].iter().all(u8::is_ascii_digit)
                && offset[4..6].iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_seconds_read_back_what_is_written() {
        for secs in [0_u64, 951_782_400, 1_795_000_123] {
            let text = format_rfc3339(Duration::from_secs(secs));
            assert_eq!(epoch_seconds(&text), Some(secs as i64), "{text}");
        }
        assert_eq!(epoch_seconds("2026-11-22T10:00:00+01:00"), None);
    }

    #[test]
    fn formats_the_epoch_and_a_leap_day() {
        assert_eq!(format_rfc3339(Duration::ZERO), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T12:34:56.789Z
        assert_eq!(
            format_rfc3339(Duration::from_millis(1_709_210_096_789)),
            "2024-02-29T12:34:56.789Z"
        );
    }

    #[test]
    fn accepts_go_time_json_and_rejects_other_shapes() {
        assert!(is_rfc3339("2025-05-26T16:08:03.123456789+02:00"));
        assert!(is_rfc3339("2025-05-26T16:08:03Z"));
        assert!(is_rfc3339(&now_rfc3339()));
        assert!(!is_rfc3339("2025-05-26 16:08:03Z"));
        assert!(!is_rfc3339("2025-05-26T16:08:03"));
        assert!(!is_rfc3339("2025-13-26T16:08:03Z"));
        assert!(!is_rfc3339("1748268483"));
        assert!(!is_rfc3339("2025-05-26T16:08:03.Z"));
    }
}
