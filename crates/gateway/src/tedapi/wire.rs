//! TEDAPI wire format: envelope messages, request builders, response parsing.
