//! The script reader's unit tests.

use super::*;

const SHIPPED: &str = include_str!("../../../infra/hooks/after-allow-traffic.sh");

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
    // Set empty: `:-` gives the default. Set again after the script has read it: which
    // value a read sees is not told by the order of lines alone.
    assert_eq!(
        script(&with_top("HOOK_MODE=")).mode.as_deref(),
        Some("lambda")
    );
    let late = script(&format!("{SHIPPED}\nHOOK_MODE=binary\n"));
    assert_eq!(late.mode, None);
    assert!(
        late.unsettled[0]
            .why
            .contains("set again after the script reads it (line 169)"),
        "{:?}",
        late.unsettled
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
    // As bash does: several on a line, `;` after, `declare -x`.
    assert_eq!(mode("X=1 HOOK_MODE=binary").as_deref(), Some("binary"));
    assert_eq!(mode("HOOK_MODE=binary;").as_deref(), Some("binary"));
    assert_eq!(
        mode("declare -x HOOK_MODE=binary").as_deref(),
        Some("binary")
    );
    // Text, not commands: a quoted message, a here-document, a shift.
    assert_eq!(
        mode("echo \"set HOOK_MODE=binary to run it\"").as_deref(),
        Some("lambda")
    );
    assert_eq!(
        mode("cat <<EOF >/tmp/x\nHOOK_MODE=binary\n}\nEOF").as_deref(),
        Some("lambda")
    );
    assert_eq!(
        mode("echo $((1<<2))\nexport HOOK_MODE").as_deref(),
        Some("lambda")
    );
    // What may or may not run, or sets from elsewhere: unknown, naming the line.
    for (top, line) in [
        (
            "if [ -e /etc/binary-mode ]; then\n  HOOK_MODE=binary\nfi",
            3,
        ),
        ("setup() {\n  HOOK_MODE=binary\n}", 3),
        ("for x in ${LIST}\ndo\n  HOOK_MODE=binary\ndone", 4),
        ("[ -r /etc/hook.env ] && . /etc/hook.env", 2),
        (": \"${HOOK_MODE:=binary}\"", 2),
        ("eval \"$(cat /etc/hook.env)\"", 2),
        ("export $(cat /etc/hook.env | xargs)", 2),
        ("HOOK_MODE=binary || true", 2),
        ("[ -e /etc/binary-mode ] && HOOK_MODE=binary", 2),
        ("if [ -e /etc/b ]; then HOOK_MODE=binary; fi", 2),
        ("f() { HOOK_MODE=binary; }", 2),
        ("IFS= read -r HOOK_MODE < /etc/hook-mode", 2),
        ("declare -r HOOK_MODE=binary", 2),
        ("HOOK_MODE=binary logger started", 2),
    ] {
        let found = unsettled(top);
        assert!(
            found
                .iter()
                .any(|u| u.name == "HOOK_MODE" && u.line == line),
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
