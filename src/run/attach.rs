//! Attach what the plan lacks, in AttachTrafficSources calls of at most ten, and name what Auto
//! Scaling refuses.

use crate::aws::{self, AwsError, Clients};
use crate::plan::{GroupPlan, TrafficSource};

use super::error::{list, RunError};
use super::progress::Progress;

/// Target groups and classic load balancers go on together, in AttachTrafficSources calls
/// within the per-call limit, one after the other; each source Auto Scaling accepted is recorded
/// in `progress` at once. A call Auto Scaling refuses (`ValidationError`: a classic load balancer
/// that no longer exists, say) is made again one source at a time, so one refused source keeps
/// none of the others off the group, and the failure names only the refused ones.
pub(super) async fn attach(
    clients: &Clients,
    group_plan: &GroupPlan,
    progress: &Progress,
) -> Result<(), RunError> {
    let group = group_plan.auto_scaling_group.as_str();
    let mut rejected: Vec<TrafficSource> = Vec::new();
    let mut first_refusal: Option<AwsError> = None;
    for batch in group_plan.attach_batches() {
        let Attached::Refused(refusal) =
            try_attach(clients, group, &batch, progress, &rejected).await?
        else {
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
            if let Attached::Refused(refusal) =
                try_attach(clients, group, one, progress, &rejected).await?
            {
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

/// What one AttachTrafficSources call came to, short of a failure of the run.
enum Attached {
    /// Auto Scaling took the sources (recorded in the run's `Progress`).
    Taken,
    /// Auto Scaling refused them (`ValidationError`): its error.
    Refused(AwsError),
}

/// One AttachTrafficSources call: taken, refused, or the run's error for any other failure
/// (logging the sources `rejected` before it, which that error does not name).
async fn try_attach(
    clients: &Clients,
    group: &str,
    sources: &[TrafficSource],
    progress: &Progress,
    rejected: &[TrafficSource],
) -> Result<Attached, RunError> {
    let Err(error) =
        aws::autoscaling::attach_traffic_sources(clients.autoscaling(), group, sources).await
    else {
        progress.record(sources);
        return Ok(Attached::Taken);
    };
    let refusal = refused_sources(group, error);
    if refusal.is_err() && !rejected.is_empty() {
        tracing::error!(
            auto_scaling_group = group,
            refused = list(rejected),
            "Auto Scaling refused these sources before the attach failed otherwise"
        );
    }
    refusal.map(Attached::Refused)
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
}
