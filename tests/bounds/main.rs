//! Peak-memory bounds, measured by a counting global allocator. Every test
//! here holds [`common::counting::serial`] for its whole run, so that no other
//! test of this binary allocates while one measures. System tier: some of
//! them mutate the shared fixtures.

#[path = "../common/mod.rs"]
mod common;

#[global_allocator]
static A: common::counting::Counting = common::counting::Counting;

mod eventlog_mutation;
mod firmware_mutation;
mod key_database_mutation;
mod memory_bounds;
