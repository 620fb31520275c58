//! TEDAPI access mode: protobuf over HTTPS with the gateway password (Powerwall 2/+/3).
//!
//! `wire` holds the envelope messages and request builders (shared with the simulator);
//! `convert` turns TEDAPI config and status documents into local-API shapes; `client` is the
//! access mode itself (transport, connect sequence, caching, protection).

pub mod client;
pub mod convert;
pub mod wire;
