//! The `dgdr` command. Everything lives in the library (`dgdr_native::cli`) so
//! that tests can run the commands in-process.

fn main() -> std::process::ExitCode {
    dgdr_native::cli::main()
}
