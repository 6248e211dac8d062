//! The process's start, shared by both binaries: the trust store, tracing, the one-thread
//! runtime, and Lambda's serve loop. `main.rs` (the CLI, which also serves Lambda when
//! `AWS_LAMBDA_RUNTIME_API` is set and no command is given) and `bootstrap.rs` (the deployment
//! zip's `bootstrap`: Lambda only) are each a few lines over it.

use std::io::IsTerminal;
use std::process::ExitCode;

use tokio::runtime::Runtime;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

use crate::cli::exit;

/// Whether this process runs under Lambda's runtime (its Runtime API address is set).
pub fn in_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// What every process does first: trust the system bundle file when one is named (before any
/// thread exists: it sets an environment variable), then tracing.
pub fn start(in_lambda: bool) {
    crate::aws::trust_the_system_bundle_file();
    init_tracing(in_lambda);
}

/// One thread: the work is a short chain of network calls, and Lambda gives us little CPU.
pub fn runtime() -> Result<Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(exit::FAILED)
        })
}

/// Serves Lambda events until the runtime stops; the process's exit code.
pub fn serve_lambda(runtime: &Runtime) -> ExitCode {
    match runtime.block_on(crate::lambda::serve()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "Lambda runtime stopped");
            ExitCode::from(exit::FAILED)
        }
    }
}

/// Colour only on a terminal, and never with `NO_COLOR` set (https://no-color.org).
fn colour(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// JSON lines in Lambda (or with LOG_FORMAT=json), compact text on stderr for people otherwise.
/// `RUST_LOG` takes `level` and `target=level` directives; the SDK's own logs stay at warn by default.
fn init_tracing(in_lambda: bool) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| {
            Targets::new()
                .with_default(Level::INFO)
                .with_target("aws_config", Level::WARN)
                .with_target("aws_smithy_runtime", Level::WARN)
                .with_target("aws_runtime", Level::WARN)
        });
    let json = in_lambda || std::env::var("LOG_FORMAT").is_ok_and(|v| v == "json");
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(std::io::stderr);
        registry.with(layer).init();
    } else {
        let layer = tracing_subscriber::fmt::layer()
            .compact()
            .with_target(false)
            .with_ansi(colour(std::io::stderr().is_terminal()))
            .with_writer(std::io::stderr);
        registry.with(layer).init();
    }
}
