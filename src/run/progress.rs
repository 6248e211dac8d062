//! What a run has done so far (its groups, what it attached and registered), kept where a failure,
//! the deadline or a panic still reports it.

use std::sync::{Arc, Mutex};

use crate::plan::{Registration, TrafficSource};
use crate::report::Attached;

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

    pub(super) fn groups(&self, groups: &[String]) {
        self.known().groups = groups.to_vec();
    }

    pub(super) fn record(&self, batch: &[TrafficSource]) {
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

    pub(super) fn record_registration(&self, registration: &Registration) {
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
