//! The simulation clock (real time plus an offset, optionally frozen) and the gateway's time formats.
//!
//! Every time-dependent behaviour (sun, SOE integration, session expiry, uptime, timestamps) reads
//! this clock, so tests can freeze, advance or set it and get deterministic answers.

use std::time::{SystemTime, UNIX_EPOCH};

use time::{OffsetDateTime, UtcOffset};

/// Nanoseconds in a second, as the clock's integer unit.
pub const NANOS_PER_SEC: i128 = 1_000_000_000;

/// Simulation time: real time plus an offset, or a frozen instant.
#[derive(Debug, Clone)]
pub struct SimClock {
    offset_ns: i128,
    frozen_at_ns: Option<i128>,
}

impl SimClock {
    /// A clock starting at `start_epoch` (Unix seconds; `None` = real time), frozen or running.
    pub fn new(start_epoch: Option<f64>, frozen: bool) -> Self {
        let mut clock = Self {
            offset_ns: 0,
            frozen_at_ns: None,
        };
        if frozen {
            clock.freeze();
        }
        if let Some(epoch) = start_epoch {
            clock.set(epoch);
        }
        clock
    }

    /// Current simulation time in nanoseconds since the Unix epoch.
    pub fn now_ns(&self) -> i128 {
        self.frozen_at_ns
            .unwrap_or_else(|| real_now_ns() + self.offset_ns)
    }

    /// Whether the clock is frozen.
    pub fn is_frozen(&self) -> bool {
        self.frozen_at_ns.is_some()
    }

    /// Stops the clock at the current simulation time (no-op when already frozen).
    pub fn freeze(&mut self) {
        if self.frozen_at_ns.is_none() {
            self.frozen_at_ns = Some(self.now_ns());
        }
    }

    /// Lets the clock run again from the current simulation time.
    pub fn unfreeze(&mut self) {
        if let Some(at) = self.frozen_at_ns.take() {
            self.offset_ns = at - real_now_ns();
        }
    }

    /// Moves the clock by `secs` (negative goes back).
    pub fn advance(&mut self, secs: f64) {
        let delta = secs_to_ns(secs);
        match &mut self.frozen_at_ns {
            Some(at) => *at += delta,
            None => self.offset_ns += delta,
        }
    }

    /// Sets the clock to `epoch` Unix seconds, keeping its frozen/running state.
    pub fn set(&mut self, epoch: f64) {
        let target = secs_to_ns(epoch);
        match &mut self.frozen_at_ns {
            Some(at) => *at = target,
            None => self.offset_ns = target - real_now_ns(),
        }
    }
}

fn real_now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i128::try_from(elapsed.as_nanos()).unwrap_or(i128::MAX / 4))
        .unwrap_or(0)
}

/// Converts seconds to nanoseconds; the `as` cast saturates, so absurd inputs cannot panic.
pub fn secs_to_ns(secs: f64) -> i128 {
    (secs * 1e9).round() as i128
}

/// Converts nanoseconds to (fractional) seconds.
pub fn ns_to_secs(ns: i128) -> f64 {
    ns as f64 / 1e9
}

fn local(ns: i128, utc_offset_secs: i32) -> OffsetDateTime {
    let offset = UtcOffset::from_whole_seconds(utc_offset_secs).unwrap_or(UtcOffset::UTC);
    OffsetDateTime::from_unix_timestamp_nanos(ns)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset)
}

fn offset_text(at: OffsetDateTime, colon: bool) -> String {
    let (hours, minutes, _) = at.offset().as_hms();
    let sign = if at.offset().is_negative() { '-' } else { '+' };
    let separator = if colon { ":" } else { "" };
    format!(
        "{sign}{:02}{separator}{:02}",
        hours.unsigned_abs(),
        minutes.unsigned_abs()
    )
}

fn date_time(at: OffsetDateTime, separator: char) -> String {
    format!(
        "{:04}-{:02}-{:02}{separator}{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// RFC 3339 with nanoseconds and offset, as in `last_communication_time`
/// (`2023-12-16T08:33:19.496043714-08:00`).
pub fn rfc3339_nanos(ns: i128, utc_offset_secs: i32) -> String {
    let at = local(ns, utc_offset_secs);
    format!(
        "{}.{:09}{}",
        date_time(at, 'T'),
        at.nanosecond(),
        offset_text(at, true)
    )
}

/// RFC 3339 with microseconds and offset, as in `last_toggle_timestamp` and alert `LastRxTime`.
pub fn rfc3339_micros(ns: i128, utc_offset_secs: i32) -> String {
    let at = local(ns, utc_offset_secs);
    format!(
        "{}.{:06}{}",
        date_time(at, 'T'),
        at.microsecond(),
        offset_text(at, true)
    )
}

/// ISO 8601 to the second with a `±HH:MM` offset, as the TEDAPI `system.time`
/// (`2024-01-24T04:00:00-08:00`).
pub fn iso8601_seconds(ns: i128, utc_offset_secs: i32) -> String {
    let at = local(ns, utc_offset_secs);
    format!("{}{}", date_time(at, 'T'), offset_text(at, true))
}

/// The `/api/status` `start_time` form: `2023-10-13 04:01:45 -0800`.
pub fn gateway_start_time(ns: i128, utc_offset_secs: i32) -> String {
    let at = local(ns, utc_offset_secs);
    format!("{} {}", date_time(at, ' '), offset_text(at, false))
}

/// A Go `time.Duration` string (`1541h38m20.998412744s`, `2m3.5s`, `250ms`), as the gateway
/// prints `up_time_seconds`.
pub fn go_duration(ns: i128) -> String {
    if ns == 0 {
        return "0s".to_owned();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let ns = ns.unsigned_abs();
    if ns < 1_000 {
        return format!("{sign}{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{sign}{}µs", fraction(ns / 1_000, ns % 1_000, 3));
    }
    if ns < 1_000_000_000 {
        return format!("{sign}{}ms", fraction(ns / 1_000_000, ns % 1_000_000, 6));
    }
    let total_secs = ns / 1_000_000_000;
    let (hours, minutes, secs) = (total_secs / 3600, (total_secs / 60) % 60, total_secs % 60);
    let secs = fraction(secs, ns % 1_000_000_000, 9);
    match (hours, minutes) {
        (0, 0) => format!("{sign}{secs}s"),
        (0, _) => format!("{sign}{minutes}m{secs}s"),
        _ => format!("{sign}{hours}h{minutes}m{secs}s"),
    }
}

fn fraction(whole: u128, frac: u128, digits: usize) -> String {
    if frac == 0 {
        return whole.to_string();
    }
    let text = format!("{frac:0digits$}");
    format!("{whole}.{}", text.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_advances_and_sets_exactly() {
        let mut clock = SimClock::new(Some(1_706_097_600.0), true);
        assert_eq!(clock.now_ns(), 1_706_097_600 * NANOS_PER_SEC);
        clock.advance(90.5);
        assert_eq!(clock.now_ns(), 1_706_097_690 * NANOS_PER_SEC + 500_000_000);
        clock.set(1_000.0);
        assert_eq!(clock.now_ns(), 1_000 * NANOS_PER_SEC);
        assert!(clock.is_frozen());
    }

    #[test]
    fn running_clock_keeps_its_offset() {
        let mut clock = SimClock::new(Some(1_000_000.0), false);
        let first = clock.now_ns();
        assert!((first - 1_000_000 * NANOS_PER_SEC).abs() < NANOS_PER_SEC);
        clock.advance(3600.0);
        assert!(clock.now_ns() - first >= 3600 * NANOS_PER_SEC);
        clock.freeze();
        let frozen = clock.now_ns();
        clock.unfreeze();
        assert!(clock.now_ns() >= frozen);
    }

    #[test]
    fn formats_like_the_gateway() {
        let ns = 1_702_744_399 * NANOS_PER_SEC + 496_043_714;
        assert_eq!(
            rfc3339_nanos(ns, -8 * 3600),
            "2023-12-16T08:33:19.496043714-08:00"
        );
        assert_eq!(
            rfc3339_micros(ns, -8 * 3600),
            "2023-12-16T08:33:19.496043-08:00"
        );
        assert_eq!(
            gateway_start_time(ns, -8 * 3600),
            "2023-12-16 08:33:19 -0800"
        );
        assert_eq!(rfc3339_nanos(0, 0), "1970-01-01T00:00:00.000000000+00:00");
        assert_eq!(iso8601_seconds(ns, -8 * 3600), "2023-12-16T08:33:19-08:00");
        assert_eq!(
            iso8601_seconds(ns, 5 * 3600 + 1800),
            "2023-12-16T22:03:19+05:30"
        );
    }

    #[test]
    fn go_durations() {
        let cases = [
            (0, "0s"),
            (5, "5ns"),
            (1_500, "1.5µs"),
            (250_000_000, "250ms"),
            (2 * NANOS_PER_SEC + 500_000_000, "2.5s"),
            (123 * NANOS_PER_SEC, "2m3s"),
            (3600 * NANOS_PER_SEC, "1h0m0s"),
            (
                5_549_900 * NANOS_PER_SEC + 998_412_744,
                "1541h38m20.998412744s",
            ),
        ];
        for (ns, text) in cases {
            assert_eq!(go_duration(ns), text);
        }
    }
}
