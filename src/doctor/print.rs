//! The checklist as a person reads it (a line per check, grouped by topic, wrapped to fit a
//! terminal) or as JSON.

use super::checks::{Check, Status, Topic, Verdict};

/// Columns the text fits in.
const WIDTH: usize = 100;
/// The status column: `problem` and two spaces.
const STATUS_WIDTH: usize = 9;

/// The checklist as text: a heading per topic, then `status  finding`, a problem's fix below it.
pub fn text(title: &str, checks: &[Check], exit: u8) -> String {
    let mut out = format!("{title}\n");
    let mut topic: Option<Topic> = None;
    for check in checks {
        if topic != Some(check.topic) {
            topic = Some(check.topic);
            out.push_str(&format!("\n{}\n", check.topic.title()));
        }
        let status = match check.status {
            Status::Ok => "ok",
            Status::Info => "info",
            Status::Unknown => "unknown",
            Status::Problem => "problem",
        };
        let indent = 2 + STATUS_WIDTH;
        out.push_str(&wrap(
            &format!("  {status:<STATUS_WIDTH$}"),
            &check.finding,
            indent,
        ));
        if let Some(fix) = &check.fix {
            out.push_str(&wrap(
                &" ".repeat(indent),
                &format!("fix: {fix}"),
                indent + 5,
            ));
        }
    }
    let count = |status: Status| checks.iter().filter(|c| c.status == status).count();
    let verdict = match super::checks::verdict(checks) {
        Verdict::Ready => "ready",
        Verdict::NotReady => "not ready: fix the problems",
        Verdict::Unchecked => "could not check everything",
    };
    out.push_str(&format!(
        "\n{} ok, {} problem(s), {} unknown, {} info: {verdict} (exit {exit})\n",
        count(Status::Ok),
        count(Status::Problem),
        count(Status::Unknown),
        count(Status::Info)
    ));
    out
}

/// The checklist as one JSON document.
pub fn json(application: &str, deployment_group: &str, checks: &[Check], exit: u8) -> String {
    serde_json::json!({
        "applicationName": application,
        "deploymentGroupName": deployment_group,
        "checks": checks,
        "exitCode": exit,
    })
    .to_string()
}

/// `first` then `text` word-wrapped to `WIDTH`, later lines indented by `indent`. A word longer
/// than a line (an ARN) is never broken, so it stays whole for copying.
fn wrap(first: &str, text: &str, indent: usize) -> String {
    let mut out = String::new();
    let mut current = first.to_owned();
    let mut empty = true;
    for word in text.split(' ') {
        if !empty && current.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(current.trim_end());
            out.push('\n');
            current = " ".repeat(indent);
            empty = true;
        }
        if !empty {
            current.push(' ');
        }
        current.push_str(word);
        empty = false;
    }
    out.push_str(current.trim_end());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fit_the_width_and_a_problem_shows_its_fix() {
        let checks = vec![
            Check {
                topic: Topic::DeploymentGroup,
                status: Status::Ok,
                finding: "web/dg exists".into(),
                fix: None,
            },
            Check {
                topic: Topic::Permissions,
                status: Status::Problem,
                finding: "the function's role arn:aws:iam::123456789012:role/a-rather-long-role-name-for-the-hook may not call codedeploy:ListDeploymentTargets on * (implicitDeny)".into(),
                fix: Some("grant it in a statement on \"*\"".into()),
            },
        ];
        let text = text("doctor", &checks, 3);
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert!(
            text.contains("\ndeployment group\n  ok       web/dg exists\n"),
            "{text}"
        );
        assert!(text.contains("  problem  the function's role"), "{text}");
        assert!(text.contains("           fix: grant it"), "{text}");
        assert!(
            text.ends_with(
                "1 ok, 1 problem(s), 0 unknown, 0 info: not ready: fix the problems (exit 3)\n"
            ),
            "{text}"
        );
    }
}
