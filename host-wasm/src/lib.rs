//! The dgdr core compiled to WebAssembly.
//!
//! Two faces, one core:
//! - `bindgen` (default): JavaScript functions for the browser, each taking
//!   and returning JSON text, with failures as data (`{ok: false, errors}`),
//!   never as thrown strings.
//! - `abi`: three exported functions that a wasmtime host drives with bytes
//!   (see [`abi`]). Both call [`dgdr_core::api::call`], the same function the
//!   native host calls, which is what makes native-vs-wasm parity testable.

#[cfg(feature = "abi")]
pub mod abi;

#[cfg(feature = "bindgen")]
mod bindings;
#[cfg(feature = "bindgen")]
pub use bindings::*;
