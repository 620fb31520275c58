//! The proxy's request counters (`gets`, `posts`, `errors`, `timeout`, `uri`), shared by `/stats`,
//! `/health` and `/help`.

use std::collections::BTreeMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Most distinct paths counted by name; later new paths count under `other` (as the proxy does).
const MAX_URI_KEYS: usize = 100;

/// Request counters of this process.
#[derive(Debug, Default)]
pub struct RequestStats {
    gets: AtomicU64,
    posts: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    /// Epoch seconds of the last `/stats/clear` (0 = never).
    cleared_at: AtomicU64,
    /// Per-path counts: known paths count under a shared read lock (every data request does
    /// this); only a new path takes the write lock.
    uri: RwLock<BTreeMap<String, AtomicU64>>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsView {
    /// GETs answered with a body.
    pub gets: u64,
    /// POSTs answered 200.
    pub posts: u64,
    /// Errors (bad POSTs, unexpected failures).
    pub errors: u64,
    /// Routes that had no data to give (`null` bodies) or timed out.
    pub timeouts: u64,
    /// Per-path GET counts.
    pub uri: BTreeMap<String, u64>,
    /// Epoch seconds of the last `/stats/clear`, if any.
    pub cleared_at: Option<u64>,
}

impl RequestStats {
    /// Counts a GET that produced a body, under its path (query excluded).
    pub fn count_get(&self, path: &str) {
        self.gets.fetch_add(1, Ordering::Relaxed);
        {
            let uri = self
                .uri
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(count) = uri.get(path) {
                count.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        let mut uri = self
            .uri
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = if uri.contains_key(path) || uri.len() < MAX_URI_KEYS {
            path
        } else {
            "other"
        };
        uri.entry(key.to_owned())
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a web catch-all GET: `gets` only, no `uri` entry (as the proxy does).
    pub fn count_web_get(&self) {
        self.gets.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a GET whose route had no data (`null`).
    pub fn count_no_data(&self) {
        self.timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a successful POST.
    pub fn count_post(&self) {
        self.posts.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an error.
    pub fn count_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// `/stats/clear`: `gets`, `errors` and `uri` start again (`posts` and `timeout` are kept, as
    /// the proxy does); `clear` becomes `now_epoch`.
    pub fn clear(&self, now_epoch: u64) {
        let mut uri = self
            .uri
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        uri.clear();
        self.gets.store(0, Ordering::Relaxed);
        self.errors.store(0, Ordering::Relaxed);
        self.cleared_at.store(now_epoch, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn view(&self) -> StatsView {
        StatsView {
            gets: self.gets.load(Ordering::Relaxed),
            posts: self.posts.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            cleared_at: match self.cleared_at.load(Ordering::Relaxed) {
                0 => None,
                epoch => Some(epoch),
            },
            uri: self
                .uri
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .iter()
                .map(|(path, count)| (path.clone(), count.load(Ordering::Relaxed)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_caps_paths() {
        let stats = RequestStats::default();
        for i in 0..105 {
            stats.count_get(&format!("/p{i}"));
        }
        stats.count_get("/p0");
        stats.count_no_data();
        let view = stats.view();
        assert_eq!(view.gets, 106);
        assert_eq!(view.timeouts, 1);
        assert_eq!(view.uri.len(), 101);
        assert_eq!(view.uri["other"], 5);
        assert_eq!(view.uri["/p0"], 2);
    }

    #[test]
    fn clear_keeps_posts_and_timeouts() {
        let stats = RequestStats::default();
        stats.count_get("/aggregates");
        stats.count_post();
        stats.count_error();
        stats.count_no_data();
        assert_eq!(stats.view().cleared_at, None);
        stats.clear(1_795_236_570);
        stats.count_get("/stats/clear");
        let view = stats.view();
        assert_eq!(
            (view.gets, view.posts, view.errors, view.timeouts),
            (1, 1, 0, 1)
        );
        assert_eq!(view.uri.len(), 1);
        assert_eq!(view.uri["/stats/clear"], 1);
        assert_eq!(view.cleared_at, Some(1_795_236_570));
    }
}
