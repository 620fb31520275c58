//! Tests of the multi-gateway models.
