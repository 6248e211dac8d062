//! `doctor`'s checks of the appspec's `AfterAllowTraffic` hook and its script (no I/O).

use super::appspec::HOOK_TIMEOUT_LIMIT;
use super::checks::{bare_function_name, line, problem, AppspecRead, Check, Facts, Status, Topic};

pub(super) fn appspec(facts: &Facts, checks: &mut Vec<Check>) {
    let topic = Topic::Appspec;
    let Some((path, appspec)) = &facts.appspec else {
        return;
    };
    let appspec = match appspec {
        AppspecRead::Unreadable(why) => {
            return checks.push(line(
                topic,
                Status::Unknown,
                format!("{path} cannot be read: {why}"),
            ))
        }
        AppspecRead::Read(Ok(appspec)) => appspec,
        AppspecRead::Read(Err(why)) => {
            return checks.push(problem(
                topic,
                format!("{path}: {why}"),
                "fix the file; appspec-example.yml shows the hook".to_owned(),
            ))
        }
    };
    let function_timeout = match &facts.function {
        Ok(Some(function)) => Some(function.timeout_seconds),
        _ => None,
    };
    let total: u64 = appspec
        .hooks
        .iter()
        .map(|h| u64::from(h.timeout_seconds()))
        .sum();
    if total > u64::from(HOOK_TIMEOUT_LIMIT) {
        checks.push(problem(
            topic,
            format!("the AfterAllowTraffic scripts' timeouts add up to {total} s, above the {HOOK_TIMEOUT_LIMIT} s CodeDeploy allows one lifecycle event"),
            "lower them (appspec-example.yml: 120)".to_owned(),
        ));
    }
    let Some(hook) = appspec
        .hooks
        .iter()
        .find(|h| h.script.as_ref().is_some_and(|s| s.shipped))
    else {
        let (finding, fix) = match appspec.hooks.iter().find(|h| h.script.is_none()) {
            _ if appspec.hooks.is_empty() => (
                format!("{path} has no AfterAllowTraffic hook: nothing attaches the load balancers inside the deployment"),
                "add the AfterAllowTraffic hook from appspec-example.yml".to_owned(),
            ),
            Some(hook) => (
                format!("{path}: AfterAllowTraffic runs {}, which is not in the revision beside the appspec", hook.location),
                "copy infra/hooks/after-allow-traffic.sh there".to_owned(),
            ),
            None => (
                format!(
                    "{path}: no AfterAllowTraffic script is infra/hooks/after-allow-traffic.sh ({})",
                    appspec.hooks.iter().map(|h| h.location.as_str()).collect::<Vec<_>>().join(", ")
                ),
                "run the shipped script from the AfterAllowTraffic hook (appspec-example.yml)".to_owned(),
            ),
        };
        return checks.push(problem(topic, finding, fix));
    };
    let Some(script) = &hook.script else { return };
    let timeout = hook.timeout_seconds();
    let mode = script.mode.as_deref().unwrap_or("lambda");
    if mode != "lambda" && mode != "binary" {
        // The script refuses any other mode, and exits 1 on every instance.
        return checks.push(problem(
            topic,
            format!("{} sets HOOK_MODE={mode}: the script takes lambda or binary, and fails on anything else", hook.location),
            format!("set HOOK_MODE to lambda (invoke the function) or binary (run the binary) in {}", hook.location),
        ));
    }
    let binary = mode == "binary";
    checks.push(line(
        topic,
        Status::Ok,
        format!(
            "AfterAllowTraffic runs {} (HOOK_MODE={}), timeout {timeout} s{}",
            hook.location,
            script.mode.as_deref().unwrap_or("lambda"),
            if hook.timeout.is_none() {
                " (CodeDeploy's default)"
            } else {
                ""
            }
        ),
    ));
    if binary {
        if let Some(own) = script.binary_timeout.filter(|own| *own >= timeout) {
            checks.push(problem(
                topic,
                format!("HOOK_TIMEOUT {own} s is not below the hook's timeout {timeout} s: the agent kills the script before it says why it failed"),
                format!("set HOOK_TIMEOUT below {timeout} in {}", hook.location),
            ));
        }
        return;
    }
    let checked = bare_function_name(&facts.function_name);
    if let Some(invoked) = script
        .function_name
        .as_deref()
        .filter(|n| bare_function_name(n) != checked)
    {
        checks.push(problem(
            topic,
            format!("{} invokes {invoked}, not {}", hook.location, checked),
            format!("set HOOK_FUNCTION_NAME to {checked} in {}", hook.location),
        ));
    }
    let read = script.read_timeout;
    let Some(function_timeout) = function_timeout else {
        // No function timeout to compare with: the script's read timeout must still end
        // before the agent stops the script.
        if let Some(read) = read.filter(|r| *r >= timeout) {
            checks.push(problem(
                topic,
                format!("HOOK_READ_TIMEOUT {read} s is not below the hook's timeout {timeout} s: the agent kills the script before it says why it failed"),
                format!("raise the AfterAllowTraffic timeout above {read}, or set HOOK_READ_TIMEOUT below {timeout} in {}", hook.location),
            ));
        }
        return;
    };
    if timeout <= function_timeout {
        // One fix for both: a timeout above the function's and the script's read timeout.
        let needed = read.map_or(function_timeout, |r| r.max(function_timeout));
        checks.push(problem(
            topic,
            format!(
                "the hook's timeout {timeout} s is not above the function's {function_timeout} s{}: the agent may stop the script while the function works, and the deployment fails",
                read.filter(|r| *r > function_timeout)
                    .map(|r| format!(" (nor the script's HOOK_READ_TIMEOUT {r} s)"))
                    .unwrap_or_default()
            ),
            format!("raise the AfterAllowTraffic timeout above {needed} (appspec-example.yml: 120)"),
        ));
    }
    if let Some(read) = read {
        if read <= function_timeout {
            checks.push(problem(
                topic,
                format!("HOOK_READ_TIMEOUT {read} s is not above the function's timeout {function_timeout} s: the AWS CLI retries a timed-out invoke, so the function can run twice"),
                format!("set HOOK_READ_TIMEOUT above {function_timeout} in {}", hook.location),
            ));
        } else if read >= timeout && timeout > function_timeout {
            checks.push(problem(
                topic,
                format!("HOOK_READ_TIMEOUT {read} s is not below the hook's timeout {timeout} s: the agent kills the script before it says why it failed"),
                format!("raise the AfterAllowTraffic timeout above {read}, or set HOOK_READ_TIMEOUT below {timeout} in {}", hook.location),
            ));
        }
    }
}
