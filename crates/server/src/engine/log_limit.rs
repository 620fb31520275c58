//! Network-error logging (§8.5): at most `PW_NETWORK_ERROR_RATE_LIMIT` lines per source per
//! wall-clock minute, none with `PW_SUPPRESS_NETWORK_ERRORS=yes`, and a summary of every error
//! (logged or not) when an error arrives more than five minutes after the last summary.

use std::collections::BTreeMap;

/// Seconds between summaries.
pub const SUMMARY_PERIOD_SECS: u64 = 300;
/// Most sources tracked per minute (a bound, far above the handful the poller has).
const MAX_SOURCES: usize = 256;

/// What to log for one network error.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogDecision {
    /// Log the individual line.
    pub log_line: bool,
    /// Log this summary (one line per source and error type) first.
    pub summary: Option<Vec<String>>,
}

/// The rate limiter and summary tallies.
#[derive(Debug, Clone)]
pub struct NetworkErrorLog {
    suppress: bool,
    per_minute: u64,
    minute: u64,
    lines_this_minute: BTreeMap<String, u64>,
    tallies: BTreeMap<(String, String), u64>,
    last_summary: u64,
}

impl NetworkErrorLog {
    /// A log that started (and last summarised) at `now_epoch`.
    pub fn new(suppress: bool, per_minute: u64, now_epoch: u64) -> Self {
        Self {
            suppress,
            per_minute,
            minute: now_epoch / 60,
            lines_this_minute: BTreeMap::new(),
            tallies: BTreeMap::new(),
            last_summary: now_epoch,
        }
    }

    /// Records one error of `error_type` from `source` at `now_epoch` (seconds).
    pub fn record(&mut self, source: &str, error_type: &str, now_epoch: u64) -> LogDecision {
        let mut decision = LogDecision::default();
        if now_epoch.saturating_sub(self.last_summary) > SUMMARY_PERIOD_SECS
            && !self.tallies.is_empty()
        {
            let lines = self
                .tallies
                .iter()
                .map(|((source, kind), count)| format!("  {source}: {count} {kind} errors"))
                .collect();
            decision.summary = Some(lines);
            self.tallies.clear();
            self.last_summary = now_epoch;
        }
        if self.tallies.len() < MAX_SOURCES {
            *self
                .tallies
                .entry((source.to_owned(), error_type.to_owned()))
                .or_default() += 1;
        }
        let minute = now_epoch / 60;
        if minute != self.minute {
            self.minute = minute;
            self.lines_this_minute.clear();
        }
        if !self.suppress && self.lines_this_minute.len() < MAX_SOURCES {
            let lines = self.lines_this_minute.entry(source.to_owned()).or_default();
            if *lines < self.per_minute {
                *lines += 1;
                decision.log_line = true;
            }
        }
        decision
    }

    /// Entries held (rate-limit buckets, summary tallies), for `/stats` `mem_cache`.
    pub fn sizes(&self) -> (usize, usize) {
        (self.lines_this_minute.len(), self.tallies.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_lines_per_source_per_minute() {
        let mut log = NetworkErrorLog::new(false, 2, 600);
        let logged =
            |log: &mut NetworkErrorLog, source, at| log.record(source, "Timeout", at).log_line;
        assert!(logged(&mut log, "poll('/a')", 600));
        assert!(logged(&mut log, "poll('/a')", 610));
        assert!(!logged(&mut log, "poll('/a')", 620));
        assert!(logged(&mut log, "poll('/b')", 630), "per source");
        assert!(logged(&mut log, "poll('/a')", 660), "a new minute");
    }

    #[test]
    fn suppression_silences_lines_but_not_the_summary() {
        let mut log = NetworkErrorLog::new(true, 5, 0);
        for at in [10, 20, 30] {
            assert_eq!(log.record("poll", "Timeout", at), LogDecision::default());
        }
        log.record("poll", "ConnectionError", 40);
        let decision = log.record("poll", "Timeout", 301);
        let summary = decision.summary.expect("summary after five minutes");
        assert_eq!(
            summary,
            vec![
                "  poll: 1 ConnectionError errors".to_owned(),
                "  poll: 3 Timeout errors".to_owned()
            ]
        );
        assert!(!decision.log_line);
        assert_eq!(log.sizes().1, 1, "the new error starts the next tally");
        assert_eq!(log.record("poll", "Timeout", 400).summary, None);
    }
}
