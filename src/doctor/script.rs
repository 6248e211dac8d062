//! What the hook script sets, read as bash would have it where the script reads it (no I/O):
//! plain, `export` and `declare` assignments and `${VAR:-default}`, forward, the last before the
//! read winning; anything it cannot evaluate is `Unsettled`, naming its line, never the default.

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
    // The line where the script first reads each setting: an assignment after it is not taken
    // (reads inside a function body count where they are written, which errs towards unknown).
    let mut first_read: [Option<usize>; SETTINGS.len()] = [None; SETTINGS.len()];
    // How deep in an `if`, `case`, loop, `{ }`, `( )` or function body the line is: an
    // assignment there may or may not run.
    let mut depth = 0usize;
    // The word that ends the here-document being skipped (its body is text, not commands).
    let mut heredoc: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim_end_matches('\r').trim();
        if let Some(end) = &heredoc {
            if line == end {
                heredoc = None;
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // The line's commands with quoted text blanked and its comment dropped.
        let bare = unquoted(line);
        heredoc = heredoc_end(line, &bare);
        let opens = opens_block(&bare);
        depth = depth.saturating_sub(usize::from(closes_block(&bare)));
        let inside = depth > 0 || opens;
        if let Some(command) = command_that_may_set_anything(&bare) {
            for (_, value) in values.iter_mut() {
                *value = Setting::Unknown(number, format!("it runs `{command}`, which may set it"));
            }
        } else if let Some(assigned) = assignments(line) {
            for (slot, value) in assigned {
                values[slot].1 = if inside {
                    Setting::Unknown(
                        number,
                        "it is set inside an if, case, loop or function, which may not run"
                            .to_owned(),
                    )
                } else if let Some(read) = first_read[slot] {
                    Setting::Unknown(
                        number,
                        format!("it is set again after the script reads it (line {read})"),
                    )
                } else {
                    evaluate(value, number, &values)
                };
            }
        } else {
            for (slot, name) in SETTINGS.iter().enumerate() {
                let by_expansion = [format!("${{{name}:="), format!("${{{name}=")]
                    .iter()
                    .any(|form| line.contains(form.as_str()));
                if by_expansion {
                    values[slot].1 =
                        Setting::Unknown(number, format!("{name} is assigned by a `:=` expansion"));
                } else if set_by_command(&bare, name) {
                    values[slot].1 = Setting::Unknown(
                        number,
                        "a command there may set it, which doctor does not evaluate".to_owned(),
                    );
                }
            }
        }
        // The line's reads (a `$NAME` anywhere, or a bare name in arithmetic); an assignment's
        // own `${NAME:-default}` is the value it assigns, not a read before it.
        let mut own: Vec<usize> = assignments(line)
            .map(|a| a.into_iter().map(|(slot, _)| slot).collect())
            .unwrap_or_default();
        own.extend(SETTINGS.iter().enumerate().filter_map(|(slot, name)| {
            (line.contains(&format!("${{{name}:=")) || line.contains(&format!("${{{name}=")))
                .then_some(slot)
        }));
        for (slot, name) in SETTINGS.iter().enumerate() {
            let read = line.contains(&format!("${name}"))
                || line.contains(&format!("${{{name}"))
                || in_arithmetic(&bare, name);
            if read && !own.contains(&slot) {
                first_read[slot].get_or_insert(number);
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

/// The line's `NAME=value` assignments of settings (`export`, `declare`, `readonly` before
/// them too), each with its value's text, when the line is only plain assignments (`A=1 B=2`,
/// a `;` after them); `None` when it is anything else (a command after them, `&&`, a block).
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
    while !rest.is_empty() && !rest.starts_with('#') {
        let (name, after) = rest.split_once('=')?;
        if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()) {
            return None;
        }
        let value = word(after);
        if let Some(slot) = SETTINGS.iter().position(|n| *n == name) {
            found.push((slot, value));
        }
        rest = after[value.len()..].trim_start();
        if let Some(next) = rest.strip_prefix(';') {
            rest = next.trim_start();
        }
    }
    (!found.is_empty()).then_some(found)
}

/// A command that may set any variable, in a command's place on the line (first, or after
/// `;`, `&&`, `||`, `|`, `then`, `do`, `else`, `{`, `(`, `!`, `command`, `builtin`): `source`,
/// `.`, `eval`, or `export`/`declare` of a command's output.
fn command_that_may_set_anything(bare: &str) -> Option<&'static str> {
    bare.split([';', '&', '|'])
        .filter_map(|segment| {
            let mut words = segment.split_whitespace().skip_while(|w| {
                matches!(
                    *w,
                    "then"
                        | "do"
                        | "else"
                        | "elif"
                        | "if"
                        | "while"
                        | "until"
                        | "{"
                        | "("
                        | "!"
                        | "command"
                        | "builtin"
                )
            });
            let first = words.next()?;
            let second = words.next().unwrap_or_default();
            Some((first, second))
        })
        .find_map(|(first, second)| match first {
            "source" => Some("source"),
            "." => Some("."),
            "eval" => Some("eval"),
            "export" | "declare" | "typeset" | "readonly"
                if second.starts_with("$(") || second.starts_with('`') =>
            {
                Some("export of a command's output")
            }
            _ => None,
        })
}

/// Where `name` stands as a whole word in `bare`, and the character before it.
fn words_named<'a>(
    bare: &'a str,
    name: &'a str,
) -> impl Iterator<Item = (usize, Option<char>)> + 'a {
    let word = |c: char| c == '_' || c.is_ascii_alphanumeric();
    bare.match_indices(name).filter_map(move |(at, _)| {
        let before = bare[..at].chars().next_back();
        let after = bare[at + name.len()..].chars().next();
        (!before.is_some_and(word) && !after.is_some_and(word)).then_some((at, before))
    })
}

/// `name` is read as a bare word inside arithmetic (`$(( … ))`, `(( … ))`).
fn in_arithmetic(bare: &str, name: &str) -> bool {
    words_named(bare, name).any(|(at, _)| {
        let before = &bare[..at];
        before
            .rfind("((")
            .is_some_and(|open| !before[open..].contains("))"))
    })
}

/// A command on the line names `name` bare, outside arithmetic and not as a read (`read -r
/// NAME`, `unset NAME`, `printf -v NAME`, `[ … ] && NAME=value`, `declare -r NAME=value`): it may
/// set it. `export NAME` or `readonly NAME` alone changes no value.
fn set_by_command(bare: &str, name: &str) -> bool {
    let words: Vec<&str> = bare.split_whitespace().collect();
    if matches!(words.first(), Some(&"export" | &"readonly"))
        && words[1..].iter().all(|w| SETTINGS.contains(w))
    {
        return false;
    }
    words_named(bare, name).any(|(at, before)| {
        before != Some('$') && before != Some('{') && !in_arithmetic(&bare[..at + name.len()], name)
    })
}

/// The line with its quoted text blanked (same length) and its comment dropped.
fn unquoted(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut previous = ' ';
    for c in line.chars() {
        let keep = match quote {
            _ if escaped => {
                escaped = false;
                false
            }
            Some('\'') if c == '\'' => {
                quote = None;
                false
            }
            Some('\'') => false,
            Some(_) if c == '\\' => {
                escaped = true;
                false
            }
            Some(_) if c == '"' => {
                quote = None;
                false
            }
            Some(_) => false,
            None if c == '\\' => {
                escaped = true;
                false
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                false
            }
            None if c == '#' && previous.is_whitespace() => break,
            None => true,
        };
        out.extend(std::iter::repeat_n(
            if keep { c } else { ' ' },
            c.len_utf8(),
        ));
        previous = c;
    }
    out
}

/// The word that ends a here-document the line starts (`<<EOF`, `<<-'EOF'`), if any: a `<<`
/// outside quotes followed by a word (not a here-string `<<<`, not a shift `1<<2`).
fn heredoc_end(line: &str, bare: &str) -> Option<String> {
    let at = bare.find("<<")?;
    let rest = &line[at + 2..];
    if rest.starts_with('<') {
        return None;
    }
    let rest = rest.trim_start_matches('-').trim_start();
    if !rest.starts_with(|c: char| c == '_' || c == '\'' || c == '"' || c.is_ascii_alphabetic()) {
        return None;
    }
    let word: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ';' && *c != '>' && *c != '|')
        .filter(|c| *c != '\'' && *c != '"')
        .collect();
    (!word.is_empty()).then_some(word)
}

/// The line starts a block whose body may or may not run (or runs later): `if`, `case`,
/// `for`, `while`, `until`, a `{` or `(` left open (a function body, a group, a subshell).
fn opens_block(bare: &str) -> bool {
    let words: Vec<&str> = bare
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    let (Some(first), Some(last)) = (words.first(), words.last()) else {
        return false;
    };
    let one_line = matches!(*last, "fi" | "esac" | "done" | "}" | ")");
    let starts = matches!(*first, "if" | "case" | "for" | "while" | "until");
    (starts || *last == "(" || last.ends_with('{')) && !one_line
}

/// The line ends a block: `fi`, `esac`, `done`, `}` or `)` first.
fn closes_block(bare: &str) -> bool {
    let first = bare
        .split(|c: char| c.is_whitespace() || c == ';')
        .find(|w| !w.is_empty())
        .unwrap_or_default();
    matches!(first, "fi" | "esac" | "done" | "}" | ")")
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
mod tests;
