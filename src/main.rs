//! Entry: serve Lambda events under the Lambda runtime, else run the CLI.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use codedeploy_tg_hook::cli::{self, Cli};
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

fn main() -> ExitCode {
    // Before any thread exists: it sets an environment variable.
    codedeploy_tg_hook::aws::trust_the_system_bundle_file();
    let in_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    init_tracing(in_lambda);
    let cli = Cli::parse();
    // One thread: the work is a short chain of network calls, and Lambda gives us little CPU.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(cli::exit::FAILED);
        }
    };
    match cli.command {
        Some(command) => {
            let code = runtime.block_on(cli::run(command));
            // Do not wait for blocking tasks (a stuck DNS lookup): the deadline has been kept,
            // and the process must exit now, inside the appspec hook's timeout.
            runtime.shutdown_background();
            ExitCode::from(code)
        }
        None if in_lambda => match runtime.block_on(codedeploy_tg_hook::lambda::serve()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "Lambda runtime stopped");
                ExitCode::from(cli::exit::FAILED)
            }
        },
        None => {
            eprintln!(
                "error: no command given (and AWS_LAMBDA_RUNTIME_API is not set); see --help"
            );
            ExitCode::from(cli::exit::INVALID_INPUT)
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
