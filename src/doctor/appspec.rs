//! An appspec's `AfterAllowTraffic` hook and the scripts it runs, read from their text (no I/O);
//! what a script sets is `script`'s to read.

use serde_yaml_ng::Value;

use super::script::{script, Script};

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
    pub script: ScriptFile,
}

/// The file a hook runs, as found in the revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptFile {
    /// Not in the revision beside the appspec.
    Missing,
    /// There, but not readable as text (permissions, not UTF-8): why.
    Unreadable(String),
    Read(Script),
}

impl ScriptFile {
    pub fn read(&self) -> Option<&Script> {
        match self {
            ScriptFile::Read(script) => Some(script),
            _ => None,
        }
    }
}

impl HookScript {
    pub fn timeout_seconds(&self) -> u32 {
        self.timeout.unwrap_or(HOOK_TIMEOUT_LIMIT)
    }
}

/// Reads the appspec's `AfterAllowTraffic` hook; `script_text` gives a location's file text
/// (`Ok(None)`: not in the revision; `Err`: there, but why it cannot be read).
pub fn read(
    appspec: &str,
    script_text: impl Fn(&str) -> Result<Option<String>, String>,
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
            let script = match script_text(&location) {
                Ok(Some(text)) => ScriptFile::Read(script(&text)),
                Ok(None) => ScriptFile::Missing,
                Err(why) => ScriptFile::Unreadable(why),
            };
            Ok(HookScript {
                location,
                timeout,
                script,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Appspec { hooks })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../infra/hooks/after-allow-traffic.sh");

    #[test]
    fn the_example_appspec_runs_the_shipped_script_after_allow_traffic() {
        let appspec = read(include_str!("../../appspec-example.yml"), |location| {
            Ok((location == "scripts/after-allow-traffic.sh").then(|| SHIPPED.to_owned()))
        })
        .unwrap();
        assert_eq!(appspec.hooks.len(), 1);
        assert_eq!(appspec.hooks[0].timeout, Some(120));
        assert!(appspec.hooks[0].script.read().unwrap().shipped);
    }

    #[test]
    fn a_hook_without_a_timeout_gets_codedeploys_default_and_bad_ones_are_named() {
        let appspec = read(
            "version: 0.0\nos: linux\nhooks:\n  AfterAllowTraffic:\n    - location: a.sh\n",
            |_| Ok(None),
        )
        .unwrap();
        assert_eq!(appspec.hooks[0].timeout_seconds(), 3600);
        assert_eq!(appspec.hooks[0].script, ScriptFile::Missing);
        let error = read(
            "hooks:\n  AfterAllowTraffic:\n    - location: a.sh\n      timeout: soon\n",
            |_| Ok(None),
        )
        .unwrap_err();
        assert!(error.contains("timeout of a.sh"), "{error}");
        assert!(read("hooks: [", |_| Ok(None))
            .unwrap_err()
            .starts_with("not YAML"));
        assert!(read("just words", |_| Ok(None)).is_err());
        assert_eq!(read("version: 0.0\n", |_| Ok(None)).unwrap().hooks, vec![]);
    }
}
