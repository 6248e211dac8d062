//! The one workflow: fetch facts, plan, attach, confirm, report; guarded by a deadline and a panic boundary.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::{select, Either, OptionFuture};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::aws::calls::{CallLog, StillRetried};
use crate::aws::{self, AwsError, Clients};
use crate::event::{self, Decoded, EventError, Source, Trigger};
use crate::plan::{
    self, DeploymentGroupState, GroupPlan, GroupState, Hold, Moment, MomentFacts, PlanFault,
    RegisteredTarget, Registration, RegistrationGaps, Skip, TrafficSource, Waiting, Work,
};
use crate::report::{Attached, Outcome, OutcomeKind};

/// Time kept back from the deadline to report a hook status, whatever the work did.
pub const REPORT_MARGIN: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
pub struct Settings {
    /// How long to wait for `Adding` attachments to become `Added` (never past the deadline margin).
    pub confirm_window: Duration,
    /// Pause between read-backs inside the confirm window.
    pub poll_interval: Duration,
    /// Plan only; change nothing.
    pub dry_run: bool,
}

/// The longest deadline or confirm window taken from a user: longer ones make no sense for a
/// deployment step, and `Instant` arithmetic past it could overflow.
pub const LONGEST: Duration = Duration::from_secs(7 * 24 * 3600);

/// Seconds as given by a user (`CONFIRM_WINDOW_SECONDS` in Lambda): negative or not a number is
/// zero, too large (or infinite) is `LONGEST`.
pub fn seconds(value: f64) -> Duration {
    if value.is_nan() || value <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(value)
        .unwrap_or(LONGEST)
        .min(LONGEST)
}

/// Seconds on the command line: a finite number from 0 to `LONGEST`, or a message saying so.
pub fn parse_seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !value.is_finite() || value < 0.0 || value > LONGEST.as_secs_f64() {
        return Err(format!(
            "{text} is out of range: give a finite number of seconds from 0 to {}",
            LONGEST.as_secs()
        ));
    }
    Ok(value)
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            confirm_window: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            dry_run: false,
        }
    }
}

/// What the work has attached so far, shared with the boundary: a later failure, a panic or the
/// deadline (which aborts the work) still reports it.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<Mutex<Known>>);

/// What `Progress` keeps: the replacement groups once known, and what went on them.
#[derive(Debug, Clone, Default)]
struct Known {
    groups: Vec<String>,
    attached: Attached,
    registered: Vec<Registration>,
}

impl Progress {
    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn groups(&self, groups: &[String]) {
        self.known().groups = groups.to_vec();
    }

    fn record(&self, batch: &[TrafficSource]) {
        let attached = &mut self.known().attached;
        for source in batch {
            match source {
                TrafficSource::TargetGroup(arn) => attached.target_group_arns.push(arn.clone()),
                TrafficSource::LoadBalancer(name) => {
                    attached.load_balancer_names.push(name.clone())
                }
            }
        }
    }

    fn record_registration(&self, registration: &Registration) {
        self.known().registered.push(registration.clone());
    }

    pub fn attached(&self) -> Attached {
        self.known().attached.clone()
    }

    /// The registrations the load balancers accepted so far.
    pub fn registered(&self) -> Vec<Registration> {
        self.known().registered.clone()
    }

    /// The replacement groups the work had found when it stopped (none before GetDeployment).
    pub fn replacement_groups(&self) -> Vec<String> {
        self.known().groups.clone()
    }
}

/// What the work did for one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    Skipped(Skip),
    /// `InProgress` and the reroute is not complete: nothing attached, a success.
    Waiting(Waiting),
    /// `--dry-run`: the plans, and (after a success) what the load balancers lack now.
    Planned {
        plans: Vec<GroupPlan>,
        unregistered: Vec<Registration>,
    },
    /// Attached what was missing (what, is in the run's `Progress`) and confirmed it.
    Done {
        groups: Vec<String>,
        pending: Vec<String>,
        /// After a success, sources whose registrations were not checked: Auto Scaling is still
        /// `Adding` them to a group (and registering its instances itself).
        registration_pending: Vec<String>,
        /// After a success, why nothing was registered: the groups stopped being live.
        not_registered: Option<String>,
    },
}

/// Why the work failed, naming what the user needs to act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("deployment {deployment_id}: {source}")]
    Deployment {
        deployment_id: String,
        source: AwsError,
    },
    #[error("replacement Auto Scaling group(s) not found: {}", .groups.join(", "))]
    MissingGroups { groups: Vec<String> },
    #[error("target group(s) named by the deployment group not found: {}", .names.join(", "))]
    UnresolvedTargetGroups {
        names: Vec<String>,
        groups: Vec<String>,
    },
    #[error("{group}: {} rejected: {source}", list(.sources))]
    TrafficSourcesRejected {
        group: String,
        sources: Vec<TrafficSource>,
        source: AwsError,
    },
    #[error("{}: {source}", .groups.join(", "))]
    Aws {
        groups: Vec<String>,
        source: AwsError,
    },
    #[error("{group}: after attaching, not on the group: {}", .sources.join(", "))]
    NotAttached { group: String, sources: Vec<String> },
    #[error("{group}: after attaching, not on the group: autoscaling:DescribeTrafficSources still did not list {} {:.0} s after AttachTrafficSources accepted them (the confirm window; CONFIRM_WINDOW_SECONDS, --confirm-window)", .sources.join(", "), .waited.as_secs_f64())]
    NotListed {
        group: String,
        sources: Vec<String>,
        waited: Duration,
    },
    #[error("{}: registering InService instance(s) {} with {traffic_source} failed: {source}", .groups.join(", "), .instance_ids.join(", "))]
    NotRegistered {
        groups: Vec<String>,
        traffic_source: TrafficSource,
        instance_ids: Vec<String>,
        source: Box<AwsError>,
    },
    #[error("ran out of time: stopped {}s before the deadline to report{}", REPORT_MARGIN.as_secs(), describe_still_retried(.still_retried))]
    Deadline {
        /// The AWS calls the deadline stopped while they were being retried, with their last
        /// failure (throttling, a 5xx, a connection error, an answer that is not AWS's).
        still_retried: Vec<StillRetried>,
    },
    #[error("internal error (panic): {0}")]
    Panic(String),
}

/// "; still being retried: autoscaling:DescribeTrafficSources (7 attempts, last: HTTP 500 ...)".
fn describe_still_retried(calls: &[StillRetried]) -> String {
    if calls.is_empty() {
        return String::new();
    }
    format!(
        "; still being retried: {}",
        calls
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    )
}

/// "target group arn:..., classic load balancer web" for an error message.
fn list(sources: &[TrafficSource]) -> String {
    sources
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl RunError {
    /// AWS's error code, for the log line and the outcome.
    pub fn code(&self) -> Option<&str> {
        match self {
            RunError::Deployment { source, .. }
            | RunError::TrafficSourcesRejected { source, .. }
            | RunError::Aws { source, .. } => Some(&source.code),
            RunError::NotRegistered { source, .. } => Some(&source.code),
            _ => None,
        }
    }

    /// The Auto Scaling group(s) the failure concerns, where known by then.
    pub fn groups(&self) -> Vec<String> {
        match self {
            RunError::MissingGroups { groups }
            | RunError::UnresolvedTargetGroups { groups, .. } => groups.clone(),
            RunError::Aws { groups, .. } | RunError::NotRegistered { groups, .. } => groups.clone(),
            RunError::TrafficSourcesRejected { group, .. }
            | RunError::NotAttached { group, .. }
            | RunError::NotListed { group, .. } => {
                vec![group.clone()]
            }
            RunError::Deployment { .. } | RunError::Deadline { .. } | RunError::Panic(_) => {
                Vec::new()
            }
        }
    }
}

/// Repairs one deployment's replacement group(s). `work_deadline` bounds the confirm window.
/// `expect_reroute` says the trigger usually comes while the deployment is under way (a
/// lifecycle hook, a direct call from an appspec script): its replacement instances are then
/// read beside `GetDeployment`, so judging the reroute adds no round to the critical path.
pub async fn repair(
    clients: &Clients,
    deployment_id: &str,
    expect_reroute: bool,
    settings: &Settings,
    work_deadline: Instant,
    progress: &Progress,
) -> Result<Repair, RunError> {
    // Boxed, so that dropping it (a deployment not under way) stops it and frees its connection.
    let mut early_reroute =
        Box::pin(OptionFuture::from(expect_reroute.then(|| {
            aws::codedeploy::replacement_instances(clients.codedeploy(), deployment_id)
        })));
    let get = fetch_deployment(clients, deployment_id);
    futures_util::pin_mut!(get);
    // GetDeployment decides (its error wins); the early read is kept if it is already done,
    // continued if it is still running, and dropped unread when the deployment turns out not to
    // be under way (its own error, then, is never seen).
    let (deployment, early_done) = match select(get, early_reroute.as_mut()).await {
        Either::Left((deployment, _)) => (deployment?, None),
        Either::Right((read, get)) => (get.await?, Some(read)),
    };
    let work = match plan::assess(&deployment) {
        Ok(work) => work,
        Err(skip) => return Ok(Repair::Skipped(skip)),
    };
    progress.groups(&work.replacement_groups);
    let (work, (target_groups, groups)) = match work.moment {
        // Judged first, the plan's reads after: a run that is not the one to act makes only the
        // calls that tell it so.
        Moment::RerouteComplete => {
            let early = match early_done {
                Some(read) => read,
                None => early_reroute.await,
            };
            let facts = match early {
                Some(read) => {
                    read.map(MomentFacts::Reroute)
                        .map_err(|source| RunError::Deployment {
                            deployment_id: deployment_id.to_owned(),
                            source,
                        })?
                }
                None => read_moment(clients, &work, &Fleets::default()).await?,
            };
            let work = match plan::at_moment(work, &facts) {
                Ok(work) => work,
                Err(hold) => return Ok(hold.into()),
            };
            let reads = plan_reads(clients, &work).await;
            (work, reads)
        }
        // The fleet is read in the plan's round: a success notification is about to act.
        Moment::LiveFleet => {
            drop(early_reroute);
            let judged = async {
                let facts = read_moment(clients, &work, &Fleets::default())
                    .await
                    .map_err(Hand::Failed)?;
                plan::at_moment(work.clone(), &facts).map_err(Hand::Hold)
            };
            let reads = async { Ok(plan_reads(clients, &work).await) };
            match tokio::try_join!(judged, reads) {
                Ok(both) => both,
                Err(Hand::Hold(hold)) => return Ok(hold.into()),
                Err(Hand::Failed(error)) => return Err(error),
            }
        }
    };
    // Narrowed to the live groups, for a failure from here on.
    progress.groups(&work.replacement_groups);
    let groups = groups?;
    let plans = plan_groups(&work, &target_groups?, &groups)?;
    if settings.dry_run {
        // What the load balancers lack now, through the sources the groups already have (Auto
        // Scaling registers a group's instances with a source when it is attached).
        let unregistered = if work.succeeded {
            check_registration(clients, &plans, &groups, false, &Listings::default())
                .await?
                .to_register
        } else {
            Vec::new()
        };
        return Ok(Repair::Planned {
            plans,
            unregistered,
        });
    }
    // Every group's attach first, then their read-backs together in one window: no group waits
    // for another's window, and each gets its read.
    let incomplete: Vec<&GroupPlan> = plans.iter().filter(|p| !p.is_complete()).collect();
    for group_plan in &incomplete {
        attach(clients, group_plan, progress).await?;
    }
    let window = ConfirmWindow::new(settings, work_deadline);
    let pending: Vec<String> = futures_util::future::try_join_all(
        incomplete
            .iter()
            .map(|group_plan| confirm(clients, group_plan, settings, window)),
    )
    .await?
    .concat();
    // After a success, the live fleet must be served: every InService instance registered with
    // every source (attaching after a deployment may deregister them). During a deployment
    // CodeDeploy owns registration.
    let mut not_live = None;
    let mut registration_pending = Vec::new();
    if work.succeeded {
        match serve(clients, &work, &plans, progress).await? {
            Served::NotLive(reason) => not_live = Some(reason),
            Served::Registered { pending, .. } => registration_pending = pending,
        }
    }
    Ok(Repair::Done {
        groups: work.replacement_groups,
        pending,
        registration_pending,
        not_registered: not_live,
    })
}

/// What each group's `InService` instances lack, merged per source: every source the groups have
/// (`attached: true`, after the plan is carried out) or had already (`false`) is read once,
/// concurrently (through `listings`, once per audit). Only sources Auto Scaling is done adding
/// count; one still `Adding` is pending (`registrable_gaps`).
pub(crate) async fn check_registration(
    clients: &Clients,
    plans: &[GroupPlan],
    groups: &[GroupState],
    attached: bool,
    listings: &Listings,
) -> Result<RegistrationGaps, RunError> {
    let registered = read_listings(clients, plans, attached, listings).await?;
    registrable_gaps(clients, plans, groups, attached, &registered).await
}

/// What every source of the plans lists now (each read once, through `listings`), all at once.
async fn read_listings(
    clients: &Clients,
    plans: &[GroupPlan],
    attached: bool,
    listings: &Listings,
) -> Result<BTreeMap<TrafficSource, Vec<RegisteredTarget>>, RunError> {
    let group_names: Vec<String> = plans.iter().map(|p| p.auto_scaling_group.clone()).collect();
    let mut sources: Vec<TrafficSource> = plans
        .iter()
        .flat_map(|p| p.traffic_sources(attached))
        .collect();
    sources.sort();
    sources.dedup();
    let listed = futures_util::future::try_join_all(sources.iter().map(|source| async {
        let read = listings.get(source.clone(), || async {
            match source {
                TrafficSource::TargetGroup(arn) => {
                    aws::elbv2::registered_targets(clients.elbv2(), arn).await
                }
                TrafficSource::LoadBalancer(name) => {
                    aws::elb::registered_instances(clients.elb(), name).await
                }
            }
        });
        read.await
            .map(|targets| (source.clone(), targets))
            .map_err(|source| RunError::Aws {
                groups: group_names.clone(),
                source,
            })
    }))
    .await?;
    Ok(listed.into_iter().collect())
}

/// Each group's gaps, merged per source, kept only for the sources Auto Scaling is done adding
/// to that group (`Added`, `InService`): while it is still `Adding` one, Auto Scaling is
/// registering the group's instances with it itself, so it is reported pending, not registered
/// with. A group with a gap has its traffic sources read (`DescribeTrafficSources`, all such
/// groups at once); a group without one costs no call.
async fn registrable_gaps(
    clients: &Clients,
    plans: &[GroupPlan],
    groups: &[GroupState],
    attached: bool,
    registered: &BTreeMap<TrafficSource, Vec<RegisteredTarget>>,
) -> Result<RegistrationGaps, RunError> {
    let per_group = plans.iter().filter_map(|p| {
        let group = groups.iter().find(|g| g.name == p.auto_scaling_group)?;
        let gaps = plan::unregistered(group, &p.traffic_sources(attached), registered);
        (!gaps.is_empty()).then_some((group.name.as_str(), gaps))
    });
    let split = futures_util::future::try_join_all(per_group.map(|(group, gaps)| async move {
        aws::autoscaling::describe_attachments(clients.autoscaling(), group)
            .await
            .map(|observed| plan::registrable(gaps, &observed))
            .map_err(|source| RunError::Aws {
                groups: vec![group.to_owned()],
                source,
            })
    }))
    .await?;
    let mut pending: Vec<String> = split.iter().flat_map(|s| s.pending.clone()).collect();
    pending.sort();
    pending.dedup();
    Ok(RegistrationGaps {
        to_register: plan::merge_registrations(split.into_iter().flat_map(|s| s.to_register)),
        pending,
    })
}

/// Registers what the live groups' sources lack, from facts read now, not earlier in the run
/// (an instance may have left `InService`, or the fleet may have moved on, since): the
/// deployment group's fleet, the groups' instances and every source's registrations are read
/// together, the moment is judged again, and only instances still `InService` and `Healthy`
/// that a source lacks are registered. Returns what was registered (nothing if the groups are
/// no longer live).
pub(crate) async fn serve(
    clients: &Clients,
    work: &Work,
    plans: &[GroupPlan],
    progress: &Progress,
) -> Result<Served, RunError> {
    // Fresh caches: nothing read earlier in the run (or the audit) counts here.
    let (fresh_fleets, fresh_listings) = (Fleets::default(), Listings::default());
    let (fleet, groups, registered) = tokio::try_join!(
        read_moment(clients, work, &fresh_fleets),
        describe_replacement_groups(clients, work),
        read_listings(clients, plans, true, &fresh_listings)
    )?;
    let live = match plan::at_moment(work.clone(), &fleet) {
        Ok(live) => live,
        Err(hold) => {
            let reason = hold.to_string();
            tracing::warn!(
                deployment_id = work.deployment_id,
                reason,
                "no longer live: nothing registered"
            );
            return Ok(Served::NotLive(reason));
        }
    };
    // Only the groups still live (a deployment may name several; some may have been superseded).
    let live_plans: Vec<GroupPlan> = plans
        .iter()
        .filter(|p| live.replacement_groups.contains(&p.auto_scaling_group))
        .cloned()
        .collect();
    let gaps = registrable_gaps(clients, &live_plans, &groups, true, &registered).await?;
    register(
        clients,
        &gaps.to_register,
        &live.replacement_groups,
        progress,
    )
    .await?;
    Ok(Served::Registered {
        registered: gaps.to_register,
        pending: gaps.pending,
    })
}

/// What `serve` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Served {
    /// Registered these (none: nothing was missing any more); `pending`: sources that lacked
    /// instances but that Auto Scaling is still `Adding` to a group (it registers them itself).
    Registered {
        registered: Vec<Registration>,
        pending: Vec<String>,
    },
    /// The groups are no longer live (the reason says why): nothing registered.
    NotLive(String),
}

/// Registers each registration's instances with its source, all at once, each carried to its
/// end whatever the others do; each accepted one is recorded in `progress`. Never deregisters.
/// A refusal names the instances and the source (the first one; every one is logged).
pub(crate) async fn register(
    clients: &Clients,
    registrations: &[Registration],
    groups: &[String],
    progress: &Progress,
) -> Result<(), RunError> {
    let results =
        futures_util::future::join_all(registrations.iter().map(|registration| async move {
            let ids = &registration.instance_ids;
            match &registration.traffic_source {
                TrafficSource::TargetGroup(arn) => {
                    aws::elbv2::register_targets(clients.elbv2(), arn, ids).await
                }
                TrafficSource::LoadBalancer(name) => {
                    aws::elb::register_instances(clients.elb(), name, ids).await
                }
            }
            .map_err(|source| RunError::NotRegistered {
                groups: groups.to_vec(),
                traffic_source: registration.traffic_source.clone(),
                instance_ids: ids.clone(),
                source: Box::new(source),
            })?;
            tracing::info!(
                auto_scaling_groups = serde_json::to_string(groups).unwrap_or_default(),
                traffic_source = %registration.traffic_source,
                instance_ids = ids.join(","),
                "registered InService instances the source lacked"
            );
            progress.record_registration(registration);
            Ok(())
        }))
        .await;
    let mut failures = results.into_iter().filter_map(Result::err);
    let first: Option<RunError> = failures.next();
    for other in failures {
        tracing::error!(error = %other, code = other.code().unwrap_or(""), "registration refused");
    }
    first.map_or(Ok(()), Err)
}

/// Why a judged moment stops the run: it holds, or its facts could not be read.
enum Hand {
    Hold(Hold),
    Failed(RunError),
}

impl From<Hold> for Repair {
    fn from(hold: Hold) -> Self {
        match hold {
            Hold::Waiting(waiting) => Repair::Waiting(waiting),
            Hold::Skipped(skip) => Repair::Skipped(skip),
        }
    }
}

/// The plan's two reads, together: the target groups' ARNs and the replacement groups' state.
async fn plan_reads(
    clients: &Clients,
    work: &Work,
) -> (
    Result<BTreeMap<String, String>, RunError>,
    Result<Vec<GroupState>, RunError>,
) {
    tokio::join!(
        resolve_target_groups(clients, work),
        describe_replacement_groups(clients, work)
    )
}

/// DescribeAutoScalingGroups of the work's replacement groups; a failure names them.
async fn describe_replacement_groups(
    clients: &Clients,
    work: &Work,
) -> Result<Vec<GroupState>, RunError> {
    aws::autoscaling::describe_groups(clients.autoscaling(), &work.replacement_groups)
        .await
        .map_err(|source| RunError::Aws {
            groups: work.replacement_groups.clone(),
            source,
        })
}

/// GetDeployment, its failure naming the deployment.
pub(crate) async fn fetch_deployment(
    clients: &Clients,
    deployment_id: &str,
) -> Result<plan::Deployment, RunError> {
    aws::codedeploy::get_deployment(clients.codedeploy(), deployment_id)
        .await
        .map_err(|source| RunError::Deployment {
            deployment_id: deployment_id.to_owned(),
            source,
        })
}

/// Reads made at most once successfully per key, however many callers ask (the audit meets one
/// deployment group, or one target group, once per replacement group that shares it). A failed
/// read is not kept: the next caller reads again.
#[derive(Debug)]
pub(crate) struct ReadOnce<K, V>(Arc<Mutex<HashMap<K, Arc<OnceCell<V>>>>>);

impl<K, V> Default for ReadOnce<K, V> {
    fn default() -> Self {
        ReadOnce(Arc::default())
    }
}

impl<K, V> Clone for ReadOnce<K, V> {
    fn clone(&self) -> Self {
        ReadOnce(self.0.clone())
    }
}

impl<K: Eq + Hash, V: Clone> ReadOnce<K, V> {
    async fn get<F, Fut, E>(&self, key: K, read: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let cell = {
            // Held only to find or insert the cell, never across an await.
            let mut cells = self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            cells.entry(key).or_default().clone()
        };
        cell.get_or_try_init(read).await.cloned()
    }
}

/// Deployment groups' states, by (application name, deployment group name).
pub(crate) type Fleets = ReadOnce<(String, String), DeploymentGroupState>;

/// What each traffic source lists as registered.
pub(crate) type Listings = ReadOnce<TrafficSource, Vec<RegisteredTarget>>;

/// What the deployment's moment is judged on: for `InProgress`, its replacement instance
/// targets; for `Baking`/`Succeeded`, its deployment group's fleet.
pub(crate) async fn read_moment(
    clients: &Clients,
    work: &Work,
    fleets: &Fleets,
) -> Result<MomentFacts, RunError> {
    let facts = match work.moment {
        Moment::RerouteComplete => {
            aws::codedeploy::replacement_instances(clients.codedeploy(), &work.deployment_id)
                .await
                .map(MomentFacts::Reroute)
        }
        Moment::LiveFleet => fleets
            .get(
                (
                    work.application_name.clone(),
                    work.deployment_group_name.clone(),
                ),
                || deployment_group_state(clients, work),
            )
            .await
            .map(MomentFacts::Fleet),
    };
    facts.map_err(|source| RunError::Deployment {
        deployment_id: work.deployment_id.clone(),
        source,
    })
}

/// GetDeploymentGroup, and when its newest deployment is still active, that deployment's
/// creator (GetDeployment): a deployment CodeDeploy started itself for new instances of the live
/// fleet does not take the fleet out of play, one that replaces it does (`plan::at_moment`).
async fn deployment_group_state(
    clients: &Clients,
    work: &Work,
) -> Result<DeploymentGroupState, AwsError> {
    let mut state = aws::codedeploy::deployment_group_state(
        clients.codedeploy(),
        &work.application_name,
        &work.deployment_group_name,
    )
    .await?;
    if let Some(later) = state.creator_to_read().map(str::to_owned) {
        let deployment = aws::codedeploy::get_deployment(clients.codedeploy(), &later).await?;
        if let Some(last) = state.last_attempted.as_mut() {
            // Not reported reads as "replaces the fleet" (`plan::replaces_fleet`).
            last.creator = Some(deployment.creator.unwrap_or_default());
        }
    }
    Ok(state)
}

/// The deployment group's target group names as ARNs; a failure names the names and the groups.
pub(crate) async fn resolve_target_groups(
    clients: &Clients,
    work: &Work,
) -> Result<BTreeMap<String, String>, RunError> {
    aws::elbv2::resolve_target_groups(clients.elbv2(), &work.target_group_names)
        .await
        .map_err(|e| match e {
            aws::elbv2::ResolveError::NotFound(names) => RunError::UnresolvedTargetGroups {
                names,
                groups: work.replacement_groups.clone(),
            },
            aws::elbv2::ResolveError::Aws(source) => RunError::Aws {
                groups: work.replacement_groups.clone(),
                source,
            },
        })
}

/// The planner's verdict as this layer's error.
pub(crate) fn plan_groups(
    work: &Work,
    target_groups: &BTreeMap<String, String>,
    groups: &[GroupState],
) -> Result<Vec<GroupPlan>, RunError> {
    plan::plan(work, target_groups, groups).map_err(|fault| match fault {
        PlanFault::MissingGroups(groups) => RunError::MissingGroups { groups },
        PlanFault::UnresolvedTargetGroups(names) => RunError::UnresolvedTargetGroups {
            names,
            groups: work.replacement_groups.clone(),
        },
    })
}

/// Target groups and classic load balancers go on together, in AttachTrafficSources calls
/// within the per-call limit, one after the other; each source Auto Scaling accepted is recorded
/// in `progress` at once. A call Auto Scaling refuses (`ValidationError`: a classic load balancer
/// that no longer exists, say) is made again one source at a time, so one refused source keeps
/// none of the others off the group, and the failure names only the refused ones.
pub async fn attach(
    clients: &Clients,
    group_plan: &GroupPlan,
    progress: &Progress,
) -> Result<(), RunError> {
    let group = group_plan.auto_scaling_group.as_str();
    let mut rejected: Vec<TrafficSource> = Vec::new();
    let mut first_refusal: Option<AwsError> = None;
    for batch in group_plan.attach_batches() {
        let Some(refusal) = try_attach(clients, group, &batch, progress, &rejected).await? else {
            continue;
        };
        if batch.len() == 1 {
            rejected.extend(batch);
            first_refusal.get_or_insert(refusal);
            continue;
        }
        // Each source alone: which were refused, and the others on the group all the same.
        let refused_before = rejected.len();
        for source in &batch {
            let one = std::slice::from_ref(source);
            if let Some(refusal) = try_attach(clients, group, one, progress, &rejected).await? {
                first_refusal.get_or_insert(refusal);
                rejected.push(source.clone());
            }
        }
        if rejected.len() == refused_before {
            tracing::warn!(
                auto_scaling_group = group,
                error = %refusal,
                "Auto Scaling refused the sources together but took each alone"
            );
        }
    }
    match first_refusal {
        None => Ok(()),
        Some(source) => Err(RunError::TrafficSourcesRejected {
            group: group.to_owned(),
            sources: rejected,
            source,
        }),
    }
}

/// One AttachTrafficSources call: `None` when Auto Scaling took the sources (recorded in
/// `progress`), the error when it refused them, or the run's error for any other failure
/// (logging the sources `rejected` before it, which that error does not name).
async fn try_attach(
    clients: &Clients,
    group: &str,
    sources: &[TrafficSource],
    progress: &Progress,
    rejected: &[TrafficSource],
) -> Result<Option<AwsError>, RunError> {
    let Err(error) =
        aws::autoscaling::attach_traffic_sources(clients.autoscaling(), group, sources).await
    else {
        progress.record(sources);
        return Ok(None);
    };
    let refusal = refused_sources(group, error);
    if refusal.is_err() && !rejected.is_empty() {
        tracing::error!(
            auto_scaling_group = group,
            refused = list(rejected),
            "Auto Scaling refused these sources before the attach failed otherwise"
        );
    }
    refusal.map(Some)
}

/// A failed attach call: `Ok` with the error when Auto Scaling refused the sources it was given
/// (`ValidationError`), else the run's error (the group itself gone, or any other failure).
fn refused_sources(group: &str, error: AwsError) -> Result<AwsError, RunError> {
    if error.code != "ValidationError" {
        return Err(RunError::Aws {
            groups: vec![group.to_owned()],
            source: error,
        });
    }
    // Auto Scaling's answer when the group is gone: "AutoScalingGroup name not found - ...".
    if error.message.contains("AutoScalingGroup name not found") {
        return Err(RunError::MissingGroups {
            groups: vec![group.to_owned()],
        });
    }
    Ok(error)
}

/// How long before the work deadline the confirm window closes at the latest, so that a read
/// still in flight then ends the window (its sources pending), not the work (a deadline failure).
const CONFIRM_SLACK: Duration = Duration::from_millis(500);

/// The confirm window: it closes `confirm_window` from now, and never later than
/// `CONFIRM_SLACK` before the work deadline (`last_chance`), which also bounds the first read.
#[derive(Debug, Clone, Copy)]
pub struct ConfirmWindow {
    end: Instant,
    last_chance: Instant,
}

impl ConfirmWindow {
    pub fn new(settings: &Settings, work_deadline: Instant) -> Self {
        let last_chance = work_deadline
            .checked_sub(CONFIRM_SLACK)
            .unwrap_or(work_deadline);
        ConfirmWindow {
            end: (Instant::now() + settings.confirm_window).min(last_chance),
            last_chance,
        }
    }
}

/// The longest pause between two read-backs: the pause doubles from `poll_interval` up to this.
const LONGEST_POLL: Duration = Duration::from_secs(4);

/// Reads the attachments back until every source this run attached is listed and none is
/// `Adding`, or the window closes; returns what is still pending (`Adding`). AWS documents no
/// read-after-write consistency for DescribeTrafficSources
/// (<https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeTrafficSources.html>):
/// a source just attached that a read does not list yet is read again, with a pause that doubles,
/// and is a failure only when the window closes without it (one last read at its end). A source
/// on its way off (`Removing`, `Removed`) is a failure at once. There is always a first read
/// (bounded by the last chance before the work deadline, even with a zero window). A read still
/// unanswered when its bound passes leaves the sources pending (Auto Scaling accepted the
/// attach), never a deadline failure; so does a read that fails (but for access denied) after
/// one that listed every source this run attached.
pub async fn confirm(
    clients: &Clients,
    group_plan: &GroupPlan,
    settings: &Settings,
    window: ConfirmWindow,
) -> Result<Vec<String>, RunError> {
    let group = group_plan.auto_scaling_group.as_str();
    let started = Instant::now();
    // Until a read answers, every desired source counts as pending.
    let mut pending: Vec<String> = group_plan
        .target_group_arns
        .iter()
        .chain(&group_plan.load_balancer_names)
        .cloned()
        .collect();
    let mut seen = false;
    let mut pause = settings.poll_interval;
    loop {
        let read = aws::autoscaling::describe_attachments(clients.autoscaling(), group);
        let bound = if seen { window.end } else { window.last_chance };
        let observed = match tokio::time::timeout_at(bound, read).await {
            Err(_) => {
                tracing::warn!(group, pending = ?pending, "confirm window closed before a read-back answered");
                return Ok(pending);
            }
            Ok(Err(source)) if seen && !source.is_access_denied() => {
                tracing::warn!(group, error = %source, "confirm read failed after the sources were seen; reporting them pending");
                return Ok(pending);
            }
            Ok(Err(source)) => {
                return Err(RunError::Aws {
                    groups: vec![group.to_owned()],
                    source,
                })
            }
            Ok(Ok(observed)) => observed,
        };
        let confirmation = plan::confirm(group_plan, &observed);
        if !confirmation.absent.is_empty() {
            return Err(RunError::NotAttached {
                group: group.to_owned(),
                sources: confirmation.absent,
            });
        }
        let now = Instant::now();
        if confirmation.unlisted.is_empty() {
            if confirmation.pending.is_empty() || now + pause >= window.end {
                return Ok(confirmation.pending);
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
        pending = [confirmation.pending, confirmation.unlisted].concat();
        pause = (pause * 2).min(LONGEST_POLL.max(settings.poll_interval));
    }
}

/// When the work must stop: `REPORT_MARGIN` before the deadline, so a status can still be reported.
pub fn work_deadline(deadline: Instant) -> Instant {
    deadline.checked_sub(REPORT_MARGIN).unwrap_or(deadline)
}

/// Runs `work` as its own task so a panic anywhere in it is caught, and stops it at
/// `work_deadline`, naming the AWS calls it stopped and why they were still being retried.
pub async fn guard<F>(work: F, work_deadline: Instant) -> Result<Repair, RunError>
where
    F: Future<Output = Result<Repair, RunError>> + Send + 'static,
{
    let calls = CallLog::default();
    let mut task = tokio::spawn(calls.watch(work));
    match tokio::time::timeout_at(work_deadline, &mut task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) if join.is_panic() => Err(RunError::Panic(panic_message(join.into_panic()))),
        Ok(Err(join)) => Err(RunError::Panic(format!(
            "work task ended abnormally: {join}"
        ))),
        Err(_) => {
            task.abort();
            Err(RunError::Deadline {
                still_retried: calls.still_retried(),
            })
        }
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-string payload".to_owned())
}

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
        let (clients, id, settings, progress) = (
            clients.clone(),
            trigger.deployment_id.clone(),
            settings.clone(),
            progress.clone(),
        );
        let expect_reroute = matches!(trigger.source, Source::LifecycleHook | Source::Direct);
        async move {
            repair(
                &clients,
                &id,
                expect_reroute,
                &settings,
                work_deadline,
                &progress,
            )
            .await
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
    F: Future<Output = Result<Repair, RunError>> + Send + 'static,
{
    let result = guard(work, work_deadline(deadline)).await;
    let mut outcome = outcome_of(trigger, result, progress);
    if let Some(execution_id) = &trigger.hook_execution_id {
        report_hook(clients, trigger, execution_id, &mut outcome, deadline).await;
    }
    outcome.log();
    outcome
}

fn outcome_of(trigger: &Trigger, result: Result<Repair, RunError>, progress: &Progress) -> Outcome {
    let attached = progress.attached();
    let id = Some(trigger.deployment_id.clone());
    match result {
        Ok(Repair::Skipped(skip)) => {
            let mut o = Outcome::new(trigger.source, id, OutcomeKind::Skipped);
            o.reason = Some(skip.to_string());
            o
        }
        Ok(Repair::Waiting(waiting)) => {
            let mut o = Outcome::new(trigger.source, id, OutcomeKind::Waiting);
            o.reason = Some(waiting.to_string());
            o.auto_scaling_groups = waiting.replacement_groups;
            o
        }
        Ok(Repair::Planned {
            plans,
            unregistered,
        }) => {
            let mut o = Outcome::new(trigger.source, id, OutcomeKind::Planned);
            o.auto_scaling_groups = plans.iter().map(|p| p.auto_scaling_group.clone()).collect();
            o.plan = plans;
            if !unregistered.is_empty() {
                o.reason = Some(format!("would register {}", describe(&unregistered)));
            }
            o
        }
        Ok(Repair::Done {
            groups,
            pending,
            registration_pending,
            not_registered,
        }) => {
            let kind = if attached.target_group_arns.is_empty()
                && attached.load_balancer_names.is_empty()
            {
                OutcomeKind::AlreadyAttached
            } else {
                OutcomeKind::Attached
            };
            let mut o = Outcome::new(trigger.source, id, kind);
            o.auto_scaling_groups = groups;
            o.attached = attached;
            o.registered = progress.registered();
            let mut reasons = Vec::new();
            if !pending.is_empty() {
                reasons.push(format!(
                    "attached; still Adding when the confirm window closed: {}",
                    pending.join(", ")
                ));
            }
            if !o.registered.is_empty() {
                reasons.push(format!("registered {}", describe(&o.registered)));
            }
            if let Some(reason) = not_registered {
                reasons.push(format!("registration not checked: {reason}"));
            }
            if !registration_pending.is_empty() {
                reasons.push(format!(
                    "registration not checked with {}: Auto Scaling is still Adding them to the group (it registers the group's instances itself)",
                    registration_pending.join(", ")
                ));
            }
            o.reason = (!reasons.is_empty()).then(|| reasons.join("; "));
            let mut pending = pending;
            for source in registration_pending {
                if !pending.contains(&source) {
                    pending.push(source);
                }
            }
            o.pending = pending;
            o
        }
        Err(error) => {
            let mut o = Outcome::new(trigger.source, id, OutcomeKind::Failed);
            // What went on before the failure stays on: say so.
            o.attached = attached;
            o.registered = progress.registered();
            // A deadline or a panic names no group itself: the work had found them.
            o.auto_scaling_groups = match error.groups() {
                groups if groups.is_empty() => progress.replacement_groups(),
                groups => groups,
            };
            o.error_code = error.code().map(str::to_owned);
            o.reason = Some(error.to_string());
            o
        }
    }
}

/// Registrations as a reason says them: `i-1, i-2 with target group arn:...; ...`.
fn describe(registrations: &[Registration]) -> String {
    registrations
        .iter()
        .map(|r| format!("{} with {}", r.instance_ids.join(", "), r.traffic_source))
        .collect::<Vec<_>>()
        .join("; ")
}

/// How long before the deadline a status report still being retried is given up.
const REPORT_SLACK: Duration = Duration::from_millis(500);

/// `hookStatus` when CodeDeploy had already completed the hook execution.
pub const ALREADY_COMPLETED: &str = "AlreadyCompleted";

async fn report_hook(
    clients: &Clients,
    trigger: &Trigger,
    execution_id: &str,
    outcome: &mut Outcome,
    deadline: Instant,
) {
    let succeeded = !outcome.failed();
    let status = if succeeded { "Succeeded" } else { "Failed" };
    let call = aws::codedeploy::put_hook_status(
        clients.codedeploy(),
        &trigger.deployment_id,
        execution_id,
        succeeded,
    );
    // The report retries like every call, until just before the deadline: the answer (and, for
    // a status that could not be reported, the function error) must still leave in time.
    let cut_off = deadline.checked_sub(REPORT_SLACK).unwrap_or(deadline);
    let calls = CallLog::default();
    match tokio::time::timeout_at(cut_off, calls.watch(call)).await {
        Ok(Ok(aws::codedeploy::HookReport::Accepted)) => outcome.hook_status = Some(status),
        Ok(Ok(aws::codedeploy::HookReport::AlreadyCompleted)) => {
            // An earlier invocation's status stands; this one's was not recorded, so it is not
            // claimed. Not a failure: a retry would only be refused again.
            tracing::info!(
                deployment_id = trigger.deployment_id,
                not_recorded = status,
                "hook execution was already completed (a retried invocation); not a failure"
            );
            outcome.hook_status = Some(ALREADY_COMPLETED);
        }
        Ok(Err(error)) => {
            let what = if error.code == "DeploymentDoesNotExistException" {
                format!(
                    "CodeDeploy refused the {status} status: deployment {} does not exist",
                    trigger.deployment_id
                )
            } else {
                format!(
                    "could not report {status} to CodeDeploy for deployment {}: {error}",
                    trigger.deployment_id
                )
            };
            mark_report_failure(outcome, what, Some(error.code));
        }
        Err(_) => mark_report_failure(
            outcome,
            format!(
                "could not report {status} to CodeDeploy before the deadline{}",
                describe_still_retried(&calls.still_retried())
            ),
            None,
        ),
    }
}

fn mark_report_failure(outcome: &mut Outcome, what: String, code: Option<String>) {
    outcome.reason = Some(match outcome.reason.take() {
        Some(previous) => format!("{what}; the work itself: {previous}"),
        None => what,
    });
    outcome.outcome = OutcomeKind::Failed;
    if code.is_some() {
        outcome.error_code = code;
    }
}

/// Decodes one event and runs every trigger in it. An invalid event makes no AWS call.
pub async fn handle_event(
    clients: &Clients,
    payload: serde_json::Value,
    deadline: Instant,
    settings: &Settings,
) -> Result<Vec<Outcome>, EventError> {
    let decoded = event::decode(payload)?;
    Ok(handle_decoded(
        decoded,
        || std::future::ready(clients.clone()),
        deadline,
        settings,
    )
    .await)
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
    o.log();
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws_error(code: &str, message: &str) -> AwsError {
        AwsError {
            action: "autoscaling:AttachTrafficSources",
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }

    #[test]
    fn a_refused_attach_is_the_sources_unless_the_group_is_gone_or_it_is_no_refusal() {
        let refused = aws_error(
            "ValidationError",
            "Provided Traffic Sources may not be valid.",
        );
        assert_eq!(refused_sources("g", refused.clone()), Ok(refused));
        assert_eq!(
            refused_sources(
                "g",
                aws_error(
                    "ValidationError",
                    "AutoScalingGroup name not found - AutoScalingGroup g not found"
                )
            ),
            Err(RunError::MissingGroups {
                groups: vec!["g".into()]
            })
        );
        let throttled = aws_error("Throttling", "Rate exceeded");
        assert_eq!(
            refused_sources("g", throttled.clone()),
            Err(RunError::Aws {
                groups: vec!["g".into()],
                source: throttled
            })
        );
    }

    #[test]
    fn user_seconds_clamp_instead_of_failing() {
        assert_eq!(seconds(1.5), Duration::from_millis(1500));
        assert_eq!(seconds(-3.0), Duration::ZERO);
        assert_eq!(seconds(f64::NAN), Duration::ZERO);
        assert_eq!(seconds(f64::INFINITY), LONGEST);
        assert_eq!(seconds(1e300), LONGEST);
        // Whatever a user gives, adding it to now cannot overflow.
        let _ = Instant::now() + seconds(f64::MAX);
    }

    #[test]
    fn command_line_seconds_are_finite_and_in_range() {
        assert_eq!(parse_seconds("2.5"), Ok(2.5));
        assert_eq!(parse_seconds("0"), Ok(0.0));
        for bad in ["inf", "-inf", "NaN", "-1", "1e300", "604801", "soon"] {
            let err = parse_seconds(bad).unwrap_err();
            assert!(err.contains("seconds"), "{bad}: {err}");
        }
    }

    #[test]
    fn work_stops_the_report_margin_before_the_deadline() {
        let deadline = Instant::now() + Duration::from_secs(10);
        assert_eq!(work_deadline(deadline), deadline - REPORT_MARGIN);
    }
}
