//! One trigger end to end: the guarded work, the outcome, the hook status where CodeDeploy waits;
//! and every trigger of an event.

use std::future::Future;

use tokio::time::Instant;

use crate::aws::Clients;
use crate::event::{Decoded, Source, Trigger};
use crate::report::{Outcome, OutcomeKind};

use super::boundary::{guard, work_deadline};
use super::error::RunError;
use super::outcome::{outcome_of, report_hook};
use super::progress::Progress;
use super::settings::Settings;
use super::{run_deployment, Job, Mode, Reads, RunResult};

/// One trigger end to end: the guarded work, then the hook status where CodeDeploy waits.
pub async fn execute(
    clients: &Clients,
    trigger: &Trigger,
    deadline: Instant,
    settings: &Settings,
) -> Outcome {
    let work_deadline = work_deadline(deadline);
    let progress = Progress::default();
    let work = {
        let (clients, id, settings, progress, trigger_source) = (
            clients.clone(),
            trigger.deployment_id.clone(),
            settings.clone(),
            progress.clone(),
            trigger.source,
        );
        async move {
            let job = Job {
                deployment_id: &id,
                mode: if settings.dry_run {
                    Mode::DryRun
                } else {
                    Mode::Repair
                },
                expect_reroute: matches!(trigger_source, Source::LifecycleHook | Source::Direct),
                listed_group: None,
                work_deadline,
            };
            run_deployment(&clients, &job, &Reads::default(), &settings, &progress).await
        }
    };
    execute_work(clients, trigger, work, &progress, deadline).await
}

/// `execute` with the work given: the boundary that turns any result, panic or timeout into a
/// reported outcome, with what `progress` says the work attached.
pub async fn execute_work<F>(
    clients: &Clients,
    trigger: &Trigger,
    work: F,
    progress: &Progress,
    deadline: Instant,
) -> Outcome
where
    F: Future<Output = Result<RunResult, RunError>> + Send + 'static,
{
    let result = guard(work, work_deadline(deadline)).await;
    let mut outcome = outcome_of(trigger, result, progress);
    if let Some(execution_id) = &trigger.hook_execution_id {
        report_hook(clients, trigger, execution_id, &mut outcome, deadline).await;
    }
    outcome.finish();
    outcome
}

/// Runs every trigger of a decoded event. `clients` is called only when a trigger acts, so an
/// event that is only ignored costs no client set-up (the CLI builds them on demand this way).
pub async fn handle_decoded<F, Fut>(
    decoded: Vec<Decoded>,
    clients: F,
    deadline: Instant,
    settings: &Settings,
) -> Vec<Outcome>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Clients>,
{
    let built = tokio::sync::OnceCell::new();
    let mut outcomes = Vec::with_capacity(decoded.len());
    for item in decoded {
        outcomes.push(match item {
            Decoded::Act(trigger) => {
                let clients = built.get_or_init(&clients).await;
                execute(clients, &trigger, deadline, settings).await
            }
            Decoded::Ignore {
                source,
                deployment_id,
                reason,
            } => ignored(source, deployment_id, reason),
        });
    }
    outcomes
}

fn ignored(source: Source, deployment_id: Option<String>, reason: String) -> Outcome {
    let mut o = Outcome::new(source, deployment_id, OutcomeKind::Ignored);
    o.reason = Some(reason);
    o.finish();
    o
}
