//! The Lambda entry: one handler over the raw event, deadline from the invocation context.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use tokio::time::Instant;

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::audit;
use crate::aws::Clients;
use crate::event::{self, Decoded, Request, Source};
use crate::run::{self, Settings};

/// The clients of this process, each set built once, by the first invocation that needs it:
/// nothing is built before the first poll of the Runtime API, and an ignored event builds none.
#[derive(Clone, Default)]
struct LazyClients {
    /// Retry until the deadline: deployment events.
    work: Arc<OnceCell<Clients>>,
    /// Adaptive retry, bounded attempts: the scheduled audit.
    audit: Arc<OnceCell<Clients>>,
}

impl LazyClients {
    async fn work(&self) -> Clients {
        self.work
            .get_or_init(|| Clients::from_env(false))
            .await
            .clone()
    }

    async fn audit(&self) -> Clients {
        self.audit
            .get_or_init(|| Clients::from_env(true))
            .await
            .clone()
    }
}

/// Serves Lambda events until the runtime stops us.
pub async fn serve() -> Result<(), lambda_runtime::Error> {
    let clients = LazyClients::default();
    let settings = settings_from_env();
    let audit = ScheduledAudit {
        enabled: std::env::var("SCHEDULED_AUDIT").is_ok_and(|v| v.trim() == "true"),
        fix: audit::fix_from_env(),
        deployment_group_pattern: audit::deployment_group_pattern_from_env(),
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let clients = clients.clone();
        let settings = settings.clone();
        let audit = audit.clone();
        async move { invoke(&clients, &settings, &audit, event).await }
    }))
    .await
}

fn settings_from_env() -> Settings {
    let mut settings = Settings::default();
    if let Ok(text) = std::env::var("CONFIRM_WINDOW_SECONDS") {
        match run::seconds_from_env(&text) {
            Some((window, clamped)) => {
                settings.confirm_window = window;
                if clamped {
                    tracing::warn!(
                        value = text,
                        confirm_window_seconds = window.as_secs_f64(),
                        "CONFIRM_WINDOW_SECONDS is out of range; clamped"
                    );
                }
            }
            None => tracing::warn!(
                value = text,
                "CONFIRM_WINDOW_SECONDS is not a number of seconds; the default is used"
            ),
        }
    }
    settings
}

/// Whether this function answers scheduled events with the account audit (`SCHEDULED_AUDIT=true`,
/// set on the template's audit function only: the hook function, which instances may invoke,
/// ignores them), whether the audit repairs (`AUDIT_FIX`), and what is in its scope
/// (`DEPLOYMENT_GROUP_PATTERN`; notifications outside it are ignored too, by either function).
#[derive(Debug, Clone)]
struct ScheduledAudit {
    enabled: bool,
    fix: bool,
    deployment_group_pattern: String,
}

async fn invoke(
    clients: &LazyClients,
    settings: &Settings,
    audit: &ScheduledAudit,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let deadline = deadline_of(event.context.deadline);
    tracing::debug!(
        request_id = event.context.request_id,
        deadline_ms = event.context.deadline,
        remaining_ms = deadline
            .saturating_duration_since(Instant::now())
            .as_millis() as u64,
        "invocation"
    );
    let request = event::request(event.payload).map_err(|e| {
        tracing::warn!(error = %e, "invalid event");
        Diagnostic {
            error_type: "InvalidEvent".into(),
            error_message: e.to_string(),
        }
    })?;
    let decoded = match request {
        Request::Deployments(decoded) => decoded,
        Request::ScheduledAudit if audit.enabled => {
            return scheduled_audit(&clients.audit().await, audit, deadline).await
        }
        // Ignored like any event that is not a signal to act: through the same outcome path.
        Request::ScheduledAudit => vec![Decoded::Ignore {
            source: Source::EventBridge,
            deployment_id: None,
            reason: "a scheduled event, but this function does not run the account audit \
                     (SCHEDULED_AUDIT is not true; the template's audit function, AuditSchedule, does)"
                .to_owned(),
        }],
    };
    let decoded = event::scoped(decoded, &audit.deployment_group_pattern);
    let outcomes = run::handle_decoded(decoded, || clients.work(), deadline, settings).await;
    // Each failure in words, its groups and reason whole: the appspec script prints it.
    let failures: Vec<String> = outcomes
        .iter()
        .filter(|o| o.is_function_error())
        .map(|o| o.headline())
        .collect();
    if !failures.is_empty() {
        return Err(Diagnostic {
            error_type: "RepairFailed".into(),
            error_message: failures.join("; "),
        });
    }
    let value = match outcomes.as_slice() {
        [one] => serde_json::to_value(one),
        many => serde_json::to_value(many),
    };
    value.map_err(|e| Diagnostic {
        error_type: "OutcomeNotSerializable".into(),
        error_message: e.to_string(),
    })
}

/// The scheduled audit's answer: the report, or a function error when it did not finish or a
/// group could not be checked (the report is in the log either way).
async fn scheduled_audit(
    clients: &Clients,
    scheduled: &ScheduledAudit,
    deadline: Instant,
) -> Result<Value, Diagnostic> {
    let pattern = scheduled.deployment_group_pattern.clone();
    let report = audit::scheduled(clients, scheduled.fix, pattern, deadline)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "scheduled audit failed");
            Diagnostic {
                error_type: "AuditFailed".into(),
                error_message: e.to_string(),
            }
        })?;
    if let Some(message) = audit::unchecked(&report) {
        return Err(Diagnostic {
            error_type: "AuditIncomplete".into(),
            error_message: message,
        });
    }
    serde_json::to_value(&report).map_err(|e| Diagnostic {
        error_type: "OutcomeNotSerializable".into(),
        error_message: e.to_string(),
    })
}

/// The context's deadline (epoch milliseconds) as a monotonic instant. Lambda always sends epoch
/// milliseconds; a value before 2001 cannot be one, and local emulators (cargo lambda watch 1.9
/// sends `600000`) mean a duration by it, so it is read as milliseconds from now.
fn deadline_of(deadline_ms: u64) -> Instant {
    const EPOCH_2001_MS: u64 = 978_307_200_000;
    let remaining_ms = if deadline_ms < EPOCH_2001_MS {
        deadline_ms
    } else {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        deadline_ms.saturating_sub(now_ms)
    };
    // Lambda's deadlines are minutes away; a nonsense one must not overflow the clock.
    Instant::now() + Duration::from_millis(remaining_ms).min(run::LONGEST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_deadline_becomes_the_remaining_time() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let remaining = deadline_of(now_ms + 30_000).saturating_duration_since(Instant::now());
        assert!(
            remaining > Duration::from_secs(29) && remaining <= Duration::from_secs(30),
            "{remaining:?}"
        );
        let past = deadline_of(now_ms - 5_000).saturating_duration_since(Instant::now());
        assert_eq!(past, Duration::ZERO);
    }

    #[test]
    fn confirm_window_from_the_environment_is_clamped_or_defaulted_never_an_overflow() {
        // The only test that sets this variable.
        for (value, expected) in [
            ("12.5", Duration::from_millis(12_500)),
            ("inf", run::LONGEST),
            ("1e300", run::LONGEST),
            ("-4", Duration::ZERO),
            ("NaN", Settings::default().confirm_window),
            ("soon", Settings::default().confirm_window),
        ] {
            std::env::set_var("CONFIRM_WINDOW_SECONDS", value);
            let window = settings_from_env().confirm_window;
            assert_eq!(window, expected, "{value}");
            let _ = Instant::now() + window;
        }
        std::env::remove_var("CONFIRM_WINDOW_SECONDS");
    }

    #[test]
    fn a_nonsense_deadline_is_clamped_not_an_overflow() {
        let remaining = deadline_of(u64::MAX).saturating_duration_since(Instant::now());
        assert!(remaining <= run::LONGEST, "{remaining:?}");
    }

    #[test]
    fn emulator_duration_deadline_is_read_as_milliseconds_from_now() {
        let remaining = deadline_of(600_000).saturating_duration_since(Instant::now());
        assert!(
            remaining > Duration::from_secs(599) && remaining <= Duration::from_secs(600),
            "{remaining:?}"
        );
    }
}
