//! The Lambda entry: one handler over the raw event, its deadline from the invocation context,
//! through the one dispatch; every way it fails is one `LambdaError`, which Lambda gets as a
//! `Diagnostic` (its `errorType` and `errorMessage`).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::audit::{self, ScheduledError};
use crate::aws::{ClientSettings, Clients};
use crate::event::{self, EventError};
use crate::run::{self, Settings};

use super::config::Config;
use super::dispatch::{dispatch, Handled, Rules};

/// The clients of this process, each set built once, by the first invocation that needs it:
/// nothing is built before the first poll of the Runtime API, and an ignored event builds none.
#[derive(Clone)]
struct LazyClients {
    settings: ClientSettings,
    /// Retry until the deadline: deployment events.
    work: Arc<OnceCell<Clients>>,
    /// Adaptive retry, bounded attempts: the scheduled audit.
    audit: Arc<OnceCell<Clients>>,
}

impl LazyClients {
    async fn work(&self) -> Clients {
        self.work
            .get_or_init(|| Clients::load(&self.settings, false))
            .await
            .clone()
    }

    async fn audit(&self) -> Clients {
        self.audit
            .get_or_init(|| Clients::load(&self.settings, true))
            .await
            .clone()
    }
}

/// Why an invocation is a function error.
#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    /// The event is not one this function takes.
    #[error("{0}")]
    InvalidEvent(#[from] EventError),
    /// A trigger's work failed (`Failed` was reported where a hook waits): each failure in
    /// words, its groups and reason whole (the appspec script prints it).
    #[error("{}", .0.join("; "))]
    RepairFailed(Vec<String>),
    /// The scheduled audit did not finish.
    #[error("{0}")]
    AuditFailed(#[from] ScheduledError),
    /// The scheduled audit finished, but a group could not be checked.
    #[error("{0}")]
    AuditIncomplete(String),
    #[error("{0}")]
    OutcomeNotSerializable(#[from] serde_json::Error),
}

impl From<LambdaError> for Diagnostic {
    fn from(error: LambdaError) -> Diagnostic {
        let error_type = match &error {
            LambdaError::InvalidEvent(_) => "InvalidEvent",
            LambdaError::RepairFailed(_) => "RepairFailed",
            LambdaError::AuditFailed(_) => "AuditFailed",
            LambdaError::AuditIncomplete(_) => "AuditIncomplete",
            LambdaError::OutcomeNotSerializable(_) => "OutcomeNotSerializable",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// Serves Lambda events until the runtime stops us.
pub async fn serve(config: &Config) -> Result<(), lambda_runtime::Error> {
    let clients = LazyClients {
        settings: config.aws,
        work: Arc::default(),
        audit: Arc::default(),
    };
    let settings = config.settings();
    let rules = Rules::of(config, config.scheduled_audit);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let clients = clients.clone();
        let settings = settings.clone();
        let rules = rules.clone();
        async move {
            invoke(&clients, &settings, &rules, event)
                .await
                .map_err(Diagnostic::from)
        }
    }))
    .await
}

async fn invoke(
    clients: &LazyClients,
    settings: &Settings,
    rules: &Rules,
    event: LambdaEvent<Value>,
) -> Result<Value, LambdaError> {
    let deadline = deadline_of(event.context.deadline);
    tracing::debug!(
        request_id = event.context.request_id,
        deadline_ms = event.context.deadline,
        remaining_ms = deadline
            .saturating_duration_since(Instant::now())
            .as_millis() as u64,
        "invocation"
    );
    let request = event::request(event.payload).inspect_err(|e| {
        tracing::warn!(error = %e, "invalid event");
    })?;
    let handled = dispatch(
        request,
        rules,
        || clients.work(),
        || clients.audit(),
        deadline,
        settings,
    )
    .await;
    match handled {
        Handled::Outcomes(outcomes) => {
            let failures: Vec<String> = outcomes
                .iter()
                .filter(|o| o.is_function_error())
                .map(|o| o.headline())
                .collect();
            if !failures.is_empty() {
                return Err(LambdaError::RepairFailed(failures));
            }
            Ok(match outcomes.as_slice() {
                [one] => serde_json::to_value(one),
                many => serde_json::to_value(many),
            }?)
        }
        // The report is in the log either way.
        Handled::Audit(report) => {
            let report = report.inspect_err(|e| {
                tracing::error!(error = %e, "scheduled audit failed");
            })?;
            if let Some(message) = audit::unchecked(&report) {
                return Err(LambdaError::AuditIncomplete(message));
            }
            Ok(serde_json::to_value(&report)?)
        }
    }
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
