//! From TEDAPI config and status documents to local-API-shaped JSON (gateway-protocols §3).
