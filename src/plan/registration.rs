//! After a success: which `InService` instances each traffic source lacks, and which of those are ours to register.

use std::collections::BTreeMap;

use super::groups::{GroupState, TrafficSource};
use super::readback::Attachment;

/// One instance a traffic source lists (`DescribeTargetHealth`, `DescribeInstanceHealth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredTarget {
    pub instance_id: String,
    /// `initial`, `healthy`, `unhealthy`, `unused`, `draining`, ... (classic: `InService`,
    /// `OutOfService`, `Unknown`).
    pub state: String,
}

impl RegisteredTarget {
    /// Listed, in any state but `draining` or `unhealthy.draining` (on its way out).
    fn is_registered(&self) -> bool {
        self.state != "draining" && self.state != "unhealthy.draining"
    }
}

/// Instances of one traffic source: the ones it lacks (a check) or the ones registered (a repair).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    #[serde(flatten)]
    pub traffic_source: TrafficSource,
    pub instance_ids: Vec<String>,
}

/// The group's `InService`, `Healthy` instances that each source does not list, or lists as
/// `draining`; sources that lack none are left out. Instances in any other lifecycle state (or
/// unhealthy, about to be replaced) are never expected behind the load balancer. `registered`
/// maps each source to what it lists now.
pub fn unregistered(
    group: &GroupState,
    sources: &[TrafficSource],
    registered: &BTreeMap<TrafficSource, Vec<RegisteredTarget>>,
) -> Vec<Registration> {
    let in_service: Vec<&str> = group
        .instances
        .iter()
        .filter(|i| i.is_serving())
        .map(|i| i.instance_id.as_str())
        .collect();
    sources
        .iter()
        .filter_map(|source| {
            let listed = registered.get(source).map_or(&[][..], Vec::as_slice);
            let instance_ids: Vec<String> = in_service
                .iter()
                .filter(|id| {
                    !listed
                        .iter()
                        .any(|t| t.instance_id == **id && t.is_registered())
                })
                .map(|id| (*id).to_owned())
                .collect();
            (!instance_ids.is_empty()).then(|| Registration {
                traffic_source: source.clone(),
                instance_ids,
            })
        })
        .collect()
}

/// Registration gaps split by where Auto Scaling stands with each source: a source it is still
/// `Adding` to the group is registering the group's instances itself (pending); a source it is
/// done with (`Added`, `InService`) and that still lacks instances is ours to register. A source
/// the read-back does not list yet is pending too; one on its way off (`Removing`, `Removed`)
/// is neither: nothing is registered with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrationGaps {
    pub to_register: Vec<Registration>,
    /// Sources (target group ARN or load balancer name) still `Adding`.
    pub pending: Vec<String>,
}

/// `gaps` of one group, against that group's read-back (`DescribeTrafficSources`).
pub fn registrable(gaps: Vec<Registration>, observed: &[Attachment]) -> RegistrationGaps {
    let mut split = RegistrationGaps::default();
    for gap in gaps {
        let identifier = gap.traffic_source.identifier_and_type().0.to_owned();
        match observed.iter().find(|a| a.source == identifier) {
            Some(a) if a.is_done() => split.to_register.push(gap),
            // Not listed yet (no read-after-write consistency is documented) counts as Adding.
            None => split.pending.push(identifier),
            Some(a) if a.state == "Adding" => split.pending.push(identifier),
            Some(_) => {}
        }
    }
    split
}

/// Several groups' gaps as one registration per source (each source's instances once, in order).
pub fn merge_registrations(gaps: impl IntoIterator<Item = Registration>) -> Vec<Registration> {
    let mut merged: Vec<Registration> = Vec::new();
    for gap in gaps {
        match merged
            .iter_mut()
            .find(|m| m.traffic_source == gap.traffic_source)
        {
            Some(m) => {
                for id in gap.instance_ids {
                    if !m.instance_ids.contains(&id) {
                        m.instance_ids.push(id);
                    }
                }
            }
            None => merged.push(gap),
        }
    }
    merged
}
