//! Gateway clock texts: ISO 8601 with offset in, `YYYY-MM-DD HH:MM:SS ±HHMM` and Go durations out.
//!
//! The crate has no date library, so the few calendar computations needed here are written out
//! (proleptic Gregorian, days since 1970-01-01).

const MICROS_PER_SECOND: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// An instant as the gateway reported it: UTC microseconds plus the offset it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayTime {
    /// Microseconds since the Unix epoch (UTC).
    pub epoch_micros: i64,
    /// The UTC offset of the original text, in seconds (kept for formatting).
    pub offset_seconds: i32,
}

impl GatewayTime {
    /// Seconds since the Unix epoch, as a float.
    pub fn epoch_seconds(self) -> f64 {
        self.epoch_micros as f64 / MICROS_PER_SECOND as f64
    }

    /// The same offset, `micros` earlier.
    pub fn minus_micros(self, micros: i64) -> GatewayTime {
        GatewayTime {
            epoch_micros: self.epoch_micros.saturating_sub(micros),
            ..self
        }
    }

    /// `YYYY-MM-DD HH:MM:SS ±HHMM` in the instant's own offset (fraction truncated).
    pub fn format_local(self) -> String {
        let local =
            self.epoch_micros.div_euclid(MICROS_PER_SECOND) + i64::from(self.offset_seconds);
        let (days, second_of_day) = (
            local.div_euclid(SECONDS_PER_DAY),
            local.rem_euclid(SECONDS_PER_DAY),
        );
        let (year, month, day) = civil_from_days(days);
        let sign = if self.offset_seconds < 0 { '-' } else { '+' };
        let offset_minutes = self.offset_seconds.unsigned_abs() / 60;
        format!(
            "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} {sign}{:02}{:02}",
            second_of_day / 3600,
            second_of_day % 3600 / 60,
            second_of_day % 60,
            offset_minutes / 60,
            offset_minutes % 60,
        )
    }
}

/// Parses `YYYY-MM-DD[T ]HH:MM[:SS[.f…]]` followed by `Z`, `±HH`, `±HHMM` or `±HH:MM[:SS]`.
///
/// A text without an offset is rejected: its instant would depend on an unknown zone.
pub fn parse_gateway_time(text: &str) -> Option<GatewayTime> {
    let bytes = text.as_bytes();
    if bytes.len() < 16 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[13] != b':' {
        return None;
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = digits(bytes, 0, 4)?;
    let month = digits(bytes, 5, 2)?;
    let day = digits(bytes, 8, 2)?;
    let hour = digits(bytes, 11, 2)?;
    let minute = digits(bytes, 14, 2)?;
    let mut at = 16;
    let mut second = 0;
    let mut micros = 0;
    if bytes.get(at) == Some(&b':') {
        second = digits(bytes, at + 1, 2)?;
        at += 3;
        if matches!(bytes.get(at), Some(b'.' | b',')) {
            at += 1;
            let start = at;
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            if at == start {
                return None;
            }
            // Digits past the sixth (Go prints nanoseconds) are truncated, not rounded.
            let kept = &text[start..at.min(start + 6)];
            micros = kept.parse::<i64>().ok()? * 10_i64.pow(6 - kept.len() as u32);
        }
    }
    if month == 0 || month > 12 || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let offset_seconds = parse_offset(&text[at..])?;
    let days = days_from_civil(year, month, day);
    let local_seconds = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
    let utc_seconds = local_seconds - i64::from(offset_seconds);
    Some(GatewayTime {
        epoch_micros: utc_seconds * MICROS_PER_SECOND + micros,
        offset_seconds,
    })
}

/// Milliseconds as a Go `time.Duration` text: `0s`, `750ms`, `44.192s`, `29m44.192s`, `398h29m44.192s`.
pub fn go_duration(milliseconds: f64) -> String {
    let total = milliseconds.round_ties_even();
    if !total.is_finite() || total <= 0.0 {
        return "0s".to_owned();
    }
    // Beyond 2^63 ms (about 292 million years) the text is meaningless anyway.
    let total = total as i64;
    if total < 1000 {
        return format!("{total}ms");
    }
    let hours = total / 3_600_000;
    let minutes = total % 3_600_000 / 60_000;
    let seconds = total % 60_000 / 1000;
    let fraction = format!("{:03}", total % 1000);
    let fraction = fraction.trim_end_matches('0');
    let seconds = if fraction.is_empty() {
        format!("{seconds}s")
    } else {
        format!("{seconds}.{fraction}s")
    };
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}")
    } else {
        seconds
    }
}

fn parse_offset(rest: &str) -> Option<i32> {
    let bytes = rest.as_bytes();
    let sign = match bytes.first()? {
        b'Z' | b'z' if bytes.len() == 1 => return Some(0),
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hours, minutes, seconds) = match bytes.len() {
        3 => (digits(bytes, 1, 2)?, 0, 0),
        5 => (digits(bytes, 1, 2)?, digits(bytes, 3, 2)?, 0),
        6 if bytes[3] == b':' => (digits(bytes, 1, 2)?, digits(bytes, 4, 2)?, 0),
        9 if bytes[3] == b':' && bytes[6] == b':' => (
            digits(bytes, 1, 2)?,
            digits(bytes, 4, 2)?,
            digits(bytes, 7, 2)?,
        ),
        _ => return None,
    };
    if hours > 23 || minutes > 59 || seconds > 59 {
        return None;
    }
    i32::try_from(sign * (hours * 3600 + minutes * 60 + seconds)).ok()
}

fn digits(bytes: &[u8], start: usize, count: usize) -> Option<i64> {
    let slice = bytes.get(start..start + count)?;
    slice.iter().try_fold(0_i64, |acc, byte| {
        byte.is_ascii_digit()
            .then(|| acc * 10 + i64::from(byte - b'0'))
    })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (shifting the year to start in March).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date of a day count since 1970-01-01 (inverse of `days_from_civil`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_and_formats_back() {
        let time = parse_gateway_time("2026-09-27T12:14:48-04:00").expect("valid");
        assert_eq!(time.epoch_micros, 1_790_525_688 * MICROS_PER_SECOND);
        assert_eq!(time.format_local(), "2026-09-27 12:14:48 -0400");
        let utc = parse_gateway_time("2024-01-24T12:00:00Z").expect("valid");
        assert_eq!(utc.epoch_seconds(), 1_706_097_600.0);
        assert_eq!(
            parse_gateway_time("2024-01-24 17:30:00.5+0530").map(GatewayTime::epoch_seconds),
            Some(1_706_097_600.5)
        );
        let nanos = parse_gateway_time("2023-12-16T11:48:34.135766872-08:00").expect("valid");
        assert_eq!(nanos.epoch_micros % MICROS_PER_SECOND, 135_766);
    }

    #[test]
    fn rejects_texts_without_offset_or_with_bad_fields() {
        for bad in [
            "2024-01-24T12:00:00",
            "2024-01-24 12:00:00 +0000",
            "2024-02-30T00:00:00Z",
            "",
            "x",
        ] {
            assert_eq!(parse_gateway_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_before_the_epoch_and_across_leap_days() {
        let time = GatewayTime {
            epoch_micros: -1,
            offset_seconds: 0,
        };
        assert_eq!(time.format_local(), "1969-12-31 23:59:59 +0000");
        let leap = parse_gateway_time("2024-02-29T23:59:59+00:00").expect("valid");
        assert_eq!(leap.format_local(), "2024-02-29 23:59:59 +0000");
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(1_434_584_192.0), "398h29m44.192s");
        assert_eq!(go_duration(0.0), "0s");
        assert_eq!(go_duration(-5.0), "0s");
        assert_eq!(go_duration(999.0), "999ms");
        assert_eq!(go_duration(60_000.0), "1m0s");
        assert_eq!(go_duration(3_600_500.0), "1h0m0.5s");
        assert_eq!(go_duration(1500.4), "1.5s");
        assert_eq!(go_duration(f64::NAN), "0s");
    }
}
