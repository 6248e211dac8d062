//! `doctor`'s checks of the appspec's `AfterAllowTraffic` hook and its script (no I/O).

use super::appspec::{ScriptFile, HOOK_TIMEOUT_LIMIT};
use super::checks::{
    invoked_function_name, line, problem, AppspecRead, Check, Facts, Status, Topic,
};

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
    let function_timeout = facts.function.found().map(|f| f.timeout_seconds);
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
        .find(|h| h.script.read().is_some_and(|s| s.shipped))
    else {
        // A script that is there but cannot be read may well be the shipped one: unknown.
        if let Some((hook, why)) = appspec.hooks.iter().find_map(|h| match &h.script {
            ScriptFile::Unreadable(why) => Some((h, why)),
            _ => None,
        }) {
            return checks.push(line(
                topic,
                Status::Unknown,
                format!(
                    "{path}: AfterAllowTraffic runs {}, which cannot be read: {why}",
                    hook.location
                ),
            ));
        }
        let missing = appspec
            .hooks
            .iter()
            .find(|h| h.script == ScriptFile::Missing);
        let (finding, fix) = match missing {
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
    let ScriptFile::Read(script) = &hook.script else {
        return;
    };
    if script.crlf {
        checks.push(problem(
            topic,
            format!("{} has Windows line endings (CR LF): the system reads each carriage return as part of its line (a first line of `#!/usr/bin/env bash\\r` names no interpreter there is), so the script fails on every instance", hook.location),
            format!("save {} with Unix line endings (LF), e.g. sed -i 's/\\r$//' {}", hook.location, hook.location),
        ));
    }
    if let Some(first) = &script.no_shebang {
        checks.push(problem(
            topic,
            format!("{}'s first line is not a #! line ({first:?}): the agent runs the file itself, so it does not run under bash (at best under /bin/sh)", hook.location),
            format!("make the first line of {} #!/usr/bin/env bash, as in infra/hooks/after-allow-traffic.sh", hook.location),
        ));
    }
    // A setting doctor cannot evaluate is unknown, never its default; the checks that need it
    // are left out.
    for unsettled in &script.unsettled {
        checks.push(line(
            topic,
            Status::Unknown,
            format!(
                "{}: {} cannot be told from line {}: {}",
                hook.location, unsettled.name, unsettled.line, unsettled.why
            ),
        ));
    }
    let unsettled = |name: &str| script.unsettled.iter().any(|u| u.name == name);
    if unsettled("HOOK_MODE") {
        return;
    }
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
    let timeouts_settled = !["HOOK_TIMEOUT", "HOOK_READ_TIMEOUT", "HOOK_CONNECT_TIMEOUT"]
        .iter()
        .any(|name| unsettled(name));
    let worst = worst_case(script, binary).filter(|_| timeouts_settled);
    let checked = invoked_function_name(&facts.function_name);
    if let Some(invoked) = script
        .function_name
        .as_deref()
        .filter(|n| invoked_function_name(n) != checked && !binary)
    {
        checks.push(problem(
            topic,
            format!("{} invokes {invoked}, not {}", hook.location, checked),
            format!("set HOOK_FUNCTION_NAME to {checked} in {}", hook.location),
        ));
    }
    let function_timeout = function_timeout.filter(|_| !binary);
    if let Some(function_timeout) = function_timeout.filter(|f| timeout <= *f) {
        // One cause, one problem: the fix is a timeout above the function's and the script's.
        let needed = worst.as_ref().map_or(function_timeout + 1, |w| {
            (w.seconds + SCRIPT_OVERHEAD_SECONDS).max(function_timeout + 1)
        });
        checks.push(problem(
            topic,
            format!(
                "the hook's timeout {timeout} s is not above the function's {function_timeout} s{}: the agent may stop the script while the function works, and the deployment fails",
                worst
                    .as_ref()
                    .filter(|w| w.seconds > function_timeout)
                    .map(|w| format!(" (nor the script's {} s: {})", w.seconds, w.made_of))
                    .unwrap_or_default()
            ),
            format!("raise the AfterAllowTraffic timeout to at least {needed} (appspec-example.yml: 120)"),
        ));
    } else if let Some(worst) = worst.filter(|w| w.seconds + SCRIPT_OVERHEAD_SECONDS > timeout) {
        // The script's worst case must end before the agent stops it, or the console shows no
        // reason.
        checks.push(problem(
            topic,
            format!(
                "{} may run {} s ({}), less than {SCRIPT_OVERHEAD_SECONDS} s below the hook's timeout {timeout} s: the agent may kill the script before it says why it failed",
                hook.location, worst.seconds, worst.made_of
            ),
            format!(
                "raise the AfterAllowTraffic timeout to at least {}, or lower {} in {}",
                worst.seconds + SCRIPT_OVERHEAD_SECONDS,
                worst.lower,
                hook.location
            ),
        ));
    }
    if let (Some(function_timeout), Some(read)) = (function_timeout, script.read_timeout) {
        if read <= function_timeout {
            checks.push(problem(
                topic,
                format!("HOOK_READ_TIMEOUT {read} s is not above the function's timeout {function_timeout} s: the script stops waiting while the function works (and an AWS CLI that retries a timed-out invoke runs the function twice)"),
                format!("set HOOK_READ_TIMEOUT above {function_timeout} in {}", hook.location),
            ));
        }
    }
}

/// How long the script may run, and what makes it so.
struct WorstCase {
    seconds: u32,
    made_of: String,
    lower: &'static str,
}

/// Up to how long the script asks instance metadata for the region (two requests of at most 2 s).
pub(super) const REGION_LOOKUP_SECONDS: u32 = 4;
/// The AWS CLI's own connect and read timeouts, for a copy of the script that sets none
/// ([command line options](https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-options.html)).
const CLI_TIMEOUT_SECONDS: u32 = 60;
/// What the script's own time does not count: the AWS CLI starting for each attempt, a
/// retry's jitter, `SECONDS` counting whole seconds. Its worst case must leave this much of the
/// hook's timeout.
const SCRIPT_OVERHEAD_SECONDS: u32 = 5;

/// The script's longest run. `binary`: its `HOOK_TIMEOUT`, the binary's deadline. `lambda`: the
/// first invoke runs whatever the time (the region lookup, a connect, a read), and a retry only
/// while a whole one still fits in `HOOK_TIMEOUT`.
fn worst_case(script: &super::script::Script, binary: bool) -> Option<WorstCase> {
    let own = script.script_timeout;
    if binary {
        return own.map(|own| WorstCase {
            seconds: own,
            made_of: format!("HOOK_TIMEOUT {own} s"),
            lower: "HOOK_TIMEOUT",
        });
    }
    let default = |set: Option<u32>| match set {
        Some(seconds) => (seconds, ""),
        None => (CLI_TIMEOUT_SECONDS, " (the AWS CLI's default)"),
    };
    let (read, read_default) = default(script.read_timeout);
    let (connect, connect_default) = default(script.connect_timeout);
    let first = REGION_LOOKUP_SECONDS + connect + read;
    let made_of = format!(
        "up to {REGION_LOOKUP_SECONDS} s for the region, HOOK_CONNECT_TIMEOUT {connect} s{connect_default} and HOOK_READ_TIMEOUT {read} s{read_default}{}",
        own.map(|own| format!("; retries within HOOK_TIMEOUT {own} s")).unwrap_or_default()
    );
    // What to lower: whichever makes the worst case.
    let lower = match own {
        Some(own) if own >= first => "HOOK_TIMEOUT",
        _ => "HOOK_READ_TIMEOUT (above the function's timeout) or HOOK_CONNECT_TIMEOUT",
    };
    Some(WorstCase {
        seconds: own.map_or(first, |own| own.max(first)),
        made_of,
        lower,
    })
}
