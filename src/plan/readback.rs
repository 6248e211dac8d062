//! What a read-back shows of the attachments: on the group, still `Adding`, not listed yet, or leaving.

use super::groups::GroupPlan;

/// One attachment as Auto Scaling reports it (DescribeTrafficSources, which lists every traffic
/// source of the group, however it was attached).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Target group ARN or classic load balancer name.
    pub source: String,
    /// `Adding`, `Added`, `InService`, `Removing`, `Removed`.
    pub state: String,
}

/// What a read-back shows about one group's desired traffic sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confirmation {
    /// Desired sources on their way off the group (`Removing`, `Removed`): a failure.
    pub absent: Vec<String>,
    /// Sources this run attached that the read-back does not list yet. AWS documents no
    /// read-after-write consistency for DescribeTrafficSources, so they are read again until the
    /// confirm window closes; only then are they a failure.
    pub unlisted: Vec<String>,
    /// Attached, still `Adding`: the group already registers through them.
    pub pending: Vec<String>,
}

/// Checks every desired source of a plan against what Auto Scaling reports now. A source the
/// group already had before the run (DescribeAutoScalingGroups listed it) counts as present when
/// the read-back leaves it out; one this run attached must be listed.
pub fn confirm(plan: &GroupPlan, observed: &[Attachment]) -> Confirmation {
    let mut confirmation = Confirmation::default();
    for source in plan
        .target_group_arns
        .iter()
        .chain(&plan.load_balancer_names)
    {
        let attached_now = plan.missing_target_group_arns.contains(source)
            || plan.missing_load_balancer_names.contains(source);
        match observed.iter().find(|a| &a.source == source) {
            Some(a) if a.state == "Adding" => confirmation.pending.push(source.clone()),
            Some(a) if a.is_done() => {}
            Some(_) => confirmation.absent.push(source.clone()),
            None if attached_now => confirmation.unlisted.push(source.clone()),
            None => {}
        }
    }
    confirmation
}

impl Attachment {
    /// Auto Scaling is done attaching it (`Added`, or `InService` once the group's instances
    /// passed its health checks): it has registered the group's instances with the source.
    pub(super) fn is_done(&self) -> bool {
        self.state == "Added" || self.state == "InService"
    }
}
