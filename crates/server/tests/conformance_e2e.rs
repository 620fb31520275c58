//! The conformance suite (`conformance::suite`) run once per access mode against the simulator:
//! local API, TEDAPI, Tesla cloud and Fleet API.

mod common;
mod conformance;

use conformance::Mode;

/// One `#[tokio::test]` per mode, each running the same suite body.
macro_rules! conformance_tests {
    ($($name:ident => $mode:expr),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                conformance::suite::run($mode).await;
            }
        )*
    };
}

conformance_tests! {
    local_mode_conforms => Mode::Local,
    tedapi_mode_conforms => Mode::Tedapi,
    cloud_mode_conforms => Mode::Cloud,
    fleet_mode_conforms => Mode::Fleet,
}
