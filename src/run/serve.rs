//! After a success, the live fleet served: every InService instance registered with each source
//! Auto Scaling is done adding, what is missing registered (never deregistered).

use std::collections::BTreeMap;

use crate::aws::{self, Clients};
use crate::plan::{
    self, GroupPlan, GroupState, RegisteredTarget, Registration, RegistrationGaps, TrafficSource,
    Work,
};

use super::error::RunError;
use super::facts::{describe_replacement_groups, read_moment, Fleets, Listings};
use super::progress::Progress;

/// What each group's `InService` instances lack, merged per source: every source the groups have
/// (`attached: true`, after the plan is carried out) or had already (`false`) is read once,
/// concurrently (through `listings`, once per audit). Only sources Auto Scaling is done adding
/// count; one still `Adding` is pending (`registrable_gaps`).
pub(super) async fn check_registration(
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
pub(super) async fn serve(
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
pub(super) enum Served {
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
pub(super) async fn register(
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
