//! The entry layer: where a process starts, reads its configuration once, and hands a request to
//! the one dispatch. Below it, nothing reads the environment.
//! - `config`: every environment variable, read once, one policy each;
//! - `dispatch`: a decoded request to its outcomes or the audit's report (Lambda, CLI, tests);
//! - `invocation`: the Lambda handler of each invocation, and its one error type;
//! - `cli`: the command line, one function per command, and the exit codes.
//!
//! `main.rs` (the CLI, which also serves Lambda when `AWS_LAMBDA_RUNTIME_API` is set and no
//! command is given) and `bootstrap.rs` (the deployment zip's `bootstrap`: Lambda only) are each
//! a few lines over `start`, `runtime` and `serve_lambda`.

pub mod cli;
pub mod config;
pub mod dispatch;
pub mod invocation;

use std::io::IsTerminal;
use std::process::ExitCode;

use tokio::runtime::Runtime;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

pub use config::Config;

use cli::exit;

/// What every process does first, from its configuration: point the system store at its bundle
/// file when it is used (before any thread exists: it sets an environment variable), tracing,
/// and the metrics switch.
pub fn start(config: &Config) {
    if crate::aws::bundle_file_alone(config.aws.trust, config.system_store_named) {
        // The system's bundle file, where the platform keeps it (openssl-probe's search).
        if let Some(file) = openssl_probe::probe().cert_file {
            std::env::set_var("SSL_CERT_FILE", file);
        }
    }
    init_tracing(config);
    crate::metrics::set_enabled(config.metrics());
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
pub fn serve_lambda(runtime: &Runtime, config: &Config) -> ExitCode {
    config.log_warnings();
    match runtime.block_on(invocation::serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "Lambda runtime stopped");
            ExitCode::from(exit::FAILED)
        }
    }
}

/// JSON lines in Lambda (or with LOG_FORMAT=json), compact text on stderr for people otherwise,
/// coloured only on a terminal and never with `NO_COLOR`. `RUST_LOG` takes `level` and
/// `target=level` directives; the SDK's own logs stay at warn by default.
fn init_tracing(config: &Config) {
    let filter = config
        .log_directives
        .as_deref()
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| {
            Targets::new()
                .with_default(Level::INFO)
                .with_target("aws_config", Level::WARN)
                // Its refusal to assume a role comes with the SDK's whole error at warn; the
                // audit reports it on the account's row, once.
                .with_target("aws_config::sts", Level::ERROR)
                .with_target("aws_smithy_runtime", Level::WARN)
                .with_target("aws_runtime", Level::WARN)
        });
    let registry = tracing_subscriber::registry().with(filter);
    if config.json_logs {
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
            .with_ansi(std::io::stderr().is_terminal() && !config.no_color)
            .with_writer(std::io::stderr);
        registry.with(layer).init();
    }
}
