//! Every environment variable the program reads, read once at start into `Config`: nothing below
//! the entry layer reads the environment (the SDK's own chain aside: region, credentials,
//! profiles, `AWS_ENDPOINT_URL*`, which `aws-config` reads as it documents). The command line's
//! flags are clap's (`cli`).
//!
//! Each setting has one policy, stated once, for users, in docs/reference.md (its environment
//! table, with the two ways `CONFIRM_WINDOW_SECONDS` is taken beside it: refused out of range by
//! the command line, clamped by a function, which cannot refuse it at start without leaving
//! CodeDeploy waiting); the trust store's is `aws::trust`'s. This module implements them, and
//! reads what only the code needs: `AWS_LAMBDA_RUNTIME_API` (under Lambda's runtime), `NO_COLOR`,
//! and whether both credential keys are set (then no other provider is built).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::time::Duration;

use crate::audit::coverage::{self, Accounts, Coverage, Regions};
use crate::aws::{self, ClientSettings};
use crate::run::{self, Settings};

/// The program's configuration, as the environment gave it at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Under Lambda's runtime (`AWS_LAMBDA_RUNTIME_API` set).
    pub in_lambda: bool,
    /// `RUST_LOG`'s directives, as given.
    pub log_directives: Option<String>,
    /// JSON log lines (in Lambda, or `LOG_FORMAT=json`); the metrics documents go with them.
    pub json_logs: bool,
    /// `NO_COLOR` set and not empty.
    pub no_color: bool,
    /// What the AWS clients take from the environment beyond the SDK's chain.
    pub aws: ClientSettings,
    /// `SSL_CERT_FILE` or `SSL_CERT_DIR` set (then the system store is the one they name).
    pub system_store_named: bool,
    /// `SCHEDULED_AUDIT=true`: the function answers scheduled events with the audit.
    pub scheduled_audit: bool,
    /// `AUDIT_FIX`: whether the scheduled audit repairs.
    pub audit_fix: bool,
    /// `DEPLOYMENT_GROUP_PATTERN`: notifications and the scheduled audit's scope.
    pub deployment_group_pattern: String,
    /// `AUDIT_ACCOUNTS`, `AUDIT_REGIONS`, `AUDIT_ROLE_NAME`: the scheduled audit's accounts and
    /// regions, or what is wrong with them (the audit then fails saying so: it never audits
    /// other accounts or regions than it was told).
    pub audit_coverage: Result<Coverage, String>,
    /// `CONFIRM_WINDOW_SECONDS` as the function takes it (clamped, or the default).
    pub confirm_window: Duration,
    /// `CONFIRM_WINDOW_SECONDS` as given, for the command line, which refuses what is not in
    /// range.
    pub confirm_window_variable: Option<String>,
    /// What the policies above had to say of the values they were given, for the log.
    pub warnings: Vec<Warning>,
}

/// A value a policy did not take as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub variable: &'static str,
    pub value: String,
    pub what: String,
}

impl Warning {
    fn log(&self) {
        tracing::warn!(value = self.value, "{} {}", self.variable, self.what);
    }
}

impl Config {
    /// The process's environment, read now.
    pub fn from_env() -> Config {
        Config::from_vars(std::env::vars_os())
    }

    /// The configuration a set of variables gives (for tests: no process state).
    pub fn from_vars(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Config {
        let vars: BTreeMap<String, OsString> = vars
            .into_iter()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value)))
            .collect();
        let text = |name: &str| vars.get(name).and_then(|value| value.to_str());
        let given = |name: &str| vars.get(name).is_some_and(|value| !value.is_empty());
        let not_blank = |name: &str| text(name).is_some_and(|value| !value.trim().is_empty());

        let mut warnings = Vec::new();
        let in_lambda = vars.contains_key("AWS_LAMBDA_RUNTIME_API");
        let json_logs = in_lambda || text("LOG_FORMAT") == Some("json");
        let system_store_named = given("SSL_CERT_FILE") || given("SSL_CERT_DIR");
        let https_endpoint_override = vars.iter().any(|(name, value)| {
            name.starts_with("AWS_ENDPOINT_URL")
                && value
                    .to_str()
                    .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("https://"))
        });
        let region = text("AWS_REGION").or_else(|| text("AWS_DEFAULT_REGION"));
        let system_store_asked = system_store_named || https_endpoint_override;
        let aws = ClientSettings {
            trust: aws::trust(system_store_asked, region),
            system_store_asked,
            credentials_in_environment: not_blank("AWS_ACCESS_KEY_ID")
                && not_blank("AWS_SECRET_ACCESS_KEY"),
        };
        Config {
            in_lambda,
            log_directives: text("RUST_LOG").map(str::to_owned),
            json_logs,
            no_color: given("NO_COLOR"),
            aws,
            system_store_named,
            scheduled_audit: text("SCHEDULED_AUDIT").is_some_and(|v| v.trim() == "true"),
            audit_fix: audit_fix(text("AUDIT_FIX"), &mut warnings),
            deployment_group_pattern: text("DEPLOYMENT_GROUP_PATTERN")
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .unwrap_or("*")
                .to_owned(),
            audit_coverage: audit_coverage(
                text("AUDIT_ACCOUNTS"),
                text("AUDIT_REGIONS"),
                text("AUDIT_ROLE_NAME"),
            ),
            confirm_window: confirm_window(text("CONFIRM_WINDOW_SECONDS"), &mut warnings),
            confirm_window_variable: text("CONFIRM_WINDOW_SECONDS").map(str::to_owned),
            warnings,
        }
    }

    /// The run's settings in the function (the CLI takes its own from its flags).
    pub fn settings(&self) -> Settings {
        Settings {
            confirm_window: self.confirm_window,
            ..Settings::default()
        }
    }

    /// Whether the metrics documents are written: where the logs are JSON lines.
    pub fn metrics(&self) -> bool {
        self.json_logs
    }

    /// Each warning as one log line (once tracing is up): the function's, which reads them all.
    pub fn log_warnings(&self) {
        for warning in &self.warnings {
            warning.log();
        }
    }

    /// The warnings of `variable` only: a command that reads it.
    pub fn log_warnings_of(&self, variable: &str) {
        for warning in self.warnings.iter().filter(|w| w.variable == variable) {
            warning.log();
        }
    }
}

fn audit_fix(value: Option<&str>, warnings: &mut Vec<Warning>) -> bool {
    match value.map(str::trim) {
        Some(value) if value.eq_ignore_ascii_case("true") => true,
        None => false,
        Some(value) if value.is_empty() || value.eq_ignore_ascii_case("false") => false,
        Some(value) => {
            warnings.push(Warning {
                variable: "AUDIT_FIX",
                value: value.to_owned(),
                what: "is neither true nor false; the audit only reports".to_owned(),
            });
            false
        }
    }
}

/// The scheduled audit's accounts and regions: each variable empty or unset is the default (the
/// function's own account, its own region, the role `codedeploy-tg-hook-audit`); a value that is
/// not one the audit takes is an error naming the variable.
fn audit_coverage(
    accounts: Option<&str>,
    regions: Option<&str>,
    role_name: Option<&str>,
) -> Result<Coverage, String> {
    fn given(value: Option<&str>) -> Option<&str> {
        value.map(str::trim).filter(|v| !v.is_empty())
    }
    fn wrong(variable: &'static str) -> impl Fn(String) -> String {
        move |e| format!("{variable}: {e}")
    }
    Ok(Coverage {
        accounts: given(accounts)
            .map(Accounts::parse)
            .transpose()
            .map_err(wrong("AUDIT_ACCOUNTS"))?
            .unwrap_or_default(),
        regions: given(regions)
            .map(Regions::parse)
            .transpose()
            .map_err(wrong("AUDIT_REGIONS"))?
            .unwrap_or_default(),
        role_name: given(role_name)
            .map(coverage::role_name)
            .transpose()
            .map_err(wrong("AUDIT_ROLE_NAME"))?
            .unwrap_or_else(|| coverage::DEFAULT_ROLE_NAME.to_owned()),
    })
}

fn confirm_window(value: Option<&str>, warnings: &mut Vec<Warning>) -> Duration {
    let default = Settings::default().confirm_window;
    let Some(text) = value else {
        return default;
    };
    let mut warn = |what: String| {
        warnings.push(Warning {
            variable: "CONFIRM_WINDOW_SECONDS",
            value: text.to_owned(),
            what,
        })
    };
    match run::seconds_from_env(text) {
        Some((window, clamped)) => {
            if clamped {
                warn(format!(
                    "is out of range; clamped to {} s",
                    window.as_secs_f64()
                ));
            }
            window
        }
        None => {
            warn("is not a number of seconds; the default is used".to_owned());
            default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::from_vars(vars.iter().map(|(n, v)| (n.into(), v.into())))
    }

    #[test]
    fn the_scheduled_audit_s_accounts_and_regions_default_to_its_own_or_name_what_is_wrong() {
        assert_eq!(config(&[]).audit_coverage, Ok(Coverage::default()));
        assert_eq!(
            config(&[
                ("AUDIT_ACCOUNTS", " "),
                ("AUDIT_REGIONS", ""),
                ("AUDIT_ROLE_NAME", "")
            ])
            .audit_coverage,
            Ok(Coverage::default())
        );
        assert_eq!(
            config(&[
                ("AUDIT_ACCOUNTS", "organization"),
                ("AUDIT_REGIONS", "all"),
                ("AUDIT_ROLE_NAME", "auditor"),
            ])
            .audit_coverage,
            Ok(Coverage {
                accounts: Accounts::Organization,
                regions: Regions::Enabled,
                role_name: "auditor".to_owned(),
            })
        );
        for (variable, value) in [
            ("AUDIT_ACCOUNTS", "123"),
            ("AUDIT_REGIONS", "everywhere"),
            ("AUDIT_ROLE_NAME", "a/b"),
        ] {
            let error = config(&[(variable, value)]).audit_coverage.unwrap_err();
            assert!(error.starts_with(&format!("{variable}: ")), "{error}");
        }
    }

    #[test]
    fn confirm_window_from_the_environment_is_clamped_or_defaulted_never_an_overflow() {
        for (value, expected) in [
            ("12.5", Duration::from_millis(12_500)),
            ("inf", run::LONGEST),
            ("1e300", run::LONGEST),
            ("-4", Duration::ZERO),
            ("NaN", Settings::default().confirm_window),
            ("soon", Settings::default().confirm_window),
        ] {
            let config = config(&[("CONFIRM_WINDOW_SECONDS", value)]);
            assert_eq!(config.settings().confirm_window, expected, "{value}");
            assert_eq!(
                config.warnings.len(),
                usize::from(value != "12.5"),
                "{value}"
            );
            let _ = tokio::time::Instant::now() + config.confirm_window;
        }
    }

    #[test]
    fn audit_fix_repairs_only_when_true_and_a_typo_is_warned_of() {
        assert!(config(&[("AUDIT_FIX", " TRUE ")]).audit_fix);
        for value in ["", "false", "False"] {
            let config = config(&[("AUDIT_FIX", value)]);
            assert!(!config.audit_fix && config.warnings.is_empty(), "{value}");
        }
        let typo = config(&[("AUDIT_FIX", "ture")]);
        assert!(!typo.audit_fix);
        assert_eq!(typo.warnings[0].variable, "AUDIT_FIX");
        assert!(!config(&[]).audit_fix);
    }

    #[test]
    fn the_scope_pattern_defaults_to_every_deployment_group() {
        assert_eq!(config(&[]).deployment_group_pattern, "*");
        assert_eq!(
            config(&[("DEPLOYMENT_GROUP_PATTERN", "  ")]).deployment_group_pattern,
            "*"
        );
        assert_eq!(
            config(&[("DEPLOYMENT_GROUP_PATTERN", " app/web-* ")]).deployment_group_pattern,
            "app/web-*"
        );
    }

    #[test]
    fn the_trust_store_and_credentials_from_the_environment() {
        let plain = config(&[("AWS_REGION", "eu-west-1")]);
        assert_eq!(plain.aws.trust, aws::Trust::AwsRoots);
        assert!(!plain.aws.credentials_in_environment);
        for asked in [
            ("SSL_CERT_FILE", "/etc/ca.pem"),
            ("SSL_CERT_DIR", "/etc/ssl/certs"),
            ("AWS_ENDPOINT_URL_CODEDEPLOY", " HTTPS://localhost:4566"),
        ] {
            let config = config(&[("AWS_REGION", "eu-west-1"), asked]);
            assert_eq!(config.aws.trust, aws::Trust::System, "{asked:?}");
        }
        let http_emulator = config(&[
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]);
        assert_eq!(http_emulator.aws.trust, aws::Trust::AwsRoots);
        assert_eq!(
            config(&[("AWS_REGION", "cn-north-1")]).aws.trust,
            aws::Trust::System
        );
        let keys = config(&[
            ("AWS_ACCESS_KEY_ID", "AKIA"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ]);
        assert!(keys.aws.credentials_in_environment);
        let blank = config(&[
            ("AWS_ACCESS_KEY_ID", "AKIA"),
            ("AWS_SECRET_ACCESS_KEY", " "),
        ]);
        assert!(!blank.aws.credentials_in_environment);
    }

    #[test]
    fn json_logs_and_metrics_in_lambda_or_when_asked() {
        assert!(config(&[("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")]).metrics());
        assert!(config(&[("LOG_FORMAT", "json")]).json_logs);
        assert!(!config(&[("LOG_FORMAT", "text")]).metrics());
        assert!(config(&[("SCHEDULED_AUDIT", " true ")]).scheduled_audit);
        assert!(!config(&[("SCHEDULED_AUDIT", "yes")]).scheduled_audit);
        assert!(config(&[("NO_COLOR", "1")]).no_color);
        assert!(!config(&[("NO_COLOR", "")]).no_color);
    }
}
