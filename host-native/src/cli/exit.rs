//! Exit codes, the same for every subcommand.

/// Everything went well (for `validate`: every document is valid).
pub const OK: i32 = 0;
/// The input was read but is invalid (or the plan could not be made from it).
pub const INVALID: i32 = 1;
/// A file could not be read, or is not YAML/JSON.
pub const UNREADABLE: i32 = 2;
/// Something failed inside dgdr.
pub const INTERNAL: i32 = 3;
