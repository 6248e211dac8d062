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

/// The shipped script's settings as bash would have them when the script reads them (`None`:
/// not set, so the script's own default or the AWS CLI's), or `None` fields for a script that is
/// not it; what doctor could not evaluate is in `unsettled`, never taken as a default.
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
    /// Settings whose value doctor cannot tell, each with the line that makes it so.
    pub unsettled: Vec<Unsettled>,
    /// Its lines end in CR LF: bash reads `#!/usr/bin/env bash\r` and the script fails on Linux
    /// before any line runs.
    pub crlf: bool,
    /// Its first line, when that is not a `#!` line (the agent runs the file itself).
    pub no_shebang: Option<String>,
}

/// A setting doctor cannot evaluate: its name, the line (1-based) and what is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsettled {
    pub name: &'static str,
    pub line: usize,
    pub why: String,
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

/// The settings the shipped script reads, by name.
const SETTINGS: [&str; 6] = [
    "HOOK_MODE",
    "HOOK_FUNCTION_NAME",
    "HOOK_BINARY",
    "HOOK_TIMEOUT",
    "HOOK_READ_TIMEOUT",
    "HOOK_CONNECT_TIMEOUT",
];

/// A setting's value as bash would have it at a point of the script.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Setting {
    /// Not assigned (the agent's environment is taken to set none of them).
    Unset,
    /// Its value, and the line (1-based) that gave it.
    Set(String, usize),
    /// Line (1-based) and what doctor could not evaluate there.
    Unknown(usize, String),
}

/// The settings of a script's text, as bash has them when the script first reads each: lines
/// are taken in order, `NAME=value`, `export NAME=value` and `NAME="${NAME:-default}"` (or
/// `${NAME-default}`, `$NAME`, `${NAME}`) evaluated, the last assignment before the setting's
/// first use winning. A command substitution, another expansion or a sourced file makes the
/// settings it may change unknown, naming the line. It is the shipped script (or a copy of it)
/// when it runs `codedeploy-tg-hook` and reads `HOOK_MODE`.
pub fn script(text: &str) -> Script {
    let mut values: Vec<(&'static str, Setting)> =
        SETTINGS.iter().map(|&n| (n, Setting::Unset)).collect();
    let mut used = [false; SETTINGS.len()];
    // How deep in an `if`, `case`, loop, `{ }` group or function body the line is: an
    // assignment there may or may not run, and a use there runs when its caller does.
    let mut depth = 0usize;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim_end_matches('\r').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let opens = opens_block(line);
        depth = depth.saturating_sub(usize::from(closes_block(line)));
        let unknown_from_here = |values: &mut Vec<(&'static str, Setting)>, why: &str| {
            for (slot, (_, value)) in values.iter_mut().enumerate() {
                if !used[slot] {
                    *value = Setting::Unknown(number, why.to_owned());
                }
            }
        };
        if let Some(command) = command_that_may_set_anything(line) {
            unknown_from_here(
                &mut values,
                &format!("it runs `{command}`, which may set it"),
            );
        } else if let Some(assignments) = assignments(line) {
            for (slot, value) in assignments {
                if used[slot] {
                    continue;
                }
                values[slot].1 = if depth > 0 || opens {
                    Setting::Unknown(
                        number,
                        "it is set inside an if, case, loop or function, which may not run"
                            .to_owned(),
                    )
                } else {
                    evaluate(value, number, &values)
                };
            }
        } else {
            for (slot, name) in SETTINGS.iter().enumerate() {
                let assigning = [format!("${{{name}:="), format!("${{{name}=")]
                    .iter()
                    .any(|form| line.contains(form.as_str()));
                if assigning && !used[slot] {
                    values[slot].1 =
                        Setting::Unknown(number, format!("{name} is assigned by a `:=` expansion"));
                } else if depth == 0
                    && (line.contains(&format!("${name}")) || line.contains(&format!("${{{name}")))
                {
                    // At the top level a line's reads run now, a block's header (`case
                    // "$HOOK_MODE" in`) included; inside a body, when its caller runs.
                    used[slot] = true;
                }
            }
        }
        depth += usize::from(opens);
    }
    let take = |name: &'static str| -> Result<Option<String>, Unsettled> {
        match values.iter().find(|(n, _)| *n == name).map(|(_, v)| v) {
            None | Some(Setting::Unset) => Ok(None),
            Some(Setting::Set(v, _)) => Ok(Some(v.clone())),
            Some(Setting::Unknown(line, why)) => Err(Unsettled {
                name,
                line: *line,
                why: why.clone(),
            }),
        }
    };
    let seconds = |name: &'static str| -> Result<Option<u32>, Unsettled> {
        let Some(value) = take(name)? else {
            return Ok(None);
        };
        let line = match values.iter().find(|(n, _)| *n == name) {
            Some((_, Setting::Set(_, line))) => *line,
            _ => 0,
        };
        value.trim().parse().map(Some).map_err(|_| Unsettled {
            name,
            line,
            why: format!("its value {value:?} is not a number of seconds"),
        })
    };
    let mut unsettled = Vec::new();
    let mode = settle(take("HOOK_MODE"), &mut unsettled);
    let function_name = settle(take("HOOK_FUNCTION_NAME"), &mut unsettled);
    let read_timeout = settle(seconds("HOOK_READ_TIMEOUT"), &mut unsettled);
    let connect_timeout = settle(seconds("HOOK_CONNECT_TIMEOUT"), &mut unsettled);
    let script_timeout = settle(seconds("HOOK_TIMEOUT"), &mut unsettled);
    unsettled.sort_by_key(|u| (u.line, u.name));
    let first = text.lines().next().unwrap_or_default();
    Script {
        shipped: text.contains("codedeploy-tg-hook") && text.contains("HOOK_MODE"),
        mode,
        function_name,
        read_timeout,
        connect_timeout,
        script_timeout,
        unsettled,
        crlf: text.contains("\r\n"),
        no_shebang: (!first.starts_with("#!")).then(|| first.trim_end_matches('\r').to_owned()),
    }
}

/// A setting's value, or `None` with what made it unknown kept in `unsettled`.
fn settle<T>(value: Result<Option<T>, Unsettled>, unsettled: &mut Vec<Unsettled>) -> Option<T> {
    value.unwrap_or_else(|u| {
        unsettled.push(u);
        None
    })
}

/// The line's `NAME=value` assignments of settings (`export`, `declare [-x]`, `readonly`
/// before them too), each with its value's text; `None` when the line is something else, or
/// when a command follows them (then they are that command's environment, not the script's).
fn assignments(line: &str) -> Option<Vec<(usize, &str)>> {
    let mut rest = [
        "export ",
        "declare -x ",
        "declare ",
        "readonly ",
        "typeset ",
    ]
    .iter()
    .find_map(|p| line.strip_prefix(p))
    .map_or(line, str::trim_start);
    let mut found = Vec::new();
    let mut any = false;
    while !rest.is_empty() && !rest.starts_with('#') {
        let (name, after) = rest.split_once('=')?;
        if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()) {
            return None;
        }
        let value = word(after);
        if let Some(slot) = SETTINGS.iter().position(|n| *n == name) {
            found.push((slot, value));
        }
        any = true;
        rest = after[value.len()..].trim_start();
        if let Some(next) = rest.strip_prefix(';') {
            // `A=1; B=2` or `A=1;`: more assignments, or nothing after.
            rest = next.trim_start();
        }
    }
    (any && !found.is_empty()).then_some(found)
}

/// A command that may set any variable (`source`, `.`, `eval`, `read`) in a command's place on
/// the line: first, or after `;`, `&&`, `||`, `|`, `then`, `do`, `else`, `{`, `(`, `!`.
fn command_that_may_set_anything(line: &str) -> Option<&'static str> {
    line.split([';', '&', '|'])
        .filter_map(|segment| {
            let mut words = segment.split_whitespace().skip_while(|w| {
                matches!(
                    *w,
                    "then" | "do" | "else" | "elif" | "if" | "while" | "until" | "{" | "(" | "!"
                )
            });
            words.next()
        })
        .find_map(|first| {
            ["source", ".", "eval", "read"]
                .into_iter()
                .find(|command| first == *command)
        })
}

/// The line starts a block whose body may or may not run (or runs later): `if`, `case`,
/// `for`, `while`, `until`, or a `{` (a function body or a group) left open.
fn opens_block(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or_default();
    let one_line = ["fi", "esac", "done", "}"]
        .iter()
        .any(|end| line.trim_end_matches(';').ends_with(end));
    (matches!(first, "if" | "case" | "for" | "while" | "until") || line.ends_with('{')) && !one_line
}

/// The line ends a block: `fi`, `esac`, `done` or `}` first.
fn closes_block(line: &str) -> bool {
    let first = line
        .split(|c: char| c.is_whitespace() || c == ';')
        .next()
        .unwrap_or_default();
    matches!(first, "fi" | "esac" | "done" | "}")
}

/// A value's shell word: a quoted string whole, a command substitution to its end, else up
/// to whitespace or `;`.
fn word(value: &str) -> &str {
    match value.chars().next() {
        Some(q @ ('"' | '\'')) => match value[1..].find(q) {
            Some(end) => &value[..end + 2],
            None => value,
        },
        _ if value.starts_with("$(") || value.starts_with('`') => {
            value.split(" #").next().unwrap_or(value).trim_end()
        }
        _ => value
            .split(|c: char| c.is_whitespace() || c == ';')
            .next()
            .unwrap_or(value),
    }
}

/// A value's text as bash expands it, from the settings so far.
fn evaluate(text: &str, line: usize, values: &[(&'static str, Setting)]) -> Setting {
    let (inner, single) = match text.as_bytes().first() {
        Some(b'\'') => (text.trim_matches('\''), true),
        Some(b'"') => (text.trim_matches('"'), false),
        _ => (text, false),
    };
    if single || !inner.contains(['$', '`']) {
        return Setting::Set(inner.to_owned(), line);
    }
    if inner.contains("$((") {
        return Setting::Unknown(
            line,
            format!("{text} is arithmetic doctor does not evaluate"),
        );
    }
    if inner.contains("$(") || inner.contains('`') {
        return Setting::Unknown(line, format!("{text} is a command substitution"));
    }
    let lookup = |name: &str| {
        values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    };
    // ${NAME:-default}, ${NAME-default}, ${NAME}, $NAME, whole.
    let expansion = inner
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .or_else(|| {
            inner
                .strip_prefix('$')
                .filter(|name| name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()))
        });
    if let Some(body) = expansion {
        let (name, default, empty_too) = match body.split_once(":-") {
            Some((name, default)) => (name, Some(default), true),
            None => match body.split_once('-') {
                Some((name, default)) => (name, Some(default), false),
                None => (body, None, false),
            },
        };
        if let Some(current) = lookup(name) {
            if default.is_some_and(|d| d.contains(['$', '`'])) {
                return Setting::Unknown(
                    line,
                    format!("{text} has a default doctor does not evaluate"),
                );
            }
            return match (current, default) {
                (Setting::Unset, Some(d)) => Setting::Set(d.to_owned(), line),
                (Setting::Set(v, _), Some(d)) if v.is_empty() && empty_too => {
                    Setting::Set(d.to_owned(), line)
                }
                (Setting::Unset, None) => Setting::Set(String::new(), line),
                (known, _) => known,
            };
        }
    }
    Setting::Unknown(
        line,
        format!("{text} is an expansion doctor does not evaluate"),
    )
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

    /// The shipped script with `lines` put right after its shebang (line 2 onwards), as the
    /// README says to set its settings.
    fn with_top(lines: &str) -> String {
        SHIPPED.replacen('\n', &format!("\n{lines}\n"), 1)
    }

    #[test]
    fn settings_are_read_as_bash_has_them_when_the_script_reads_them() {
        let s = script(&with_top(
            "HOOK_FUNCTION_NAME=\"web-hook\"\nexport HOOK_MODE=binary\nHOOK_READ_TIMEOUT=30 # short",
        ));
        assert_eq!(s.function_name.as_deref(), Some("web-hook"));
        assert_eq!(s.mode.as_deref(), Some("binary"));
        assert_eq!(s.read_timeout, Some(30));
        assert_eq!(s.script_timeout, Some(100));
        assert!(s.unsettled.is_empty(), "{:?}", s.unsettled);
        // Set empty: `:-` gives the default; an assignment after the script has read the
        // setting changes nothing the script did.
        assert_eq!(
            script(&with_top("HOOK_MODE=")).mode.as_deref(),
            Some("lambda")
        );
        assert_eq!(
            script(&format!("{SHIPPED}\nHOOK_MODE=binary\n"))
                .mode
                .as_deref(),
            Some("lambda")
        );
    }

    #[test]
    fn what_doctor_cannot_evaluate_is_unsettled_naming_the_line_never_the_default() {
        let s = script(&with_top("HOOK_FUNCTION_NAME=$(cat /etc/hook-function)"));
        assert_eq!(s.function_name, None);
        assert_eq!(s.mode.as_deref(), Some("lambda"));
        assert_eq!(s.unsettled.len(), 1, "{:?}", s.unsettled);
        assert_eq!(
            (s.unsettled[0].name, s.unsettled[0].line),
            ("HOOK_FUNCTION_NAME", 2)
        );
        assert!(
            s.unsettled[0].why.contains("command substitution"),
            "{:?}",
            s.unsettled
        );

        // A sourced file may set any of them: every setting the script then reads is unknown.
        let s = script(&with_top(". /etc/codedeploy-hook.env"));
        let names: Vec<_> = s.unsettled.iter().map(|u| (u.name, u.line)).collect();
        assert_eq!(
            names,
            [
                ("HOOK_CONNECT_TIMEOUT", 2),
                ("HOOK_FUNCTION_NAME", 2),
                ("HOOK_MODE", 2),
                ("HOOK_READ_TIMEOUT", 2),
                ("HOOK_TIMEOUT", 2)
            ]
        );
        assert_eq!((s.mode.clone(), s.script_timeout), (None, None));

        let s = script(&with_top("HOOK_TIMEOUT=\"${DEPLOY_TIMEOUT:-90}\""));
        assert_eq!(s.script_timeout, None);
        assert_eq!(
            (s.unsettled[0].name, s.unsettled[0].line),
            ("HOOK_TIMEOUT", 2)
        );

        let s = script(&with_top("HOOK_READ_TIMEOUT=soon"));
        assert_eq!(s.read_timeout, None);
        assert!(s.unsettled[0]
            .why
            .contains("\"soon\" is not a number of seconds"));
        assert_eq!(s.unsettled[0].line, 2);
    }

    #[test]
    fn forms_bash_reads_otherwise_than_a_plain_line_are_unknown_or_read_as_bash_does() {
        let mode = |top: &str| script(&with_top(top)).mode;
        let unsettled = |top: &str| script(&with_top(top)).unsettled;
        // As bash does: several on a line, `;` after, `declare -x`; a command's own environment
        // is not the script's.
        assert_eq!(mode("X=1 HOOK_MODE=binary").as_deref(), Some("binary"));
        assert_eq!(mode("HOOK_MODE=binary;").as_deref(), Some("binary"));
        assert_eq!(
            mode("declare -x HOOK_MODE=binary").as_deref(),
            Some("binary")
        );
        assert_eq!(
            mode("HOOK_MODE=binary logger started").as_deref(),
            Some("lambda")
        );
        // What may or may not run, or sets from elsewhere: unknown, naming the line.
        for top in [
            "if [ -e /etc/binary-mode ]; then\n  HOOK_MODE=binary\nfi",
            "[ -r /etc/hook.env ] && . /etc/hook.env",
            ": \"${HOOK_MODE:=binary}\"",
            "eval \"$(cat /etc/hook.env)\"",
            "setup() {\n  HOOK_MODE=binary\n}",
        ] {
            let found = unsettled(top);
            assert!(
                found.iter().any(|u| u.name == "HOOK_MODE" && u.line >= 2),
                "{top:?}: {found:?}"
            );
            assert_eq!(mode(top), None, "{top:?}");
        }
        let found = unsettled("HOOK_FUNCTION_NAME=$(cat /etc/hook-function) # from the AMI");
        assert_eq!(
            found[0].why,
            "$(cat /etc/hook-function) is a command substitution"
        );
        // `$NAME-x` is NAME's value and "-x", not a default.
        let found = unsettled("HOOK_FUNCTION_NAME=$HOOK_BINARY-blue");
        assert_eq!((found[0].name, found[0].line), ("HOOK_FUNCTION_NAME", 2));
    }

    #[test]
    fn windows_line_endings_and_a_missing_shebang_are_seen() {
        let shipped = script(SHIPPED);
        assert!(!shipped.crlf);
        assert_eq!(shipped.no_shebang, None);
        let crlf = script(&SHIPPED.replace('\n', "\r\n"));
        assert!(crlf.crlf);
        assert_eq!(crlf.mode.as_deref(), Some("lambda"), "still read");
        assert_eq!(
            script("HOOK_MODE=binary\necho codedeploy-tg-hook\n")
                .no_shebang
                .as_deref(),
            Some("HOOK_MODE=binary")
        );
    }

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
