//! Read the attachments back until Auto Scaling lists them and is done adding them, within the
//! confirm window.

use std::time::Duration;

use tokio::time::Instant;

use crate::aws::{self, Clients};
use crate::aws::{CallLog, StillRetried};
use crate::plan::{self, GroupPlan};

use super::error::RunError;
use super::settings::Settings;

/// How long before the work deadline the confirm window closes at the latest, so that a read
/// still in flight then ends the window (its sources pending), not the work (a deadline failure).
const CONFIRM_SLACK: Duration = Duration::from_millis(500);

/// The confirm window: it closes `confirm_window` from now, and never later than
/// `CONFIRM_SLACK` before the work deadline (`last_chance`).
#[derive(Debug, Clone, Copy)]
pub(super) struct ConfirmWindow {
    end: Instant,
    last_chance: Instant,
}

/// How long a read that must still confirm a source may go on, at least: one whole attempt
/// (`aws::ATTEMPT_TIMEOUT`) and the moment its failure is noted. So a short window still gets an
/// answer, and the last read, at the window's end, has time to give one; never past the last
/// chance before the work deadline.
const READ_AT_LEAST: Duration = Duration::from_secs(7);

impl ConfirmWindow {
    pub(super) fn new(settings: &Settings, work_deadline: Instant) -> Self {
        let last_chance = work_deadline
            .checked_sub(CONFIRM_SLACK)
            .unwrap_or(work_deadline);
        ConfirmWindow {
            end: (Instant::now() + settings.confirm_window).min(last_chance),
            last_chance,
        }
    }

    /// Until when a read starting now may go on: to the window's end once every source was
    /// seen (what is left is only `Adding`); otherwise at least `READ_AT_LEAST`.
    fn bound(&self, seen: bool) -> Instant {
        if seen {
            self.end
        } else {
            (Instant::now() + READ_AT_LEAST)
                .max(self.end)
                .min(self.last_chance)
        }
    }
}

/// The longest pause between two read-backs: the pause doubles from `poll_interval` up to this.
const LONGEST_POLL: Duration = Duration::from_secs(4);

/// What read-backs settled: the sources `Adding` at the last read that answered, and, where a
/// read after it failed or did not answer, what became of that read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Confirmed {
    pub(super) pending: Vec<String>,
    pub(super) unread: Vec<String>,
}

/// What to say of sources pending after a later read-back failed: only what a read showed.
pub fn after_unread(pending: &[String], unread: &[String]) -> String {
    format!(
        "Adding at the last read-back that answered: {}; {}",
        pending.join(", "),
        unread.join("; ")
    )
}

impl Confirmed {
    /// Several groups' read-backs, as one.
    pub(super) fn merge(mut self, other: Confirmed) -> Confirmed {
        self.pending.extend(other.pending);
        self.unread.extend(other.unread);
        self
    }
}

/// Reads the attachments back until every source this run attached is listed and none is
/// `Adding`, or the window closes. AWS documents no read-after-write consistency for
/// DescribeTrafficSources
/// (<https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeTrafficSources.html>):
/// a source just attached that a read does not list yet is read again, with a pause that doubles,
/// and is a failure only when the window closes without it (one last read at its end). A source
/// on its way off (`Removing`, `Removed`) is a failure at once. There is always a first read
/// (given at least `READ_AT_LEAST`, even with a zero window, never past the work deadline).
///
/// Only a read confirms: an attach nothing could read back is not known to be in place. So when
/// no read succeeded at all, or none listed every source this run attached, the run fails naming
/// the call (with its attempts and last error). Once a read listed them all, a later read that
/// fails (but for access denied) or does not succeed in time leaves the sources `Adding` at that
/// read pending, and says which read failed and how.
pub(super) async fn confirm(
    clients: &Clients,
    group_plan: &GroupPlan,
    settings: &Settings,
    window: ConfirmWindow,
) -> Result<Confirmed, RunError> {
    let group = group_plan.auto_scaling_group.as_str();
    let started = Instant::now();
    // The sources this run attached: what only a read can confirm.
    let attached: Vec<String> = group_plan
        .missing_target_group_arns
        .iter()
        .chain(&group_plan.missing_load_balancer_names)
        .cloned()
        .collect();
    // What the last read that answered showed: sources listed but `Adding`, and sources this
    // run attached that it did not list (so `seen`, when there are none, after a read).
    let mut pending: Vec<String> = Vec::new();
    let mut unlisted: Option<Vec<String>> = None;
    let mut seen = false;
    let mut last_answered = started;
    let mut pause = settings.poll_interval;
    loop {
        // Its own call log, so a read the window outlives is named with its attempts.
        let calls = CallLog::default();
        let read = calls.watch(aws::autoscaling::describe_attachments(
            clients.autoscaling(),
            group,
        ));
        futures_util::pin_mut!(read);
        let observed = match tokio::time::timeout_at(window.bound(seen), read.as_mut()).await {
            Err(_) => {
                let read =
                    calls
                        .still_retried()
                        .into_iter()
                        .next()
                        .unwrap_or_else(|| StillRetried {
                            action: DESCRIBE.to_owned(),
                            attempts: 0,
                            last_failure: None,
                        });
                if seen {
                    tracing::warn!(group, pending = ?pending, read = %read, "a later read-back did not succeed before the confirm window closed; reporting the sources pending");
                    return Ok(Confirmed {
                        pending,
                        unread: vec![format!(
                            "{group}: a later read, {read}, did not succeed before the confirm window closed"
                        )],
                    });
                }
                if let Some(sources) = unlisted {
                    // What the last read that answered showed, when it answered.
                    return Err(RunError::NotListed {
                        group: group.to_owned(),
                        sources,
                        waited: last_answered - started,
                    });
                }
                return Err(RunError::Unconfirmed {
                    group: group.to_owned(),
                    sources: attached,
                    read,
                });
            }
            Ok(Err(source)) if seen && !source.is_access_denied() => {
                tracing::warn!(group, error = %source, "confirm read failed after the sources were seen; reporting them pending");
                return Ok(Confirmed {
                    pending,
                    unread: vec![format!("{group}: a later read failed: {source}")],
                });
            }
            Ok(Err(source)) => {
                return Err(RunError::Aws {
                    groups: vec![group.to_owned()],
                    source,
                })
            }
            Ok(Ok(observed)) => observed,
        };
        last_answered = Instant::now();
        let confirmation = plan::confirm(group_plan, &observed);
        if !confirmation.absent.is_empty() {
            // Each with the state the read-back gave it, so the failure says what it saw.
            let sources = confirmation
                .absent
                .iter()
                .map(|source| {
                    let state = observed
                        .iter()
                        .find(|a| &a.source == source)
                        .map(|a| a.state.as_str())
                        .filter(|state| !state.is_empty())
                        .unwrap_or("no state");
                    format!("{source} ({state})")
                })
                .collect();
            return Err(RunError::NotAttached {
                group: group.to_owned(),
                sources,
            });
        }
        let now = last_answered;
        if confirmation.unlisted.is_empty() {
            if confirmation.pending.is_empty() || now + pause >= window.end {
                return Ok(Confirmed {
                    pending: confirmation.pending,
                    unread: Vec::new(),
                });
            }
            tracing::debug!(group, pending = ?confirmation.pending, "waiting for Adding to become Added");
            tokio::time::sleep(pause).await;
        } else {
            if now >= window.end {
                return Err(RunError::NotListed {
                    group: group.to_owned(),
                    sources: confirmation.unlisted,
                    waited: now - started,
                });
            }
            tracing::debug!(group, unlisted = ?confirmation.unlisted, "attached sources not listed yet; reading again");
            tokio::time::sleep(pause.min(window.end - now)).await;
        }
        seen = confirmation.unlisted.is_empty();
        pending = confirmation.pending;
        unlisted = Some(confirmation.unlisted);
        pause = (pause * 2).min(LONGEST_POLL.max(settings.poll_interval));
    }
}

/// The call every read-back makes.
const DESCRIBE: &str = "autoscaling:DescribeTrafficSources";

/// The read-back's window, under tokio's paused clock: every pause, timeout and deadline is
/// exact, and a machine's load cannot move them.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::stub::{traffic_sources, Answer, Stub};

    const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-a/1";

    fn plan() -> GroupPlan {
        GroupPlan {
            auto_scaling_group: "CodeDeploy_web-dg_d-ABCDEF123".into(),
            target_group_arns: vec![TG.into()],
            load_balancer_names: vec![],
            missing_target_group_arns: vec![TG.into()],
            missing_load_balancer_names: vec![],
        }
    }

    fn settings(window: u64) -> Settings {
        Settings {
            confirm_window: Duration::from_secs(window),
            poll_interval: Duration::from_secs(1),
            dry_run: false,
        }
    }

    /// Confirms `plan()` with a `window` s window and work deadline `deadline` s away.
    async fn run(
        stub: &Stub,
        window: u64,
        deadline: u64,
    ) -> (Result<Confirmed, RunError>, Duration) {
        let clients = stub.clients().await;
        let started = Instant::now();
        let settings = settings(window);
        let window = ConfirmWindow::new(&settings, started + Duration::from_secs(deadline));
        let result = confirm(&clients, &plan(), &settings, window).await;
        (result, started.elapsed())
    }

    const READ: &str = "DescribeTrafficSources";

    #[tokio::test(start_paused = true)]
    async fn added_at_the_first_read_is_confirmed_at_once() {
        let stub = Stub::default();
        stub.always(READ, traffic_sources(&[(TG, "Added")]));
        let (result, took) = run(&stub, 30, 60).await;
        assert_eq!(result, Ok(Confirmed::default()));
        assert_eq!(took, Duration::ZERO);
        assert_eq!(stub.count(READ), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn adding_is_read_again_with_a_doubling_pause_and_pending_when_the_window_closes() {
        let stub = Stub::default();
        stub.always(READ, traffic_sources(&[(TG, "Adding")]));
        let (result, took) = run(&stub, 10, 60).await;
        assert_eq!(
            result,
            Ok(Confirmed {
                pending: vec![TG.into()],
                unread: vec![]
            })
        );
        // Reads at 0, 1, 3 and 7 s; the next pause (4 s, the longest) would pass the window.
        let at: Vec<u64> = stub
            .calls()
            .iter()
            .map(|(_, t)| (*t - stub.calls()[0].1).as_secs())
            .collect();
        assert_eq!(at, vec![0, 1, 3, 7]);
        assert_eq!(took, Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_listed_late_inside_the_window_is_confirmed() {
        let stub = Stub::default();
        stub.on(READ, |n| match n {
            0 | 1 => traffic_sources(&[]),
            _ => traffic_sources(&[(TG, "Added")]),
        });
        let (result, took) = run(&stub, 30, 60).await;
        assert_eq!(result, Ok(Confirmed::default()));
        assert_eq!(took, Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_never_listed_fails_when_the_window_closes_naming_the_call() {
        let stub = Stub::default();
        stub.always(READ, traffic_sources(&[]));
        let (result, took) = run(&stub, 10, 60).await;
        let Err(RunError::NotListed {
            sources, waited, ..
        }) = result
        else {
            panic!("{result:?}")
        };
        assert_eq!(sources, vec![TG.to_owned()]);
        // The last read comes at the window's end.
        assert_eq!(
            (waited, took),
            (Duration::from_secs(10), Duration::from_secs(10))
        );
    }

    /// No read answered: nothing confirms the attach. Reads go on for the window (10 s here),
    /// and a short window still gives the first read a whole attempt (7 s), never past the work
    /// deadline.
    #[tokio::test(start_paused = true)]
    async fn no_read_that_answers_fails_naming_the_call_its_attempts_and_the_sources() {
        for (window, deadline, ends) in [(10, 60, 10_000), (0, 60, 7_000), (0, 5, 4_500)] {
            let stub = Stub::default();
            stub.always(READ, Answer::Hang);
            let (result, took) = run(&stub, window, deadline).await;
            assert!(
                matches!(result, Err(RunError::Unconfirmed { .. })),
                "{window} {deadline}: {result:?}"
            );
            assert_eq!(took, Duration::from_millis(ends), "{window} {deadline}");
        }
        let stub = Stub::default();
        stub.always(READ, Answer::Hang);
        let (result, _) = run(&stub, 10, 60).await;
        let Err(error @ RunError::Unconfirmed { .. }) = result else {
            panic!("{result:?}")
        };
        let reason = error.to_string();
        assert!(
            reason.contains(&format!("attached {TG}, but no read-back succeeded in time (autoscaling:DescribeTrafficSources ("))
                && reason.contains("last: no answer within 5 s"),
            "{reason}"
        );
        assert!(!reason.contains("Adding"), "{reason}");
        // Attempts of 5 s each, and the backoff between them, until the bound.
        assert!(stub.count(READ) >= 2, "{}", stub.count(READ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_that_fails_after_one_listed_the_source_leaves_it_pending_saying_so() {
        let stub = Stub::default();
        stub.on(READ, |n| match n {
            0 => traffic_sources(&[(TG, "Adding")]),
            _ => Answer::Error(400, "ValidationError"),
        });
        let (result, _) = run(&stub, 30, 60).await;
        let Ok(Confirmed { pending, unread }) = result else {
            panic!("{result:?}")
        };
        assert_eq!(pending, vec![TG.to_owned()]);
        assert_eq!(unread.len(), 1);
        assert!(
            unread[0].starts_with("CodeDeploy_web-dg_d-ABCDEF123: a later read failed: autoscaling:DescribeTrafficSources failed")
                && unread[0].contains("ValidationError"),
            "{unread:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_that_hangs_after_one_listed_the_source_ends_the_window_on_time() {
        let stub = Stub::default();
        stub.on(READ, |n| match n {
            0 => traffic_sources(&[(TG, "Adding")]),
            _ => Answer::Hang,
        });
        let (result, took) = run(&stub, 10, 60).await;
        let Ok(Confirmed { pending, unread }) = result else {
            panic!("{result:?}")
        };
        assert_eq!(pending, vec![TG.to_owned()]);
        assert_eq!(
            took,
            Duration::from_secs(10),
            "the window, not the deadline"
        );
        assert!(
            unread[0].starts_with(
                "CodeDeploy_web-dg_d-ABCDEF123: a later read, autoscaling:DescribeTrafficSources ("
            ) && unread[0].ends_with("did not succeed before the confirm window closed"),
            "{unread:?}"
        );
    }

    /// The window never outlasts the work: it closes the slack before the work deadline.
    #[tokio::test(start_paused = true)]
    async fn the_window_is_cut_by_the_work_deadline() {
        let stub = Stub::default();
        stub.always(READ, traffic_sources(&[(TG, "Adding")]));
        let (result, took) = run(&stub, 30, 8).await;
        assert_eq!(result.map(|c| c.pending), Ok(vec![TG.to_owned()]));
        // Reads at 0, 1 and 3 s; the window closes at 7.5 s (8 s less the slack), so the read
        // at 7 s is the last one before it.
        assert_eq!(took, Duration::from_secs(7));
    }
}
