//! What the CLI tests share: running the built `dgdr` binary as a user
//! would, without colour.

use std::process::{Command, Output, Stdio};

pub fn dgdr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dgdr"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null())
        .output()
        .expect("run the dgdr binary")
}
