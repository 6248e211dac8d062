//! The outcome of one trigger: its JSON, its log line, and what it means for exit codes and Lambda.

use serde::Serialize;

use crate::event::Source;
use crate::plan::{GroupPlan, Registration};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeKind {
    /// Something was missing and is now attached.
    Attached,
    /// Every traffic source was already on the replacement group(s): nothing done.
    AlreadyAttached,
    /// The deployment is not one we repair, or its group is not the live fleet: nothing done, a success.
    Skipped,
    /// The deployment is `InProgress` and replacement instances are still to be rerouted: nothing
    /// done, a success (the instance that completes the reroute attaches).
    Waiting,
    /// The event is not a signal to act (a READY notification, an instance event): no AWS call.
    Ignored,
    /// `--dry-run`: what would be attached; nothing changed.
    Planned,
    Failed,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attached {
    pub target_group_arns: Vec<String>,
    pub load_balancer_names: Vec<String>,
}

/// One trigger's result, printed by `handle` as one JSON object and returned to Lambda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub deployment_id: Option<String>,
    pub source: Source,
    pub outcome: OutcomeKind,
    pub auto_scaling_groups: Vec<String>,
    pub attached: Attached,
    /// After a success: the live fleet's `InService` instances registered with the sources
    /// that lacked them.
    pub registered: Vec<Registration>,
    /// Attached but still `Adding` when the confirm window closed.
    pub pending: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<GroupPlan>,
    /// The status CodeDeploy recorded from this run for a lifecycle hook (`Succeeded` or
    /// `Failed`), or `AlreadyCompleted` when an earlier invocation had completed it.
    pub hook_status: Option<&'static str>,
    pub reason: Option<String>,
    /// AWS's error code when a call failed (`AccessDenied`, `Throttling`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The outcome in one line a person reads (`summary()`), set when the run finishes: the
    /// appspec script prints it last, where the CodeDeploy console shows it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub summary: String,
}

/// The most bytes of a summary. The CodeDeploy agent keeps, for the console and the API's
/// `logTail`, only the newest lines of a script's output that add up to under 2,048 characters
/// (each with a prefix of its own), and nothing at all when the last line alone is longer (the
/// Ruby agent's `ScriptLog#append_to_log`, read in its source; docs/design.md). The
/// script's last line is `codedeploy-tg-hook FAILED: ` and this, at most 1,000 bytes in all.
pub const SUMMARY_MOST: usize = 960;

impl Outcome {
    pub fn new(source: Source, deployment_id: Option<String>, outcome: OutcomeKind) -> Self {
        Outcome {
            deployment_id,
            source,
            outcome,
            auto_scaling_groups: Vec::new(),
            attached: Attached::default(),
            registered: Vec::new(),
            pending: Vec::new(),
            plan: Vec::new(),
            hook_status: None,
            reason: None,
            error_code: None,
            summary: String::new(),
        }
    }

    pub fn failed(&self) -> bool {
        self.outcome == OutcomeKind::Failed
    }

    /// What happened, in words, whole: the outcome, the replacement group(s), the reason.
    pub fn headline(&self) -> String {
        let groups = self.auto_scaling_groups.join(", ");
        let on = |word: &str| match groups.as_str() {
            "" => word.to_owned(),
            groups => format!("{word} ({groups})"),
        };
        let what = match self.outcome {
            OutcomeKind::Attached => {
                let (tgs, lbs) = (
                    self.attached.target_group_arns.len(),
                    self.attached.load_balancer_names.len(),
                );
                let mut parts = Vec::new();
                if tgs > 0 {
                    parts.push(counted(tgs, "target group"));
                }
                if lbs > 0 {
                    parts.push(counted(lbs, "classic load balancer"));
                }
                format!("attached {} to {groups}", parts.join(" and "))
            }
            OutcomeKind::AlreadyAttached => format!(
                "already attached: {groups} has every target group and classic load balancer of its deployment group"
            ),
            OutcomeKind::Planned => on("planned (dry run, nothing changed)"),
            kind => on(&wire_name(&kind)),
        };
        match &self.reason {
            Some(reason) => format!("{what}: {reason}"),
            None => what,
        }
    }

    /// `headline`, on one line and cut to `SUMMARY_MOST` bytes (at a character, with `...`).
    pub fn summary(&self) -> String {
        one_line(&self.headline(), SUMMARY_MOST)
    }

    /// Whether Lambda should see a function error. A lifecycle hook whose `Failed` status
    /// CodeDeploy accepted is not one: the deployment already knows, and a Lambda retry
    /// would only report again. Without an accepted status, the error lets Lambda retry.
    pub fn is_function_error(&self) -> bool {
        self.failed() && !(self.source == Source::LifecycleHook && self.hook_status.is_some())
    }

    /// Ends the run: its summary set, its one structured line and metrics document logged.
    pub fn finish(&mut self) {
        self.summary = self.summary();
        self.log();
    }

    /// The one structured line every run ends with, and its metrics document.
    fn log(&self) {
        crate::metrics::emit(|| {
            let figures = crate::metrics::RunFigures {
                outcome: &wire_name(&self.outcome),
                source: &wire_name(&self.source),
                deployment_id: self.deployment_id.as_deref(),
                traffic_sources_attached: self.attached.target_group_arns.len()
                    + self.attached.load_balancer_names.len(),
                instances_registered: self.registered.iter().map(|r| r.instance_ids.len()).sum(),
            };
            crate::metrics::run_document(&figures, crate::metrics::now_ms())
        });
        let outcome = wire_name(&self.outcome);
        let deployment_id = self.deployment_id.as_deref().unwrap_or("");
        // A JSON list: Auto Scaling group names may contain commas.
        let groups = serde_json::to_string(&self.auto_scaling_groups).unwrap_or_default();
        let target_groups = self.attached.target_group_arns.join(",");
        let load_balancers = self.attached.load_balancer_names.join(",");
        let pending = self.pending.join(",");
        let registered = serde_json::to_string(&self.registered).unwrap_or_default();
        let reason = self.reason.as_deref().unwrap_or("");
        let hook_status = self.hook_status.unwrap_or("");
        let error_code = self.error_code.as_deref().unwrap_or("");
        let source = wire_name(&self.source);
        if self.failed() {
            tracing::error!(
                deployment_id,
                source,
                auto_scaling_groups = groups,
                attached_target_groups = target_groups,
                attached_load_balancers = load_balancers,
                registered,
                pending,
                outcome,
                hook_status,
                error_code,
                reason,
                "run finished"
            );
        } else {
            tracing::info!(
                deployment_id,
                source,
                auto_scaling_groups = groups,
                attached_target_groups = target_groups,
                attached_load_balancers = load_balancers,
                registered,
                pending,
                outcome,
                hook_status,
                reason,
                "run finished"
            );
        }
    }
}

fn counted(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `text` with its line breaks and other control characters as spaces, cut to at most `most`
/// bytes at a character boundary, `...` marking the cut.
pub fn one_line(text: &str, most: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.len() <= most {
        return flat;
    }
    let mut end = most.saturating_sub(3);
    while !flat.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", flat[..end].trim_end())
}

/// The name a unit enum has in our JSON (`already-attached`, `lifecycle-hook`, ...), for log
/// fields and tables, so each name is spelled once, in its serde attribute.
pub fn wire_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => "?".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_the_json_spellings() {
        assert_eq!(wire_name(&OutcomeKind::AlreadyAttached), "already-attached");
        assert_eq!(wire_name(&Source::SnsTrigger), "sns-trigger");
    }

    #[test]
    fn outcome_json_uses_the_documented_field_names() {
        let mut o = Outcome::new(
            Source::LifecycleHook,
            Some("d-1".into()),
            OutcomeKind::AlreadyAttached,
        );
        o.hook_status = Some("Succeeded");
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["deploymentId"], "d-1");
        assert_eq!(v["outcome"], "already-attached");
        assert_eq!(v["source"], "lifecycle-hook");
        assert_eq!(v["hookStatus"], "Succeeded");
        assert!(v["attached"]["targetGroupArns"].is_array());
        assert!(v["attached"]["loadBalancerNames"].is_array());
        assert!(v["pending"].is_array());
        assert!(v.get("plan").is_none());
    }

    #[test]
    fn the_summary_says_what_happened_in_words_and_fits_the_consoles_tail() {
        let mut o = Outcome::new(Source::Direct, Some("d-1".into()), OutcomeKind::Attached);
        o.auto_scaling_groups = vec!["CodeDeploy_dg_d-1".into()];
        o.attached.target_group_arns = vec!["arn:a".into(), "arn:b".into()];
        o.attached.load_balancer_names = vec!["clb".into()];
        assert_eq!(
            o.summary(),
            "attached 2 target groups and 1 classic load balancer to CodeDeploy_dg_d-1"
        );
        o.outcome = OutcomeKind::Waiting;
        o.reason = Some("1 of 2 replacement instances are still to be rerouted".into());
        assert_eq!(
            o.summary(),
            "waiting (CodeDeploy_dg_d-1): 1 of 2 replacement instances are still to be rerouted"
        );
        o.outcome = OutcomeKind::Skipped;
        o.auto_scaling_groups.clear();
        o.reason = Some("a rollback\nof d-0".into());
        assert_eq!(o.summary(), "skipped: a rollback of d-0");
        o.outcome = OutcomeKind::AlreadyAttached;
        o.reason = None;
        o.auto_scaling_groups = vec!["G".into()];
        assert!(o.summary().starts_with("already attached: G has every"));

        // A long reason, in characters of several bytes: cut inside the limit, at a character.
        o.outcome = OutcomeKind::Failed;
        o.reason = Some("é".repeat(5_000));
        let summary = o.summary();
        assert!(summary.len() <= SUMMARY_MOST, "{}", summary.len());
        assert!(summary.starts_with("failed (G): éé") && summary.ends_with("..."));
        // `finish` keeps it in the JSON.
        o.finish();
        assert_eq!(serde_json::to_value(&o).unwrap()["summary"], summary);
    }

    #[test]
    fn one_line_cuts_at_a_character_and_leaves_short_text_alone() {
        assert_eq!(one_line("a\tb\r\nc", 100), "a b  c");
        assert_eq!(one_line("abcdef", 5), "ab...");
        assert_eq!(one_line("aé", 4), "aé");
        assert_eq!(one_line("aééé", 5), "a...");
    }

    #[test]
    fn reported_hook_failure_is_not_a_function_error_but_unreported_is() {
        let mut o = Outcome::new(
            Source::LifecycleHook,
            Some("d-1".into()),
            OutcomeKind::Failed,
        );
        assert!(o.is_function_error());
        o.hook_status = Some("Failed");
        assert!(!o.is_function_error());
        let direct = Outcome::new(Source::Direct, Some("d-1".into()), OutcomeKind::Failed);
        assert!(direct.is_function_error());
        let skipped = Outcome::new(Source::Direct, Some("d-1".into()), OutcomeKind::Skipped);
        assert!(!skipped.is_function_error());
    }
}
