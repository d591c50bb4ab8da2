//! `dgdr convert`: between the legacy v1alpha1 DGDR and v1beta1.

use super::exit;
use dgdr_core::spec::{self, v1alpha1};
use serde_json::Value;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Target {
    V1beta1,
    V1alpha1,
}

/// Convert a DGDR between the legacy nvidia.com/v1alpha1 form and v1beta1.
///
/// Fields with a home on both sides move there; whatever has none is kept in a
/// `nvidia.com/dgdr-*` annotation, so converting back gives the original.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  dgdr convert old.yaml > new.yaml\n  dgdr convert --to v1alpha1 new.yaml"
)]
pub struct Args {
    /// The DGDR file (YAML or JSON).
    file: PathBuf,
    /// The API version to convert to.
    #[arg(long, value_enum, default_value = "v1beta1")]
    to: Target,
    /// Write JSON instead of YAML.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> i32 {
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => {
            anstream::eprintln!("dgdr: cannot read {}: {e}", args.file.display());
            return exit::UNREADABLE;
        }
    };
    let docs = match spec::parse_documents(&text) {
        Ok(d) => d,
        Err(e) => {
            anstream::eprintln!("dgdr: {} is not YAML or JSON: {e}", args.file.display());
            return exit::UNREADABLE;
        }
    };
    let mut outputs = Vec::new();
    for doc in docs {
        let Value::Object(map) = &doc else {
            anstream::eprintln!("dgdr: {}: a document is not a mapping", args.file.display());
            return exit::INVALID;
        };
        let is_alpha =
            map.get("apiVersion").and_then(Value::as_str) == Some(spec::API_VERSION_V1ALPHA1);
        let converted = match (args.to, is_alpha) {
            (Target::V1beta1, true) => v1alpha1::to_v1beta1(map).0,
            (Target::V1alpha1, false) => v1alpha1::to_v1alpha1(map),
            _ => map.clone(),
        };
        outputs.push(Value::Object(converted));
    }
    for (i, v) in outputs.iter().enumerate() {
        let text = if args.json {
            serde_json::to_string_pretty(v).map_err(|e| e.to_string())
        } else {
            serde_yaml_ng::to_string(v).map_err(|e| e.to_string())
        };
        match text {
            Ok(t) => {
                if i > 0 && !args.json {
                    anstream::println!("---");
                }
                anstream::print!("{t}");
                if args.json {
                    anstream::println!();
                }
            }
            Err(e) => {
                anstream::eprintln!("dgdr: internal error: {e}");
                return exit::INTERNAL;
            }
        }
    }
    exit::OK
}
