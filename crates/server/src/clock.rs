//! Wall-clock formatting in the server's local time, as the proxy shows it in `/health`.

use std::sync::OnceLock;
use std::time::SystemTime;

use time::{OffsetDateTime, UtcOffset, format_description::FormatItem, macros::format_description};

static LOCAL_OFFSET: OnceLock<UtcOffset> = OnceLock::new();

/// Reads the local UTC offset. Call before any thread starts: the OS lookup is only sound then.
pub fn init_local_offset() {
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let _ = LOCAL_OFFSET.set(offset);
}

fn local(time: SystemTime) -> OffsetDateTime {
    let offset = LOCAL_OFFSET.get().copied().unwrap_or(UtcOffset::UTC);
    OffsetDateTime::from(time).to_offset(offset)
}

const SECONDS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
const MICROS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]");

/// Local ISO-8601 without zone or fraction (`2026-11-21T04:49:30`).
pub fn local_iso_seconds(time: SystemTime) -> String {
    local(time).format(SECONDS).unwrap_or_default()
}

/// Local ISO-8601 with microseconds, omitted when zero, as Python's `isoformat()`.
pub fn local_iso_micros(time: SystemTime) -> String {
    let local = local(time);
    if local.microsecond() == 0 {
        local.format(SECONDS).unwrap_or_default()
    } else {
        local.format(MICROS).unwrap_or_default()
    }
}

/// Seconds since the Unix epoch, as a float.
pub fn epoch_seconds(time: SystemTime) -> f64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Local date and time for page footers (`2026-11-21 04:49:30`).
pub fn local_display(time: SystemTime) -> String {
    local_iso_seconds(time).replacen('T', " ", 1)
}

/// Whole seconds since the Unix epoch.
pub fn epoch_whole_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A duration as Python prints a `timedelta` of whole seconds: `0:00:10`, `1 day, 2:03:04`,
/// `3 days, 0:00:00`.
pub fn python_duration(seconds: u64) -> String {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    let clock = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    match days {
        0 => clock,
        1 => format!("1 day, {clock}"),
        n => format!("{n} days, {clock}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_like_python_isoformat() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_236_570);
        assert_eq!(local_iso_seconds(t), "2026-11-21T04:49:30");
        assert_eq!(local_iso_micros(t), "2026-11-21T04:49:30");
        let t = t + Duration::from_micros(674_951);
        assert_eq!(local_iso_micros(t), "2026-11-21T04:49:30.674951");
        assert_eq!(local_display(t), "2026-11-21 04:49:30");
        assert_eq!(epoch_whole_seconds(t), 1_795_236_570);
    }

    #[test]
    fn durations_like_python_timedelta() {
        assert_eq!(python_duration(10), "0:00:10");
        assert_eq!(python_duration(3_723), "1:02:03");
        assert_eq!(python_duration(86_400 + 7_384), "1 day, 2:03:04");
        assert_eq!(python_duration(3 * 86_400), "3 days, 0:00:00");
    }
}
