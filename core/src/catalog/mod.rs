//! Catalogs: what the core knows about models and GPU systems.

pub mod model;
pub mod system;
