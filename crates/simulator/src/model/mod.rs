//! The one physical model every persona reports: topology, flows, SOE, counters, clock.

pub mod clock;
pub mod flows;
pub mod kind;
pub mod pw3;
pub mod reading;
pub mod scenarios;
pub mod site;
pub mod sun;
pub mod topology;

#[cfg(test)]
mod tests;

use clock::SimClock;
use reading::Snapshot;
use site::Site;

/// The clock and the site under one lock, so "now" and the state it is applied to never race.
#[derive(Debug, Clone)]
pub struct World {
    /// Simulation clock.
    pub clock: SimClock,
    /// Site state.
    pub site: Site,
}

impl World {
    /// Current simulation time in nanoseconds.
    pub fn now_ns(&self) -> i128 {
        self.clock.now_ns()
    }

    /// Advances the site to now and captures it.
    pub fn snapshot(&mut self) -> Snapshot {
        let now = self.clock.now_ns();
        Snapshot::capture(&mut self.site, now, self.clock.is_frozen())
    }
}
