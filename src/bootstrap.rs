//! The deployment zip's `bootstrap` (infra/template.yaml's `Binary`): the Lambda entry alone.
//! Without the CLI, its parser and `doctor`'s clients (IAM, Lambda, the appspec reader), the
//! linker leaves out what Lambda never runs: a smaller zip to fetch and map at a cold start.

use std::process::ExitCode;

use codedeploy_tg_hook::entry::{self, cli::exit, Config};

fn main() -> ExitCode {
    let config = Config::from_env();
    if !config.in_lambda {
        eprintln!(
            "error: this is the Lambda function's bootstrap and AWS_LAMBDA_RUNTIME_API is not set; \
             the command line is codedeploy-tg-hook"
        );
        return ExitCode::from(exit::INVALID_INPUT);
    }
    entry::start(&config);
    match entry::runtime() {
        Ok(runtime) => entry::serve_lambda(&runtime, &config),
        Err(code) => code,
    }
}
