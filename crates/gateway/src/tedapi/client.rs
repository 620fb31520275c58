//! The TEDAPI access mode: transport, connect sequence, caching and protection.
