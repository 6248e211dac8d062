//! The deployment zip's `bootstrap` (infra/template.yaml's `Binary`): the Lambda entry alone.
//! Without the CLI, its parser and `doctor`'s clients (IAM, Lambda, the appspec reader), the
//! linker leaves out what Lambda never runs: a smaller zip to fetch and map at a cold start.

use std::process::ExitCode;

use codedeploy_tg_hook::entry;

fn main() -> ExitCode {
    if !entry::in_lambda() {
        eprintln!(
            "error: this is the Lambda function's bootstrap and AWS_LAMBDA_RUNTIME_API is not set; \
             the command line is codedeploy-tg-hook"
        );
        return ExitCode::from(codedeploy_tg_hook::cli::exit::INVALID_INPUT);
    }
    entry::start(true);
    match entry::runtime() {
        Ok(runtime) => entry::serve_lambda(&runtime),
        Err(code) => code,
    }
}
