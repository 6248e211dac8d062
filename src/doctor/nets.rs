//! `doctor`'s report of the safety nets: what else would catch a group the hook left without its
//! load balancers. Reported only, never a problem (no I/O).

use super::checks::{
    bare_function_name, line, AuditFunctionRead, Check, Facts, Status, Topic, AUDIT_FUNCTION_SUFFIX,
};

pub(super) fn safety_nets(facts: &Facts, checks: &mut Vec<Check>) {
    let topic = Topic::SafetyNets;
    let info = |finding: String| line(topic, Status::Info, finding);
    let invokers = match &facts.invokers {
        Some(Ok(invokers)) => Some(invokers),
        Some(Err(e)) => {
            checks.push(info(format!(
                "could not read who may invoke the function: {e}"
            )));
            None
        }
        None => None,
    };
    if let Some(setup) = facts.setup.found() {
        if setup.success_trigger_topics.is_empty() {
            checks.push(info("no DeploymentSuccess trigger (optional: the stack's DeploymentTopicArn subscribes the function to one)".to_owned()));
        }
        for topic_arn in &setup.success_trigger_topics {
            let reaches = invokers.is_some_and(|invokers| {
                invokers.iter().any(|i| {
                    i.service == "sns.amazonaws.com"
                        && i.source_arn.as_deref().is_none_or(|s| s == topic_arn)
                })
            });
            checks.push(info(if reaches {
                format!("a DeploymentSuccess trigger publishes to {topic_arn}, which may invoke the function")
            } else {
                format!("a DeploymentSuccess trigger publishes to {topic_arn}, which the function's policy does not let invoke it (the stack's DeploymentTopicArn would)")
            }));
        }
    }
    if let Some(invokers) = invokers {
        let rules: Vec<&str> = invokers
            .iter()
            .filter(|i| i.service == "events.amazonaws.com")
            .map(|i| i.source_arn.as_deref().unwrap_or("any rule"))
            .collect();
        checks.push(info(if rules.is_empty() {
            "no EventBridge rule may invoke the function (optional: EnableEventBridgeRule=true)"
                .to_owned()
        } else {
            format!(
                "an EventBridge rule may invoke the function on success: {}",
                rules.join(", ")
            )
        }));
    }
    let audit_name = format!(
        "{}{AUDIT_FUNCTION_SUFFIX}",
        bare_function_name(&facts.function_name)
    );
    match &facts.audit_function {
        AuditFunctionRead::NotAsked => {}
        AuditFunctionRead::Unread(e) => checks.push(info(format!(
            "could not read the scheduled audit's function {audit_name}: {e}"
        ))),
        AuditFunctionRead::Missing => checks.push(info(format!(
            "no scheduled audit (no function {audit_name}; optional: the stack's AuditSchedule)"
        ))),
        AuditFunctionRead::Found((audit, invokers)) => {
            let env = |key: &str| audit.environment.get(key).map(String::as_str);
            let schedule: Vec<&str> = invokers
                .iter()
                .filter(|i| i.service == "events.amazonaws.com")
                .filter_map(|i| i.source_arn.as_deref())
                .collect();
            checks.push(info(
                if env("SCHEDULED_AUDIT") == Some("true") && !schedule.is_empty() {
                    format!(
                        "the scheduled audit is on: {audit_name}, {} (AUDIT_FIX={}), on {}",
                        if env("AUDIT_FIX") == Some("true") {
                            "repairing"
                        } else {
                            "reporting"
                        },
                        env("AUDIT_FIX").unwrap_or("false"),
                        schedule.join(", ")
                    )
                } else {
                    format!(
                        "{audit_name} exists, but no schedule invokes it as the scheduled audit"
                    )
                },
            ));
        }
    }
}
