//! The one dispatch from a decoded request to what it came to: every trigger's outcome, or the
//! scheduled audit's report. The Lambda function, `handle` and the tests all go through it.

use std::future::Future;

use tokio::time::Instant;

use crate::audit::{self, Report, ScheduledAudit, ScheduledError};
use crate::aws::Clients;
use crate::event::{self, Decoded, Request, Source};
use crate::report::Outcome;
use crate::run::{self, Settings};

use super::config::Config;

/// What the entry decides beside the request: whether a scheduled event runs the audit, and
/// how (whether it repairs, which accounts and regions), and which deployment groups are in
/// scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// The audit a scheduled event runs (the audit function; `handle`); `None`: a scheduled
    /// event is ignored, saying why (the hook function, which instances may invoke).
    pub scheduled_audit: Option<ScheduledAudit>,
    /// `DEPLOYMENT_GROUP_PATTERN`: notifications outside it are ignored; the audit's scope.
    pub deployment_group_pattern: String,
}

impl Rules {
    /// The configuration's rules; `scheduled_audit`: whether this entry runs the audit for a
    /// scheduled event (the audit function by `SCHEDULED_AUDIT`; `handle` always).
    pub fn of(config: &Config, scheduled_audit: bool) -> Rules {
        Rules {
            scheduled_audit: scheduled_audit.then(|| ScheduledAudit {
                fix: config.audit_fix,
                deployment_group_pattern: config.deployment_group_pattern.clone(),
                coverage: config.audit_coverage.clone(),
                client_settings: config.aws,
            }),
            deployment_group_pattern: config.deployment_group_pattern.clone(),
        }
    }
}

/// What a request came to.
#[derive(Debug)]
pub enum Handled {
    /// One outcome per trigger of the event, an ignored one included.
    Outcomes(Vec<Outcome>),
    /// The scheduled audit's report, or why it did not finish.
    Audit(Result<Report, ScheduledError>),
}

/// Runs `request` under `rules`. `work` gives the clients of a deployment's work (retrying until
/// the deadline), `audit` the audit's (adaptive retry); each is called only when needed, so an
/// event that is only ignored builds no client and makes no call.
pub async fn dispatch<W, WF, A, AF>(
    request: Request,
    rules: &Rules,
    work: W,
    audit: A,
    deadline: Instant,
    settings: &Settings,
) -> Handled
where
    W: Fn() -> WF,
    WF: Future<Output = Clients>,
    A: FnOnce() -> AF,
    AF: Future<Output = Clients>,
{
    let decoded = match request {
        Request::Deployments(decoded) => decoded,
        Request::ScheduledAudit if rules.scheduled_audit.is_some() => {
            let clients = audit().await;
            let setup = rules.scheduled_audit.as_ref().expect("matched as some");
            return Handled::Audit(audit::scheduled(&clients, setup, deadline).await);
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
    let decoded = event::scoped(decoded, &rules.deployment_group_pattern);
    Handled::Outcomes(run::handle_decoded(decoded, work, deadline, settings).await)
}
