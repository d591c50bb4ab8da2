//! dgdr-core: the pure planning core of dgdr.
//!
//! The core never opens a file, a socket or a clock; hosts (the native CLI, the
//! browser, the webhook) read the world and hand the core plain data. That is
//! enforced by the compiler: `core/clippy.toml` disallows the I/O, clock,
//! thread and environment APIs, and the lints below turn every use into an error.
//! Panics reachable from user input are denied the same way: every bad input
//! becomes a [`diag::Diagnostic`] with a path, a stable code and a hint.
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::todo,
        clippy::unimplemented,
        clippy::unreachable
    )
)]

pub mod api;
pub mod assemble;
pub mod catalog;
pub mod compat;
pub mod diag;
pub mod driver;
pub mod gates;
pub mod interpolate;
pub mod perf;
pub mod pick;
pub mod plan;
pub mod render;
pub mod search;
pub mod spec;
pub mod validate;
