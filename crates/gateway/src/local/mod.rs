//! Local legacy access mode: the gateway's `/api/*` with the customer password.

pub mod vitals_wire;
