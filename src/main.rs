//! Entry: serve Lambda events under the Lambda runtime, else run the CLI.

use std::process::ExitCode;

use clap::Parser;
use codedeploy_tg_hook::cli::{self, Cli};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
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
        Some(command) => ExitCode::from(runtime.block_on(cli::run(command))),
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

/// JSON lines in Lambda (or with LOG_FORMAT=json), compact text on stderr for people otherwise.
fn init_tracing(in_lambda: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn,aws_runtime=warn")
    });
    let json = in_lambda || std::env::var("LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder
            .json()
            .with_current_span(false)
            .with_span_list(false)
            .init();
    } else {
        builder.compact().with_target(false).init();
    }
}
