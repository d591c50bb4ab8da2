//! The performance model.

pub mod table;
