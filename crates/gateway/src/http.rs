//! The one HTTP client builder for gateway traffic.
