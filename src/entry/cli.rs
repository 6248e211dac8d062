//! The command line: clap definitions, one function per command, and the exit codes, decided in
//! one place (`exit`) from what each command came to.

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tokio::time::Instant;

use crate::audit::coverage::{self, Accounts, Coverage, Regions};
use crate::audit::{self, Report};
use crate::aws::Clients;
use crate::doctor;
use crate::event::{Request, Source, Trigger};
use crate::report::Outcome;
use crate::run::{self, seconds, Settings};

use super::config::Config;
use super::dispatch::{dispatch, Handled, Rules};

/// Exit codes of every command.
pub mod exit {
    use crate::audit::{self, Report, RowStatus, ScheduledError};
    use crate::doctor;
    use crate::report::Outcome;

    /// Success: attached, already attached, skipped, ignored, or a dry run.
    pub const OK: u8 = 0;
    /// The work failed (and `Failed` was reported where a lifecycle hook waits), or an audit
    /// could not check or repair a group.
    pub const FAILED: u8 = 1;
    /// The input is not a valid event, or the command line is wrong.
    pub const INVALID_INPUT: u8 = 2;
    /// `audit` without `--fix` found replacement groups missing a traffic source, or live groups
    /// whose `InService` instances a load balancer lacks (`unregistered`); `doctor` found a
    /// problem in the setup.
    pub const MISSING: u8 = 3;

    /// Every code and what it means: the README's table (`### Exit codes`, held to this list by
    /// a test) and the `--help` text are made from it.
    pub const MEANINGS: &[(u8, &str)] = &[
        (
            OK,
            "attached, already attached, skipped, waiting, ignored, or a dry run; `audit`: nothing missing (after `--fix`: everything repaired)",
        ),
        (
            FAILED,
            "the work failed (and `Failed` was reported where a hook waits); `audit`: a group could not be checked or repaired (wins over 3; every group is still listed), or the groups could not be listed; `doctor`: something could not be checked, and no problem was found",
        ),
        (
            INVALID_INPUT,
            "the input is not a valid event, or the command line is wrong",
        ),
        (
            MISSING,
            "`audit` without `--fix` only: replacement groups are missing traffic sources, or live groups' `InService` instances are not registered; `doctor`: a problem in the setup",
        ),
    ];

    /// Outcomes: 1 when one failed.
    pub fn of_outcomes(outcomes: &[Outcome]) -> u8 {
        if outcomes.iter().any(Outcome::failed) {
            FAILED
        } else {
            OK
        }
    }

    /// `audit`: 1 when a group could not be checked or repaired (it wins), 3 when one is missing
    /// a source or registrations.
    pub fn of_audit(report: &Report) -> u8 {
        if report.count(RowStatus::Error) > 0 {
            FAILED
        } else if report.count(RowStatus::Missing) + report.count(RowStatus::Unregistered) > 0 {
            MISSING
        } else {
            OK
        }
    }

    /// A scheduled audit, as the function judges it: 1 when it did not finish or a group could
    /// not be checked.
    pub fn of_scheduled(report: &Result<Report, ScheduledError>) -> u8 {
        match report {
            Ok(report) if audit::unchecked(report).is_none() => OK,
            _ => FAILED,
        }
    }

    /// `doctor`'s verdict.
    pub fn of_doctor(verdict: doctor::Verdict) -> u8 {
        match verdict {
            doctor::Verdict::Ready => OK,
            doctor::Verdict::NotReady => MISSING,
            doctor::Verdict::Unchecked => FAILED,
        }
    }

    /// The `--help` paragraph on exit codes, one line per code.
    pub fn help() -> String {
        let lines: Vec<String> = MEANINGS
            .iter()
            .map(|(code, meaning)| format!("  {code}  {}", meaning.replace('`', "")))
            .collect();
        format!("Exit codes:\n{}", lines.join("\n"))
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "codedeploy-tg-hook",
    version,
    about = "Gives CodeDeploy blue/green replacement Auto Scaling groups their load balancers back.",
    long_about = "Gives CodeDeploy blue/green replacement Auto Scaling groups (COPY_AUTO_SCALING_GROUP) the \
target groups and classic load balancers of their deployment group, after traffic has moved to them.\n\n\
With AWS_LAMBDA_RUNTIME_API set and no command, serves Lambda events. AWS settings come from the \
standard chain (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, ...)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Process one event JSON exactly as the Lambda would; print the outcome as JSON.
    Handle {
        /// Event file, or - for standard input.
        #[arg(default_value = "-")]
        file: PathBuf,
        #[command(flatten)]
        timing: Timing,
    },
    /// Repair one deployment's replacement group(s) now (for operators and appspec scripts).
    Attach {
        /// The CodeDeploy deployment id (d-XXXXXXXXX).
        #[arg(long, value_parser = deployment_id)]
        deployment_id: String,
        /// Print the plan and change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        timing: Timing,
    },
    /// Check every replacement group (CodeDeploy_<deployment-group>_<deployment-id>) in the
    /// account and region (or --accounts and --regions); with --fix, attach what is missing and
    /// register what a live group's load balancers lack.
    Audit {
        /// Attach what each replacement group is missing and register its unregistered InService
        /// instances (never detaches or deregisters anything).
        #[arg(long)]
        fix: bool,
        /// Output format [default: table on a terminal, json otherwise].
        #[arg(long, value_enum)]
        output: Option<Output>,
        /// Groups checked at once (over all accounts and regions together).
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
        concurrency: u16,
        /// Regions to audit, comma-separated, or `all`: each account's enabled regions
        /// (ListRegions); in one report, a region whose groups cannot be listed is one error row
        /// [default: the configured region].
        #[arg(long, value_name = "REGION,...|all", value_parser = Regions::parse)]
        regions: Option<Regions>,
        /// Accounts to audit, comma-separated, or `organization`: the organization's active
        /// accounts (ListAccounts); in each, the audit assumes the role --role-name names, and an
        /// account whose role cannot be assumed is one error row [default: the caller's own].
        #[arg(long, value_name = "ACCOUNT,...|organization", value_parser = Accounts::parse)]
        accounts: Option<Accounts>,
        /// The role to assume in each account of --accounts: arn:<partition>:iam::<account>:role/<NAME>
        /// (infra/audit-role.yaml's RoleName) [default: codedeploy-tg-hook-audit].
        #[arg(long, value_name = "NAME", value_parser = coverage::role_name, requires = "accounts")]
        role_name: Option<String>,
        #[command(flatten)]
        timing: Timing,
    },
    /// Check a deployment group's setup before its first deployment: the deployment group, the
    /// function, IAM's own decisions for the function's and the instances' roles, the appspec,
    /// the safety nets. Exit 0 all hold, 3 one does not, 1 something could not be checked.
    Doctor {
        /// The CodeDeploy application.
        #[arg(long, value_parser = non_blank)]
        application: String,
        /// The deployment group.
        #[arg(long, value_parser = non_blank)]
        deployment_group: String,
        /// The hook function [default: the one the appspec's script invokes, else codedeploy-tg-hook].
        #[arg(long, value_parser = non_blank)]
        function: Option<String>,
        /// The revision's appspec.yml (the hook script is read beside it).
        #[arg(long, value_name = "FILE")]
        appspec: Option<PathBuf>,
        /// The replacement instances' IAM instance profile (name or ARN), in place of what
        /// each group's launch configuration or launch template gives [default: theirs].
        #[arg(long, value_name = "NAME", value_parser = non_blank)]
        instance_profile: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: DoctorOutput,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DoctorOutput {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

/// How long a person waits for `attach` or `handle` by default: enough for a hook's work and its
/// confirm window, short enough that a setup mistake is not a quarter of an hour of silence. The
/// appspec script and Lambda give their own deadline.
pub const PERSON_TIMEOUT: f64 = 120.0;
/// `audit`'s default: its `--fix` may attach to hundreds of groups.
pub const AUDIT_TIMEOUT: f64 = 900.0;

#[derive(Debug, Args)]
pub struct Timing {
    /// Seconds until the deadline, standing in for the Lambda's remaining time; a hook status
    /// is reported a few seconds before it [default: 120 for attach and handle, 900 for audit
    /// and a scheduled event].
    #[arg(long, value_name = "SECONDS", value_parser = run::parse_seconds, allow_negative_numbers = true)]
    pub timeout: Option<f64>,
    /// Seconds to wait for `Adding` attachments to become `Added` [default: CONFIRM_WINDOW_SECONDS,
    /// else 30].
    #[arg(long, value_name = "SECONDS", value_parser = run::parse_seconds, allow_negative_numbers = true)]
    pub confirm_window: Option<f64>,
}

impl Timing {
    /// The deadline from `--timeout`, or `default` seconds from now.
    fn deadline(&self, default: f64) -> Instant {
        Instant::now() + seconds(self.timeout.unwrap_or(default))
    }

    /// The run's settings: `--confirm-window`, else `CONFIRM_WINDOW_SECONDS` (refused as the
    /// flag would be: the command line's policy, `entry::config`), else the default. A refusal is
    /// said on stderr, and is the exit code.
    fn settings(&self, dry_run: bool, config: &Config) -> Result<Settings, u8> {
        let variable = config.confirm_window_variable.as_deref();
        let confirm_window = match (self.confirm_window, variable.map(run::parse_seconds)) {
            (Some(flag), _) => seconds(flag),
            (None, Some(Ok(value))) => seconds(value),
            (None, Some(Err(e))) => {
                eprintln!("error: invalid value for CONFIRM_WINDOW_SECONDS: {e}");
                return Err(exit::INVALID_INPUT);
            }
            (None, None) => Settings::default().confirm_window,
        };
        Ok(Settings {
            confirm_window,
            dry_run,
            ..Settings::default()
        })
    }
}

/// A deployment id as `handle` takes one: a non-empty, non-blank string (checked before any call).
fn deployment_id(text: &str) -> Result<String, String> {
    let id = text.trim();
    if id.is_empty() {
        return Err("a deployment id must not be empty or blank (d-XXXXXXXXX)".to_owned());
    }
    Ok(id.to_owned())
}

/// A name that is not empty or blank (checked before any call).
fn non_blank(text: &str) -> Result<String, String> {
    let name = text.trim();
    if name.is_empty() {
        return Err("must not be empty or blank".to_owned());
    }
    Ok(name.to_owned())
}

/// Runs one command; returns the exit code.
pub async fn run(command: Command, config: &Config) -> u8 {
    match command {
        Command::Handle { file, timing } => handle(&file, &timing, config).await,
        Command::Attach {
            deployment_id,
            dry_run,
            timing,
        } => attach(deployment_id, dry_run, &timing, config).await,
        Command::Audit {
            fix,
            output,
            concurrency,
            regions,
            accounts,
            role_name,
            timing,
        } => {
            let coverage = Coverage {
                accounts: accounts.unwrap_or_default(),
                regions: regions.unwrap_or_default(),
                role_name: role_name.unwrap_or_else(|| coverage::DEFAULT_ROLE_NAME.to_owned()),
            };
            audit(fix, output, concurrency, &coverage, &timing, config).await
        }
        Command::Doctor {
            application,
            deployment_group,
            function,
            appspec,
            instance_profile,
            output,
        } => {
            let request = doctor::Subject {
                application,
                deployment_group,
                function,
                appspec,
                instance_profile,
            };
            doctor(&request, output, config).await
        }
    }
}

/// `handle`: one event, exactly as the function runs it (one dispatch), but a scheduled event
/// always runs the audit (`AUDIT_FIX` decides whether it repairs, `DEPLOYMENT_GROUP_PATTERN` what
/// is in scope): the outcomes as JSON lines, or the report as JSON.
async fn handle(file: &PathBuf, timing: &Timing, config: &Config) -> u8 {
    let settings = match timing.settings(false, config) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let bytes = match read_input(file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return exit::INVALID_INPUT;
        }
    };
    // Decoded before anything else: an invalid or only-ignored event builds no client and makes
    // no AWS call.
    let request = match crate::event::request_bytes(&bytes) {
        Ok(request) => request,
        Err(e) => {
            eprintln!("error: invalid event: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let deadline = match request {
        // The audit's own default: it may check hundreds of groups.
        Request::ScheduledAudit => {
            config.log_warnings_of("AUDIT_FIX");
            timing.deadline(AUDIT_TIMEOUT)
        }
        Request::Deployments(_) => timing.deadline(PERSON_TIMEOUT),
    };
    let rules = Rules::of(config, true);
    let handled = dispatch(
        request,
        &rules,
        || Clients::load(&config.aws, false),
        || Clients::load(&config.aws, true),
        deadline,
        &settings,
    )
    .await;
    match handled {
        Handled::Outcomes(outcomes) => {
            print_outcomes(&outcomes);
            exit::of_outcomes(&outcomes)
        }
        Handled::Audit(report) => {
            match &report {
                Ok(report) => {
                    print_json(report);
                    if let Some(message) = audit::unchecked(report) {
                        eprintln!("error: {message}");
                    }
                }
                Err(e) => eprintln!("error: {e}"),
            }
            exit::of_scheduled(&report)
        }
    }
}

/// `attach`: one deployment's run, now.
async fn attach(deployment_id: String, dry_run: bool, timing: &Timing, config: &Config) -> u8 {
    let settings = match timing.settings(dry_run, config) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let clients = Clients::load(&config.aws, false).await;
    let trigger = Trigger {
        deployment_id,
        source: Source::Direct,
        hook_execution_id: None,
        deployment_group: None,
    };
    let outcome = run::execute(
        &clients,
        &trigger,
        timing.deadline(PERSON_TIMEOUT),
        &settings,
    )
    .await;
    print_outcomes(std::slice::from_ref(&outcome));
    exit::of_outcomes(&[outcome])
}

/// `audit`: every replacement group of the account and region (or of each account and region
/// given), as a table or JSON.
async fn audit(
    fix: bool,
    output: Option<Output>,
    concurrency: u16,
    coverage: &Coverage,
    timing: &Timing,
    config: &Config,
) -> u8 {
    use std::io::IsTerminal;

    let settings = match timing.settings(false, config) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let options = audit::Options {
        fix,
        concurrency: usize::from(concurrency),
        settings,
        deadline: timing.deadline(AUDIT_TIMEOUT),
        deployment_group_pattern: None,
    };
    let show_progress = std::io::stderr().is_terminal();
    let progress = |_: &audit::Row, done: usize, total: usize| {
        if show_progress {
            eprint!("\rchecked {done}/{total} replacement groups");
        }
    };
    // One audit fans out many calls: adaptive retry rate-limits the client instead of hammering.
    let clients = Clients::load(&config.aws, true).await;
    // An account or region not reached is its own error row; the others are audited. Only the
    // configured region's listing, alone, fails the audit.
    let report =
        match audit::audit_coverage(&clients, coverage, &config.aws, &options, progress).await {
            Ok(report) => report,
            Err(e) => {
                eprintln!("error: cannot list Auto Scaling groups: {e}");
                return exit::FAILED;
            }
        };
    if show_progress {
        eprintln!();
    }
    let format = output.unwrap_or(if std::io::stdout().is_terminal() {
        Output::Table
    } else {
        Output::Json
    });
    match format {
        Output::Table => println!("{}", audit::table(&report)),
        Output::Json => print_json(&report),
    }
    audit::log_finished(&report);
    exit::of_audit(&report)
}

/// `doctor`: the checklist, as text or JSON.
async fn doctor(request: &doctor::Subject, output: DoctorOutput, config: &Config) -> u8 {
    // The audit's retry mode: a bounded number of attempts, each call within its own timeout,
    // so a check that cannot be made ends as `unknown`, not a wait.
    let clients = Clients::load(&config.aws, true).await;
    let checks = doctor::doctor(&clients, request).await;
    let code = exit::of_doctor(doctor::verdict(&checks));
    match output {
        DoctorOutput::Text => print!(
            "{}",
            doctor::print::text(
                &format!(
                    "codedeploy-tg-hook doctor: deployment group {}/{}",
                    request.application, request.deployment_group
                ),
                &checks,
                code
            )
        ),
        DoctorOutput::Json => println!(
            "{}",
            doctor::print::json(
                &request.application,
                &request.deployment_group,
                &checks,
                code
            )
        ),
    }
    code
}

fn print_json(report: &Report) {
    match serde_json::to_string_pretty(report) {
        Ok(json) => println!("{json}"),
        Err(e) => eprintln!("error: cannot print report: {e}"),
    }
}

fn read_input(file: &PathBuf) -> std::io::Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes)?;
        Ok(bytes)
    } else {
        std::fs::read(file)
    }
}

/// One JSON object per line, one line per trigger (SNS may carry several).
fn print_outcomes(outcomes: &[Outcome]) {
    for outcome in outcomes {
        match serde_json::to_string(outcome) {
            Ok(line) => println!("{line}"),
            Err(e) => eprintln!("error: cannot print outcome: {e}"),
        }
    }
}
