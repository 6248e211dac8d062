//! An appspec's `AfterAllowTraffic` hook and the script it runs, read from their text (no I/O).

use serde_yaml_ng::Value;

/// CodeDeploy's hook timeout when the appspec gives none, and the most it allows for all the
/// scripts of one lifecycle event together: 3600 s
/// (https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html).
pub const HOOK_TIMEOUT_LIMIT: u32 = 3600;

/// The `AfterAllowTraffic` hooks of an appspec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appspec {
    pub hooks: Vec<HookScript>,
}

/// One script of the `AfterAllowTraffic` hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookScript {
    /// As the appspec gives it, relative to the revision's root (the appspec's folder).
    pub location: String,
    /// Seconds; `None` when the appspec sets none (CodeDeploy's default, `HOOK_TIMEOUT_LIMIT`).
    pub timeout: Option<u32>,
    /// `None` when the file is not in the revision.
    pub script: Option<Script>,
}

impl HookScript {
    pub fn timeout_seconds(&self) -> u32 {
        self.timeout.unwrap_or(HOOK_TIMEOUT_LIMIT)
    }
}

/// The shipped script's settings (the defaults at its top), or `None` fields for a script that
/// is not it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// Whether it is infra/hooks/after-allow-traffic.sh (or a copy with its settings changed).
    pub shipped: bool,
    pub mode: Option<String>,
    pub function_name: Option<String>,
    /// `HOOK_READ_TIMEOUT`: how long one invoke waits for the function (`lambda` mode).
    pub read_timeout: Option<u32>,
    /// `HOOK_CONNECT_TIMEOUT`: how long one invoke waits for a connection (`lambda` mode).
    pub connect_timeout: Option<u32>,
    /// `HOOK_TIMEOUT`: the script's own time (the binary's deadline; the last retried invoke).
    pub script_timeout: Option<u32>,
}

/// Reads the appspec's `AfterAllowTraffic` hook; `script_text` gives a location's file text
/// (`None`: not in the revision).
pub fn read(
    appspec: &str,
    script_text: impl Fn(&str) -> Option<String>,
) -> Result<Appspec, String> {
    let document: Value = serde_yaml_ng::from_str(appspec).map_err(|e| format!("not YAML: {e}"))?;
    if !document.is_mapping() {
        return Err("not an appspec: its top level is not a mapping".to_owned());
    }
    let hooks = match &document["hooks"]["AfterAllowTraffic"] {
        Value::Null => Vec::new(),
        Value::Sequence(items) => items.clone(),
        _ => return Err("hooks.AfterAllowTraffic is not a list of scripts".to_owned()),
    };
    let hooks = hooks
        .iter()
        .map(|hook| {
            let location = hook["location"]
                .as_str()
                .ok_or("an AfterAllowTraffic script has no location")?
                .to_owned();
            let timeout = match &hook["timeout"] {
                Value::Null => None,
                value => Some(
                    value
                        .as_u64()
                        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
                        .and_then(|t| u32::try_from(t).ok())
                        .ok_or_else(|| {
                            format!("the timeout of {location} is not a number of seconds")
                        })?,
                ),
            };
            let script = script_text(&location).map(|text| script(&text));
            Ok(HookScript {
                location,
                timeout,
                script,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Appspec { hooks })
}

/// The settings of a script's text. The shipped script sets each as `NAME="${NAME:-default}"`;
/// the README says to set them at its top, so `NAME="value"` and `NAME=value` count too (the
/// last assignment wins, as in the shell). It is the shipped script (or a copy of it) when it
/// runs `codedeploy-tg-hook` and reads `HOOK_MODE`.
pub fn script(text: &str) -> Script {
    let value_of = |name: &str| -> Option<String> {
        let prefix = format!("{name}=");
        text.lines()
            .rev()
            .filter_map(|line| {
                let line = line.trim();
                line.strip_prefix("export ")
                    .unwrap_or(line)
                    .trim_start()
                    .strip_prefix(prefix.as_str())
            })
            .filter_map(|value| {
                let value = value.split(" #").next().unwrap_or(value).trim();
                let value = value.trim_matches('"').trim_matches('\'');
                let default = format!("${{{name}:-");
                match value.strip_prefix(default.as_str()) {
                    Some(rest) => rest.split_once('}').map(|(v, _)| v.to_owned()),
                    None => Some(value.to_owned()),
                }
            })
            .next()
    };
    let number = |name: &str| value_of(name).and_then(|v| v.parse().ok());
    Script {
        shipped: text.contains("codedeploy-tg-hook") && text.contains("HOOK_MODE"),
        mode: value_of("HOOK_MODE"),
        function_name: value_of("HOOK_FUNCTION_NAME"),
        read_timeout: number("HOOK_READ_TIMEOUT"),
        connect_timeout: number("HOOK_CONNECT_TIMEOUT"),
        script_timeout: number("HOOK_TIMEOUT"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../infra/hooks/after-allow-traffic.sh");

    #[test]
    fn the_shipped_script_is_recognised_with_its_defaults() {
        let script = script(SHIPPED);
        assert!(script.shipped);
        assert_eq!(script.mode.as_deref(), Some("lambda"));
        assert_eq!(script.function_name.as_deref(), Some("codedeploy-tg-hook"));
        assert_eq!(script.read_timeout, Some(70));
        assert_eq!(script.connect_timeout, Some(5));
        assert_eq!(script.script_timeout, Some(100));
        assert!(!super::script("#!/bin/sh\necho hello\n").shipped);
        // Set at its top, as the README says: plain assignments count, the last one wins.
        let edited = SHIPPED.replacen(
            "HOOK_MODE=\"${HOOK_MODE:-lambda}\"",
            "HOOK_MODE=\"${HOOK_MODE:-lambda}\"\nHOOK_MODE=binary  # on the instance",
            1,
        );
        let edited = edited.replacen(
            "HOOK_FUNCTION_NAME=\"${HOOK_FUNCTION_NAME:-codedeploy-tg-hook}\"",
            "HOOK_FUNCTION_NAME=\"web-hook\"",
            1,
        );
        let script = super::script(&edited);
        assert!(script.shipped);
        assert_eq!(script.mode.as_deref(), Some("binary"));
        assert_eq!(script.function_name.as_deref(), Some("web-hook"));
    }

    #[test]
    fn the_example_appspec_runs_the_shipped_script_after_allow_traffic() {
        let appspec = read(include_str!("../../appspec-example.yml"), |location| {
            (location == "scripts/after-allow-traffic.sh").then(|| SHIPPED.to_owned())
        })
        .unwrap();
        assert_eq!(appspec.hooks.len(), 1);
        assert_eq!(appspec.hooks[0].timeout, Some(120));
        assert!(appspec.hooks[0].script.as_ref().unwrap().shipped);
    }

    #[test]
    fn a_hook_without_a_timeout_gets_codedeploys_default_and_bad_ones_are_named() {
        let appspec = read(
            "version: 0.0\nos: linux\nhooks:\n  AfterAllowTraffic:\n    - location: a.sh\n",
            |_| None,
        )
        .unwrap();
        assert_eq!(appspec.hooks[0].timeout_seconds(), 3600);
        assert_eq!(appspec.hooks[0].script, None);
        let error = read(
            "hooks:\n  AfterAllowTraffic:\n    - location: a.sh\n      timeout: soon\n",
            |_| None,
        )
        .unwrap_err();
        assert!(error.contains("timeout of a.sh"), "{error}");
        assert!(read("hooks: [", |_| None)
            .unwrap_err()
            .starts_with("not YAML"));
        assert!(read("just words", |_| None).is_err());
        assert_eq!(read("version: 0.0\n", |_| None).unwrap().hooks, vec![]);
    }
}
