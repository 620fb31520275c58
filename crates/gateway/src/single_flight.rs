//! The gateway clients' one single-flight cache (TEDAPI queries, Owner API and Fleet API reads).
//!
//! A [`Flight`] holds one answer: callers within the policy's TTL get it without a request;
//! otherwise one caller fetches while the others wait for that one exchange and take its outcome,
//! failure included (a dead gateway costs one timeout per round, not one per caller). A caller
//! waits at most the policy's bound, then takes the last answer whatever its age, or a timeout
//! error when there never was one. A new answer may be stamped a little earlier than it arrived
//! (jitter), so answers fetched together do not all expire together. Failures are not cached as
//! answers; [`Flight::recent_failure`] lets a caller hold back a retry (a negative TTL).
//! [`Keyed`] is a map of flights, one per key.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::GatewayError;

/// How a read uses the cache.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// An answer younger than this is served without a request (zero: always fetch).
    pub ttl: Duration,
    /// The longest a caller waits for another caller's fetch (`PW_TIMEOUT`).
    pub wait: Duration,
    /// A new answer is stamped this much earlier than it arrived (jitter).
    pub backdate: Duration,
    /// The gateway or service, named in the timeout error.
    pub target: &'a str,
}

impl<'a> Policy<'a> {
    /// Answers live for `ttl`; callers wait at most `wait` for `target`.
    pub fn new(ttl: Duration, wait: Duration, target: &'a str) -> Self {
        Self {
            ttl,
            wait,
            backdate: Duration::ZERO,
            target,
        }
    }
}

/// One cached answer with its single-flight lock.
#[derive(Debug)]
pub struct Flight<T> {
    /// Held while a fetch runs.
    flight: tokio::sync::Mutex<()>,
    /// The cached outcome; a plain lock held only to copy in or out, never across an await.
    state: Mutex<State<T>>,
}

#[derive(Debug)]
struct State<T> {
    value: Option<(Instant, Arc<T>)>,
    /// Outcome of the last finished fetch, shared with the callers that waited for it.
    last: Option<(u64, Result<Arc<T>, GatewayError>)>,
    /// Finished fetches; a waiter that sees it move knows its question was just answered.
    finished: u64,
    /// When the last fetch failed (cleared by a success).
    failed_at: Option<Instant>,
}

impl<T> Default for Flight<T> {
    fn default() -> Self {
        Self {
            flight: tokio::sync::Mutex::new(()),
            state: Mutex::new(State {
                value: None,
                last: None,
                finished: 0,
                failed_at: None,
            }),
        }
    }
}

impl<T> Flight<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Every update swaps whole values, so a poisoned lock still holds a consistent state.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The answer if it is younger than `ttl`, without waiting for a running fetch.
    pub fn fresh(&self, now: Instant, ttl: Duration) -> Option<Arc<T>> {
        fresh(&self.lock(), now, ttl)
    }

    /// The last answer whatever its age.
    pub fn last(&self) -> Option<Arc<T>> {
        self.lock()
            .value
            .as_ref()
            .map(|(_, value)| Arc::clone(value))
    }

    /// The last answer if it is at most `max_age` old.
    pub fn last_within(&self, now: Instant, max_age: Duration) -> Option<Arc<T>> {
        let state = self.lock();
        let (stamp, value) = state.value.as_ref()?;
        (now.saturating_duration_since(*stamp) <= max_age).then(|| Arc::clone(value))
    }

    /// The last failure if the last fetch failed less than `within` ago.
    pub fn recent_failure(&self, now: Instant, within: Duration) -> Option<GatewayError> {
        let state = self.lock();
        let failed_at = state.failed_at?;
        if now.saturating_duration_since(failed_at) >= within {
            return None;
        }
        match &state.last {
            Some((_, Err(error))) => Some(error.clone()),
            _ => None,
        }
    }

    /// Drops the answer (after a write).
    pub fn invalidate(&self) {
        self.lock().value = None;
    }

    /// The answer if fresh, else the outcome of one fetch shared by every waiting caller (see
    /// the module doc).
    pub async fn get_or_fetch<F, Fut>(
        &self,
        now: impl Fn() -> Instant,
        policy: Policy<'_>,
        fetch: F,
    ) -> Result<Arc<T>, GatewayError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, GatewayError>>,
    {
        if let Some(value) = self.fresh(now(), policy.ttl) {
            return Ok(value);
        }
        let seen = self.lock().finished;
        let Ok(_flight) = tokio::time::timeout(policy.wait, self.flight.lock()).await else {
            tracing::debug!(
                timeout = ?policy.wait,
                "another caller is still fetching this answer: serving the last one"
            );
            return self.last().ok_or_else(|| GatewayError::Timeout {
                target: policy.target.to_owned(),
                timeout: policy.wait,
            });
        };
        {
            let state = self.lock();
            if let Some((finished, outcome)) = &state.last
                && *finished != seen
            {
                // Another caller fetched while we waited: share its outcome.
                return outcome.clone();
            }
            if let Some(value) = fresh(&state, now(), policy.ttl) {
                return Ok(value);
            }
        }
        let outcome = fetch().await.map(Arc::new);
        let mut state = self.lock();
        state.finished += 1;
        let finished = state.finished;
        match &outcome {
            Ok(value) => {
                let arrived = now();
                let stamp = arrived.checked_sub(policy.backdate).unwrap_or(arrived);
                state.value = Some((stamp, Arc::clone(value)));
                state.failed_at = None;
            }
            Err(_) => state.failed_at = Some(now()),
        }
        state.last = Some((finished, outcome.clone()));
        outcome
    }
}

fn fresh<T>(state: &State<T>, now: Instant, ttl: Duration) -> Option<Arc<T>> {
    let (stamp, value) = state.value.as_ref()?;
    (now.saturating_duration_since(*stamp) < ttl).then(|| Arc::clone(value))
}

/// One [`Flight`] per key (per endpoint, per Powerwall); the map only grows by the keys asked.
#[derive(Debug)]
pub struct Keyed<K, T> {
    flights: Mutex<HashMap<K, Arc<Flight<T>>>>,
}

impl<K, T> Default for Keyed<K, T> {
    fn default() -> Self {
        Self {
            flights: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq, T> Keyed<K, T> {
    fn lock(&self) -> MutexGuard<'_, HashMap<K, Arc<Flight<T>>>> {
        // Entries are only inserted, so a poisoned lock still holds a consistent map.
        self.flights
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The flight of `key`.
    pub fn get(&self, key: K) -> Arc<Flight<T>> {
        Arc::clone(self.lock().entry(key).or_default())
    }

    /// Drops every answer.
    pub fn clear(&self) {
        let flights: Vec<Arc<Flight<T>>> = self.lock().values().cloned().collect();
        for flight in flights {
            flight.invalidate();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn policy(ttl: u64) -> Policy<'static> {
        Policy::new(Duration::from_secs(ttl), Duration::from_secs(5), "gw")
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_fetch_and_its_failure() {
        let flight = Arc::new(Flight::<u32>::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (flight, calls) = (Arc::clone(&flight), Arc::clone(&calls));
                tokio::spawn(async move {
                    flight
                        .get_or_fetch(Instant::now, policy(10), || async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            Err::<u32, _>(GatewayError::Empty { path: "/x".into() })
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert!(task.await.expect("task").is_err());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(
            flight
                .recent_failure(Instant::now(), Duration::from_secs(10))
                .is_some()
        );
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(
            flight
                .recent_failure(Instant::now(), Duration::from_secs(10))
                .is_none()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn answers_live_for_the_ttl_and_backdating_shortens_it() {
        let flight = Flight::<u32>::default();
        let fetched = flight
            .get_or_fetch(Instant::now, policy(10), || async { Ok(7) })
            .await
            .expect("answer");
        assert_eq!(*fetched, 7);
        tokio::time::advance(Duration::from_secs(9)).await;
        let cached = flight
            .get_or_fetch(Instant::now, policy(10), || async { Ok(8) })
            .await
            .expect("cached");
        assert_eq!(*cached, 7);
        let backdated = Policy {
            backdate: Duration::from_secs(9),
            ..policy(10)
        };
        tokio::time::advance(Duration::from_secs(2)).await;
        flight
            .get_or_fetch(Instant::now, backdated, || async { Ok(9) })
            .await
            .expect("refetched");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(
            flight
                .fresh(Instant::now(), Duration::from_secs(10))
                .is_none(),
            "stamped 9 s early, it expires after 1 s"
        );
        assert_eq!(flight.last().as_deref(), Some(&9));
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_waits_at_most_its_bound_then_takes_the_last_answer() {
        let flight = Arc::new(Flight::<u32>::default());
        flight
            .get_or_fetch(Instant::now, policy(1), || async { Ok(1) })
            .await
            .expect("first");
        tokio::time::advance(Duration::from_secs(2)).await;
        let slow = Arc::clone(&flight);
        let running = tokio::spawn(async move {
            slow.get_or_fetch(Instant::now, policy(1), || async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(2)
            })
            .await
        });
        tokio::task::yield_now().await;
        let waiter = flight
            .get_or_fetch(Instant::now, policy(1), || async { Ok(3) })
            .await
            .expect("stale answer after the wait bound");
        assert_eq!(*waiter, 1);
        assert_eq!(*running.await.expect("task").expect("slow fetch"), 2);
    }
}
