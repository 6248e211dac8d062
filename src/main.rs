//! The command line (`handle`, `attach`, `audit`, `doctor`); with `AWS_LAMBDA_RUNTIME_API` set and
//! no command, it serves Lambda events as the deployment zip's `bootstrap` does.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use codedeploy_tg_hook::entry::cli::{self, Cli};
use codedeploy_tg_hook::entry::{self, Config};

fn main() -> ExitCode {
    let config = Config::from_env();
    entry::start(&config);
    // The exit codes' paragraph comes from their one list (cli::exit::MEANINGS).
    let matches = Cli::command()
        .after_long_help(cli::exit::help())
        .get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let runtime = match entry::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match cli.command {
        Some(command) => {
            let code = runtime.block_on(cli::run(command, &config));
            // Do not wait for blocking tasks (a stuck DNS lookup): the deadline has been kept,
            // and the process must exit now, inside the appspec hook's timeout.
            runtime.shutdown_background();
            ExitCode::from(code)
        }
        None if config.in_lambda => entry::serve_lambda(&runtime, &config),
        None => {
            eprintln!(
                "error: no command given (and AWS_LAMBDA_RUNTIME_API is not set); see --help"
            );
            ExitCode::from(cli::exit::INVALID_INPUT)
        }
    }
}
