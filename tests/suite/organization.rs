//! The audit across an organization's accounts and regions (`--accounts`, `--role-name`,
//! `--regions all`), through the real binary on the launcher: several accounts (moto maps an
//! assumed role's credentials to the role's account) and several regions (moto keeps them apart).

use serde_json::{json, Value};

use crate::support::{audit, row, Moto, World};

const ROLE: &str = "codedeploy-tg-hook-audit";

/// The organization: the default account as its management account, and `members` members.
fn organization(moto: &Moto, members: usize) -> (String, Vec<String>) {
    organization_with_closed(moto, members, 0).0
}

/// `organization`, with `closed` more members closed (`SUSPENDED`), their ids apart.
fn organization_with_closed(
    moto: &Moto,
    members: usize,
    closed: usize,
) -> ((String, Vec<String>), Vec<String>) {
    let made = moto.harness(
        "organization",
        json!({"members": members, "closed": closed}),
    );
    let closed = made["closed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    let members = made["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    (
        (made["management"].as_str().unwrap().to_owned(), members),
        closed,
    )
}

/// `account`'s regions and their opt-in status, as ListRegions answers them, `page` a page.
fn regions(moto: &Moto, account: &str, regions: Value, page: usize) {
    moto.harness(
        "account-regions",
        json!({"account": account, "regions": regions, "pageSize": page}),
    );
}

/// A succeeded deployment's replacement group without its load balancers, in `account` and
/// `region`.
fn broken_world(moto: &Moto, name: &str, account: &str, region: &str) -> World {
    moto.world(json!({"name": name, "status": "Succeeded", "account": account, "region": region}))
}

fn rows(report: &Value) -> &Vec<Value> {
    report["rows"].as_array().unwrap()
}

fn requests_of<'a>(requests: &'a [Value], action: &str) -> Vec<&'a Value> {
    requests.iter().filter(|r| r["action"] == action).collect()
}

/// Done-when of the organization issue: one `audit --accounts organization --role-name R
/// --regions all` run reports, then repairs, the groups of two accounts in two regions each;
/// the accounts come from a paged ListAccounts, each account's regions from its own paged
/// ListRegions (a disabled region is not audited), one AssumeRole per account.
#[test]
fn one_run_reports_and_repairs_every_account_and_enabled_region_of_the_organization() {
    let moto = Moto::start();
    // 22 active accounts and a closed one: ListAccounts answers them in two pages (20 at most
    // a page), and the closed one is not audited.
    let ((management, members), closed) = organization_with_closed(&moto, 21, 1);
    let (first, second) = (&members[3], &members[17]);
    regions(
        &moto,
        first,
        json!({"us-east-1": "ENABLED_BY_DEFAULT", "eu-west-1": "ENABLED_BY_DEFAULT", "af-south-1": "DISABLED", "ap-east-1": "ENABLING"}),
        1,
    );
    regions(
        &moto,
        second,
        json!({"us-east-1": "ENABLED_BY_DEFAULT", "eu-south-1": "ENABLED"}),
        50,
    );
    let worlds = [
        (
            broken_world(&moto, "org-a-east", first, "us-east-1"),
            first,
            "us-east-1",
        ),
        (
            broken_world(&moto, "org-a-west", first, "eu-west-1"),
            first,
            "eu-west-1",
        ),
        (
            broken_world(&moto, "org-b-east", second, "us-east-1"),
            second,
            "us-east-1",
        ),
        (
            broken_world(&moto, "org-b-south", second, "eu-south-1"),
            second,
            "eu-south-1",
        ),
    ];
    // A group in a region the account has not enabled is not the audit's to see.
    let hidden = broken_world(&moto, "org-a-africa", first, "af-south-1");
    moto.clear_requests();

    let everywhere = [
        "--accounts",
        "organization",
        "--role-name",
        ROLE,
        "--regions",
        "all",
    ];
    let (code, report) = audit(&moto, &everywhere);
    assert_eq!(code, Some(3), "missing sources exit 3: {report}");
    let mut accounts: Vec<String> = members.clone();
    accounts.push(management.clone());
    accounts.sort();
    assert_eq!(report["accounts"], json!(accounts), "{report}");
    assert_eq!(
        report["regions"],
        json!(["eu-south-1", "eu-west-1", "us-east-1"]),
        "{report}"
    );
    assert_eq!(
        rows(&report).len(),
        4,
        "only the four replacement groups: {report}"
    );
    for (world, account, region) in &worlds {
        let r = row(&report, &world.replacement_group);
        assert_eq!(r["account"], json!(account), "{r}");
        assert_eq!(r["region"], *region, "{r}");
        assert_eq!(r["status"], "missing", "{r}");
        assert_eq!(r["targetGroups"], json!(world.target_group_names), "{r}");
        assert_eq!(r["loadBalancers"], json!(world.load_balancers), "{r}");
    }
    assert!(
        !report.to_string().contains(&hidden.replacement_group),
        "a disabled region is not audited: {report}"
    );

    assert!(!report.to_string().contains(&closed[0]), "{report}");
    let requests = moto.requests();
    let list_accounts = requests_of(&requests, "ListAccounts");
    assert_eq!(
        list_accounts.len(),
        2,
        "two pages of accounts: {list_accounts:?}"
    );
    let assumed = requests_of(&requests, "AssumeRole");
    assert_eq!(assumed.len(), 22, "one session per account");
    for account in &accounts {
        let arn = format!("RoleArn=arn%3Aaws%3Aiam%3A%3A{account}%3Arole%2F{ROLE}");
        assert!(
            assumed
                .iter()
                .any(|r| r["body"].as_str().unwrap().contains(&arn)),
            "{account}: {assumed:?}"
        );
    }
    assert!(assumed.iter().all(|r| r["body"]
        .as_str()
        .unwrap()
        .contains("RoleSessionName=codedeploy-tg-hook-audit")));
    // 22 accounts' lists, the first account's in two pages of one enabled region each.
    assert_eq!(requests_of(&requests, "ListRegions").len(), 23);
    // Every enabled region of every account listed once: 20 accounts with the default region,
    // two with two each (the listings: the calls that name no group).
    let listings = requests_of(&requests, "DescribeAutoScalingGroups")
        .into_iter()
        .filter(|r| {
            !r["body"]
                .as_str()
                .unwrap()
                .contains("AutoScalingGroupNames")
        })
        .count();
    assert_eq!(listings, 24);

    let (code, fixed) = audit(&moto, &[&everywhere[..], &["--fix"]].concat());
    assert_eq!(code, Some(0), "{fixed}");
    for (world, account, _) in &worlds {
        let r = row(&fixed, &world.replacement_group);
        assert_eq!(r["status"], "repaired", "{r}");
        assert_eq!(r["account"], json!(account), "{r}");
    }
    let (code, again) = audit(&moto, &everywhere);
    assert_eq!(code, Some(0), "every group now has its sources: {again}");
    assert!(rows(&again).iter().all(|r| r["status"] == "ok"), "{again}");
}

/// What cannot be reached is one error row and the rest is reported: an account whose role
/// cannot be assumed (one row for the account, no region), a region whose calls the account's
/// session cannot make (a region not enabled: one row for that account and region), an
/// organization that cannot be listed.
#[test]
fn a_denied_role_and_a_disabled_region_are_one_error_row_each_and_the_rest_is_audited() {
    let moto = Moto::start();
    let (_, members) = organization(&moto, 2);
    let (open, closed) = (&members[0], &members[1]);
    let east = broken_world(&moto, "org-d-east", open, "us-east-1");
    broken_world(&moto, "org-d-closed", closed, "us-east-1");
    moto.fault_with(
        "AssumeRole",
        "access-denied",
        10_000,
        &[closed.as_str()],
        json!({"service": "sts"}),
    );
    moto.fault_with(
        "DescribeAutoScalingGroups",
        "region-disabled",
        10_000,
        &[],
        json!({"region": "ap-east-1", "account": open}),
    );
    let accounts = format!("{closed},{open}");
    let args = [
        "--accounts",
        accounts.as_str(),
        "--role-name",
        ROLE,
        "--regions",
        "us-east-1,ap-east-1",
    ];
    let (code, report) = audit(&moto, &args);
    assert_eq!(code, Some(1), "an error row exits 1: {report}");
    assert_eq!(rows(&report).len(), 3, "{report}");
    let unreached = rows(&report)
        .iter()
        .find(|r| r["account"] == json!(closed))
        .unwrap();
    assert_eq!(unreached["status"], "error", "{unreached}");
    assert_eq!(unreached["region"], "", "the account itself: {unreached}");
    assert_eq!(unreached["autoScalingGroup"], "", "{unreached}");
    let reason = unreached["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!(
            "could not assume arn:aws:iam::{closed}:role/{ROLE}"
        )) && reason.contains("sts:AssumeRole failed: AccessDenied")
            && reason.contains("is infra/audit-role.yaml deployed in that account"),
        "{reason}"
    );
    let disabled = rows(&report)
        .iter()
        .find(|r| r["region"] == "ap-east-1")
        .unwrap();
    assert_eq!(disabled["account"], json!(open), "{disabled}");
    assert_eq!(disabled["status"], "error", "{disabled}");
    let reason = disabled["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!(
            "could not list the Auto Scaling groups of account {open} in ap-east-1"
        )) && reason.contains("InvalidClientTokenId"),
        "{reason}"
    );
    let r = row(&report, &east.replacement_group);
    assert_eq!(r["status"], "missing", "{r}");
    assert_eq!(r["account"], json!(open), "{r}");

    // The table: a heading per account and region, and one for the account not reached.
    let output = moto
        .cli()
        .arg("audit")
        .args(args)
        .args(["--output", "table"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("ErrorMetadata"),
        "the refusal is on its row, not dumped by the SDK: {stderr}"
    );
    for heading in [
        format!("account {open}, us-east-1:"),
        format!("account {open}, ap-east-1:"),
        format!("account {closed}:"),
    ] {
        assert!(text.contains(&heading), "{heading}: {text}");
    }
    assert!(
        text.contains(
            "in 2 accounts and 2 regions (2 not listed), 1 replacement groups: 0 ok, 1 missing"
        ),
        "{text}"
    );
    assert!(text.lines().all(|l| l.chars().count() <= 120), "{text}");

    // An account whose regions cannot be listed (--regions all): one row for the account.
    moto.fault_with(
        "ListRegions",
        "access-denied",
        10_000,
        &[],
        json!({"account": open, "service": "account"}),
    );
    let (code, report) = audit(&moto, &["--accounts", open.as_str(), "--regions", "all"]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(rows(&report).len(), 1, "{report}");
    let only = &rows(&report)[0];
    assert_eq!(
        (&only["account"], &only["region"]),
        (&json!(open), &json!("")),
        "{only}"
    );
    let reason = only["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!(
            "could not list the enabled regions of account {open}"
        )) && reason.contains("account:ListRegions failed: AccessDenied"),
        "{reason}"
    );

    // The organization's accounts not listed: the one row says so.
    moto.fault_with("ListAccounts", "access-denied", 10_000, &[], json!({}));
    // (--role-name's default is the audit role's.)
    let (code, report) = audit(&moto, &["--accounts", "organization"]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(rows(&report).len(), 1, "{report}");
    let reason = rows(&report)[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("could not list the organization's accounts")
            && reason.contains("organizations:ListAccounts"),
        "{reason}"
    );
}

/// `--role-name` needs `--accounts`, and each value is checked before any call: the command line
/// refuses them, exit 2.
#[test]
fn the_command_line_refuses_a_role_without_accounts_and_malformed_values() {
    let moto = Moto::start();
    for args in [
        &["--role-name", ROLE][..],
        &["--accounts", "1111", "--role-name", ROLE],
        &["--accounts", "111111111111", "--role-name", "a/b"],
        &["--regions", "everywhere"],
    ] {
        let output = moto.cli().arg("audit").args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
    assert!(moto.requests().is_empty(), "no call was made");
}

/// The scheduled audit across accounts and regions (`AUDIT_ACCOUNTS`, `AUDIT_REGIONS`,
/// `AUDIT_ROLE_NAME`, with `AUDIT_FIX`): the function's own run, through `handle`; a value it
/// cannot take fails the run, naming the variable, before any call.
#[test]
fn the_scheduled_audit_covers_the_accounts_and_regions_its_variables_name() {
    let moto = Moto::start();
    let (_, members) = organization(&moto, 1);
    let member = &members[0];
    let here = broken_world(&moto, "org-s-east", member, "us-east-1");
    let there = broken_world(&moto, "org-s-west", member, "eu-west-1");
    let event = crate::support::write_temp(
        "scheduled-organization",
        &crate::support::event("scheduled", "", ""),
    );
    let scheduled = |vars: &[(&str, &str)]| {
        let mut command = moto.cli();
        command.arg("handle").arg(&event).env("LOG_FORMAT", "json");
        for (name, value) in vars {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    let output = scheduled(&[
        ("AUDIT_ACCOUNTS", member.as_str()),
        ("AUDIT_REGIONS", "us-east-1,eu-west-1"),
        ("AUDIT_ROLE_NAME", "auditor"),
        ("AUDIT_FIX", "true"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    for world in [&here, &there] {
        let r = row(&report, &world.replacement_group);
        assert_eq!(r["status"], "repaired", "{r}");
        assert_eq!(r["account"], json!(member), "{r}");
    }
    assert!(moto
        .requests()
        .iter()
        .any(|r| r["action"] == "AssumeRole"
            && r["body"].as_str().unwrap().contains("role%2Fauditor")));
    let document = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l.get("_aws").is_some())
        .expect("a metrics document");
    assert_eq!(document["Accounts"], json!([member]), "{document}");
    assert_eq!(
        document["Regions"],
        json!(["eu-west-1", "us-east-1"]),
        "{document}"
    );
    assert_eq!(document["GroupsRepaired"], 2, "{document}");

    moto.clear_requests();
    let output = scheduled(&[("AUDIT_ACCOUNTS", "everyone")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("AUDIT_ACCOUNTS: \"everyone\" is not an account id"),
        "{stderr}"
    );
    assert!(moto.requests().is_empty(), "no call was made");
}

/// A throttled account is throttled alone: its rows end in errors while the other account's, in
/// the same region, are checked as always (each account's calls retry in a retry partition of
/// their own: the unit test `each_account_s_session_retries_in_a_partition_of_its_own`).
#[test]
fn a_throttled_account_does_not_hold_back_the_others_in_its_region() {
    let moto = Moto::start();
    let (_, members) = organization(&moto, 2);
    let (throttled, calm) = (&members[0], &members[1]);
    let stuck = broken_world(&moto, "org-t-stuck", throttled, "us-east-1");
    let fine = broken_world(&moto, "org-t-fine", calm, "us-east-1");
    moto.fault_with(
        "GetDeployment",
        "throttle",
        10_000,
        &[],
        json!({"account": throttled}),
    );
    let accounts = format!("{throttled},{calm}");
    let (code, report) = audit(&moto, &["--accounts", accounts.as_str()]);
    assert_eq!(code, Some(1), "{report}");
    let r = row(&report, &stuck.replacement_group);
    assert_eq!(r["status"], "error", "{r}");
    // Throttled until its retries give up, or its rate limiter slows it past the call's timeout.
    let reason = r["reason"].as_str().unwrap();
    assert!(
        reason.contains("codedeploy:GetDeployment failed: Throttling")
            || reason.contains("codedeploy:GetDeployment failed: Timeout"),
        "{r}"
    );
    let r = row(&report, &fine.replacement_group);
    assert_eq!(r["status"], "missing", "{r}");
    // The calm account's GetDeployment was answered at its first attempt.
    let calls: Vec<Value> = moto
        .requests()
        .into_iter()
        .filter(|c| {
            c["action"] == "GetDeployment"
                && c["body"].as_str().unwrap().contains(&fine.deployment_id)
        })
        .collect();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["status"], 200, "{calls:?}");
}
