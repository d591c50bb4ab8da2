//! `dgdr calibrate`: import of measured data and model configs into the
//! compact tables the core embeds.

pub mod aic;
pub mod gpu_compare;
pub mod models;
