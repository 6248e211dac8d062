//! The facts a run reads before it acts: the deployment, its moment (the reroute, or the deployment
//! group's fleet), the target groups' ARNs and the replacement groups' state; and the caches an
//! audit shares.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use futures_util::future::{select, Either, OptionFuture};
use tokio::sync::OnceCell;

use crate::aws::{self, AwsError, Clients};
use crate::plan::{
    self, DeploymentGroupState, GroupPlan, GroupState, Hold, LastDeployment, Moment, MomentFacts,
    PlanFault, RegisteredTarget, Skip, TrafficSource, Work,
};

use super::error::RunError;
use super::progress::Progress;
use super::{Job, Reads};

/// What a run acts on: the work (narrowed to the live groups), the target groups' ARNs by name,
/// the groups' state, and one plan per group.
pub(super) struct DeploymentFacts {
    pub(super) work: Work,
    pub(super) target_groups: BTreeMap<String, String>,
    pub(super) groups: Vec<GroupState>,
    pub(super) plans: Vec<GroupPlan>,
}

/// What reading the facts comes to: facts to act on, or the run's answer without acting.
pub(super) enum Read {
    Act(DeploymentFacts),
    /// The run ends here, successfully: `Skipped` or `Waiting`.
    Stop(Hold),
}

/// Reads the deployment, judges its moment, and reads what the plan needs: the facts, or what
/// stops the run here (`Skipped`, `Waiting`). A run that is not the one to act makes only the
/// calls that tell it so: for a deployment under way the reroute is judged before the plan's
/// reads (read beside `GetDeployment` when `job.expect_reroute`); for a finished one the fleet is
/// read in the plan's round (a success notification is about to act).
pub(super) async fn read(
    clients: &Clients,
    job: &Job<'_>,
    reads: &Reads,
    progress: &Progress,
) -> Result<Read, RunError> {
    let deployment_id = job.deployment_id;
    // Boxed, so that dropping it (a deployment not under way) stops it and frees its connection.
    let mut early_reroute =
        Box::pin(OptionFuture::from(job.expect_reroute.then(|| {
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
    let mut work = match plan::assess(&deployment) {
        Ok(work) => work,
        Err(skip) => return Ok(Read::Stop(Hold::Skipped(skip))),
    };
    if let Some(listed) = job.listed_group {
        if !work.replacement_groups.contains(&listed.name) {
            return Ok(Read::Stop(Hold::Skipped(Skip::OtherReplacementGroups {
                deployment_id: deployment_id.to_owned(),
                groups: work.replacement_groups,
            })));
        }
        work.replacement_groups = vec![listed.name.clone()];
    }
    progress.groups(&work.replacement_groups);
    let (work, (target_groups, groups)) = match work.moment {
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
                None => read_moment(clients, &work, &reads.fleets).await?,
            };
            let work = match plan::at_moment(work, &facts) {
                Ok(work) => work,
                Err(hold) => return Ok(Read::Stop(hold)),
            };
            let plan_reads = plan_reads(clients, &work, job.listed_group).await;
            (work, plan_reads)
        }
        Moment::LiveFleet => {
            drop(early_reroute);
            let judged = async {
                let facts = read_moment(clients, &work, &reads.fleets)
                    .await
                    .map_err(MomentStop::Failed)?;
                plan::at_moment(work.clone(), &facts).map_err(MomentStop::Hold)
            };
            let plan_reads = async { Ok(plan_reads(clients, &work, job.listed_group).await) };
            match tokio::try_join!(judged, plan_reads) {
                Ok(both) => both,
                Err(MomentStop::Hold(hold)) => return Ok(Read::Stop(hold)),
                Err(MomentStop::Failed(error)) => return Err(error),
            }
        }
    };
    // Narrowed to the live groups, for a failure from here on.
    progress.groups(&work.replacement_groups);
    // A group read's failure names the groups: it goes first.
    let groups = groups?;
    let target_groups = target_groups?;
    let plans = plan_groups(&work, &target_groups, &groups)?;
    Ok(Read::Act(DeploymentFacts {
        work,
        target_groups,
        groups,
        plans,
    }))
}

/// Why a judged moment stops the run: it holds, or its facts could not be read.
enum MomentStop {
    Hold(Hold),
    Failed(RunError),
}

/// The plan's two reads, together: the target groups' ARNs and the replacement groups' state
/// (not read again for a group the audit already described).
async fn plan_reads(
    clients: &Clients,
    work: &Work,
    listed_group: Option<&GroupState>,
) -> (
    Result<BTreeMap<String, String>, RunError>,
    Result<Vec<GroupState>, RunError>,
) {
    let groups = async {
        match listed_group {
            Some(group) => Ok(vec![group.clone()]),
            None => describe_replacement_groups(clients, work).await,
        }
    };
    tokio::join!(resolve_target_groups(clients, work), groups)
}

/// DescribeAutoScalingGroups of the work's replacement groups; a failure names them.
pub(super) async fn describe_replacement_groups(
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
pub(super) async fn fetch_deployment(
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
pub(super) struct ReadOnce<K, V>(Arc<Mutex<HashMap<K, Arc<OnceCell<V>>>>>);

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
    pub(super) async fn get<F, Fut, E>(&self, key: K, read: F) -> Result<V, E>
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
pub(super) type Fleets = ReadOnce<(String, String), DeploymentGroupState>;

/// What each traffic source lists as registered.
pub(super) type Listings = ReadOnce<TrafficSource, Vec<RegisteredTarget>>;

/// What the deployment's moment is judged on: for `InProgress`, its replacement instance
/// targets; for `Baking`/`Succeeded`, its deployment group's fleet.
pub(super) async fn read_moment(
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

/// GetDeploymentGroup, and beside it the deployment group's active deployments
/// (ListDeployments) with their creators (GetDeployment each, usually none): a deployment that
/// replaces the fleet takes it out of play, one CodeDeploy started itself for new instances
/// does not (`plan::at_moment`). The same for every caller (the audit shares it per deployment
/// group), so nothing here depends on the run's own deployment.
async fn deployment_group_state(
    clients: &Clients,
    work: &Work,
) -> Result<DeploymentGroupState, AwsError> {
    let codedeploy = clients.codedeploy();
    let (app, group) = (&work.application_name, &work.deployment_group_name);
    let (mut state, active) = tokio::try_join!(
        aws::codedeploy::deployment_group_state(codedeploy, app, group),
        aws::codedeploy::active_deployments(codedeploy, app, group)
    )?;
    state.active = futures_util::future::try_join_all(active.iter().map(|id| async move {
        let deployment = aws::codedeploy::get_deployment(codedeploy, id).await?;
        Ok::<_, AwsError>(LastDeployment {
            id: deployment.id,
            status: deployment.status,
            // Not reported reads as "replaces the fleet" (`plan::replaces_fleet`).
            creator: Some(deployment.creator.unwrap_or_default()),
        })
    }))
    .await?;
    Ok(state)
}

/// The deployment group's target group names as ARNs; a failure names the names and the groups.
pub(super) async fn resolve_target_groups(
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
pub(super) fn plan_groups(
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
