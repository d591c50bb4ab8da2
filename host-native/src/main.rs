//! The `dgdr` command. Everything lives in the library (`dgdr_native::cli`) so
//! that tests can run the commands in-process.

fn main() -> std::process::ExitCode {
    exit_quietly_on_broken_pipe();
    dgdr_native::cli::main()
}

/// `dgdr … | head -1`: once the reader has gone, the next write to stdout
/// fails with EPIPE (Rust ignores SIGPIPE, and restoring it would need
/// `unsafe`), and `println!` turns that into a panic. Nothing went wrong in
/// dgdr, so leave quietly with status 0, as `head` asked for no more
/// (`anstream`'s macros already ignore a broken pipe; this catches the std
/// ones, wherever they are).
fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload_as_str().is_some_and(is_broken_pipe_print) {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Whether a panic message is std's "failed printing to stdout: Broken pipe
/// (os error 32)" (or to stderr).
fn is_broken_pipe_print(msg: &str) -> bool {
    (msg.starts_with("failed printing to stdout") || msg.starts_with("failed printing to stderr"))
        && (msg.contains("Broken pipe") || msg.contains("os error 32)"))
}
