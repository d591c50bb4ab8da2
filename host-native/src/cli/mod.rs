//! Command-line interface: argument parsing and dispatch. Each subcommand
//! lives in its own module and returns the process exit code it wants.

mod accuracy;
mod calibrate;
mod convert;
mod estimate;
pub mod exit;
mod profile;
mod style;
mod validate;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

const ABOUT: &str = "\
dgdr plans LLM deployments on GPUs from a DynamoGraphDeploymentRequest (DGDR).

You describe what you want to serve (a model, a backend such as vLLM, SGLang or \
TensorRT-LLM, the GPUs you have, your traffic and your latency targets) in a DGDR \
file, the resource NVIDIA Dynamo uses. dgdr checks it, predicts how each way of \
running the model would perform, and writes the cheapest deployment that meets \
your targets as a ready-to-apply Kubernetes manifest.";

const AFTER_HELP: &str = "\
Examples:
  dgdr validate examples/qwen3-32b-h200-vllm.yaml  check a request, every problem at once
  dgdr validate --json my-dgdr.yaml              the same, as JSON for scripts
  dgdr profile examples/qwen3-32b-h200-vllm.yaml -o out/   plan the deployment, write the manifest
  dgdr convert old-v1alpha1.yaml                 rewrite a legacy v1alpha1 request as v1beta1

Exit codes: 0 success, 1 the input is invalid, 2 a file could not be read or parsed,
3 an internal error (please report it).";

#[derive(Debug, Parser)]
#[command(name = "dgdr", version, about = ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Validate(validate::Args),
    Profile(profile::Args),
    Convert(convert::Args),
    Calibrate(calibrate::Args),
    Estimate(Box<estimate::Args>),
    Accuracy(accuracy::Args),
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Validate(a) => validate::run(&a),
        Command::Profile(a) => profile::run(&a),
        Command::Convert(a) => convert::run(&a),
        Command::Calibrate(a) => calibrate::run(&a),
        Command::Estimate(a) => estimate::run(&a),
        Command::Accuracy(a) => accuracy::run(&a),
    };
    ExitCode::from(code as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
