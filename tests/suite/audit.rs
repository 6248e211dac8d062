//! `audit` and `audit --fix` over a whole (moto) account, through the real binary.

use crate::support::{audit, row, Moto, World};
use serde_json::{json, Value};

struct Account {
    broken: World,
    partial: World,
    complete: World,
    in_place: World,
}

fn account(moto: &Moto) -> Account {
    Account {
        broken: moto.world(json!({"name": "au-broken", "status": "Succeeded"})),
        partial: moto.world(
            json!({"name": "au-part", "status": "Succeeded", "targetGroups": 2,
            "classicLoadBalancers": 2, "attachedTargetGroups": 1, "attachedLoadBalancers": 1}),
        ),
        complete: moto.world(
            json!({"name": "au-done", "status": "Succeeded", "attachedTargetGroups": 2,
            "attachedLoadBalancers": 1}),
        ),
        in_place: moto.world(
            json!({"name": "au-inplace", "status": "Succeeded", "deploymentType": "IN_PLACE",
            "createReplacement": false}),
        ),
    }
}

async fn sources(moto: &Moto, group: &str) -> (Vec<String>, Vec<String>) {
    moto.sources(group).await
}

#[test]
fn audit_reports_each_replacement_group_and_an_unknown_deployment_makes_it_exit_1() {
    let moto = Moto::start();
    let a = account(&moto);
    moto.harness("group", json!({"name": "CodeDeploy_gone_dg_d-UNKNOWN01"}));

    let (code, report) = audit(&moto, &[]);
    assert_eq!(code, Some(1), "{report}");
    // Four worlds make 4 originals + 4 unrelated + 3 replacements, plus the unknown one.
    assert_eq!(report["scanned"], 12);
    assert_eq!(
        report["rows"].as_array().unwrap().len(),
        4,
        "only CodeDeploy_ groups are listed: {report}"
    );

    let broken = row(&report, &a.broken.replacement_group);
    assert_eq!(broken["status"], "missing");
    assert_eq!(broken["deploymentId"], a.broken.deployment_id.as_str());
    assert_eq!(broken["deploymentGroup"], "au-broken_dg");
    assert_eq!(broken["targetGroups"], json!(a.broken.target_group_names));
    assert_eq!(broken["loadBalancers"], json!(a.broken.load_balancers));

    let partial = row(&report, &a.partial.replacement_group);
    assert_eq!(partial["status"], "missing");
    assert_eq!(
        partial["targetGroups"],
        json!([a.partial.target_group_names[1]])
    );
    assert_eq!(
        partial["loadBalancers"],
        json!([a.partial.load_balancers[1]])
    );

    assert_eq!(row(&report, &a.complete.replacement_group)["status"], "ok");

    let unknown = row(&report, "CodeDeploy_gone_dg_d-UNKNOWN01");
    assert_eq!(unknown["status"], "error");
    assert_eq!(unknown["deploymentGroup"], "gone_dg");
    assert!(
        unknown["reason"]
            .as_str()
            .unwrap()
            .contains("DeploymentDoesNotExistException"),
        "{unknown}"
    );

    // Without --fix nothing changed.
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(
        rt.block_on(sources(&moto, &a.broken.replacement_group)),
        (vec![], vec![])
    );

    // --fix repairs the others and still exits 1 for the unknown one.
    let (code, fixed) = audit(&moto, &["--fix"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        row(&fixed, &a.broken.replacement_group)["status"],
        "repaired"
    );
    assert_eq!(
        row(&fixed, &a.partial.replacement_group)["status"],
        "repaired"
    );
    assert_eq!(
        row(&fixed, &a.partial.replacement_group)["targetGroups"],
        json!([a.partial.target_group_names[1]])
    );
    assert_eq!(
        row(&fixed, "CodeDeploy_gone_dg_d-UNKNOWN01")["status"],
        "error"
    );
    assert_eq!(
        rt.block_on(sources(&moto, "CodeDeploy_gone_dg_d-UNKNOWN01")),
        (vec![], vec![])
    );
}

#[test]
fn audit_exits_3_when_something_is_missing_and_0_after_fix_and_touches_nothing_else() {
    let moto = Moto::start();
    let a = account(&moto);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let unrelated_before = rt.block_on(sources(&moto, &a.broken.unrelated_group));
    let in_place_before = rt.block_on(sources(&moto, &a.in_place.original_group));

    let (code, _) = audit(&moto, &[]);
    assert_eq!(code, Some(3));
    let (code, fixed) = audit(&moto, &["--fix", "--concurrency", "2"]);
    assert_eq!(code, Some(0), "{fixed}");
    let (code, again) = audit(&moto, &[]);
    assert_eq!(code, Some(0));
    for r in again["rows"].as_array().unwrap() {
        assert_ne!(r["status"], "missing", "{r}");
    }

    for world in [&a.broken, &a.partial] {
        let (tgs, lbs) = rt.block_on(sources(&moto, &world.replacement_group));
        assert_eq!(tgs, world.all_target_groups_sorted());
        assert_eq!(lbs, world.load_balancers);
    }
    assert_eq!(
        rt.block_on(sources(&moto, &a.broken.unrelated_group)),
        unrelated_before
    );
    assert_eq!(
        rt.block_on(sources(&moto, &a.in_place.original_group)),
        in_place_before
    );
}

#[test]
fn audit_table_lists_rows_and_a_summary() {
    let moto = Moto::start();
    let world = moto.world(json!({"name": "au-tab", "status": "Succeeded"}));
    let output = moto
        .cli()
        .args(["audit", "--output", "table"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains(&world.replacement_group), "{text}");
    assert!(text.contains("missing"), "{text}");
    assert!(
        text.contains("scanned 3 Auto Scaling groups, 1 replacement groups: 0 ok, 1 missing"),
        "{text}"
    );
}

#[test]
fn audit_keeps_to_the_live_fleet_after_the_reroute_and_to_codedeploys_own_names() {
    let moto = Moto::start();
    let live = moto.world(json!({"name": "au-live", "status": "Succeeded"}));
    let old = moto.world(json!({"name": "au-old", "status": "Succeeded"}));
    moto.supersede(&old);
    let mid = moto.world(json!({"name": "au-mid", "instances": 2, "reroute": "pending"}));
    // Groups of the user's own whose names merely start like CodeDeploy's.
    moto.harness("group", json!({"name": "CodeDeploy_my_tools"}));
    moto.harness("group", json!({"name": "CodeDeploy_web_dg_d-notAnId1"}));

    let (code, report) = audit(&moto, &[]);
    assert_eq!(code, Some(3), "only the live group is missing: {report}");
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        3,
        "no row for a user's own CodeDeploy_ group: {report}"
    );
    let old_row = row(&report, &old.replacement_group);
    assert_eq!(old_row["status"], "skipped");
    assert!(
        old_row["reason"].as_str().unwrap().contains("superseded"),
        "{old_row}"
    );
    assert_eq!(old_row["targetGroups"], json!([]));
    let mid_row = row(&report, &mid.replacement_group);
    assert_eq!(mid_row["status"], "waiting");
    assert!(
        mid_row["reason"]
            .as_str()
            .unwrap()
            .contains("2 of 2 replacement instances are still to be rerouted"),
        "{mid_row}"
    );
    assert_eq!(row(&report, &live.replacement_group)["status"], "missing");

    moto.clear_requests();
    let (code, fixed) = audit(&moto, &["--fix"]);
    assert_eq!(code, Some(0), "{fixed}");
    assert_eq!(row(&fixed, &live.replacement_group)["status"], "repaired");
    assert_eq!(row(&fixed, &old.replacement_group)["status"], "skipped");
    assert_eq!(row(&fixed, &mid.replacement_group)["status"], "waiting");
    assert!(
        !moto.attach_calls_naming(&live.replacement_group).is_empty(),
        "the request log shows attach bodies"
    );
    for group in [
        &old.replacement_group,
        &mid.replacement_group,
        "CodeDeploy_my_tools",
        "CodeDeploy_web_dg_d-notAnId1",
    ] {
        assert_eq!(
            moto.attach_calls_naming(group),
            Vec::<Value>::new(),
            "{group}"
        );
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    for group in [&old.replacement_group, &mid.replacement_group] {
        assert_eq!(
            rt.block_on(sources(&moto, group)),
            (vec![], vec![]),
            "{group}"
        );
    }
}

#[test]
fn audit_reads_each_deployment_groups_fleet_once() {
    let moto = Moto::start();
    moto.harness(
        "bulk",
        json!({"name": "au-bulk", "count": 3, "targetGroups": 1, "classicLoadBalancers": 0}),
    );
    let world = moto.world(json!({"name": "au-shared", "status": "Succeeded"}));
    // An earlier deployment of the same deployment group, superseded by the world's (created
    // after it here, which only matters to lastAttemptedDeployment: it ended, so it is ignored).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let earlier = rt.block_on(moto.later_deployment(&world, "Succeeded"));
    let earlier_group = format!("CodeDeploy_{}_{earlier}", world.deployment_group_name);
    moto.harness("group", json!({ "name": earlier_group }));

    moto.clear_requests();
    let (code, report) = audit(&moto, &[]);
    assert_eq!(code, Some(3), "{report}");
    assert_eq!(report["rows"].as_array().unwrap().len(), 5, "{report}");
    assert_eq!(row(&report, &earlier_group)["status"], "skipped");
    assert_eq!(row(&report, &world.replacement_group)["status"], "missing");
    let fleet_reads = moto
        .requests()
        .iter()
        .filter(|r| r["action"] == "GetDeploymentGroup")
        .count();
    assert_eq!(
        fleet_reads, 4,
        "5 groups of 4 deployment groups (3 bulk + au-shared's two): {report}"
    );
}

#[test]
fn audit_fix_attaches_nothing_to_a_group_superseded_since_its_fleet_was_read() {
    let moto = Moto::start();
    let world = moto.world(json!({"name": "au-moved", "status": "Succeeded"}));
    // The fleet is read (and kept for the audit); a later deployment's success moves it on
    // before the second read, the one --fix makes before attaching.
    moto.supersede_when(&world, "GetDeploymentGroup", 1);
    moto.clear_requests();
    let (code, fixed) = audit(&moto, &["--fix"]);
    let r = row(&fixed, &world.replacement_group);
    assert_eq!(r["status"], "skipped", "{fixed}");
    assert!(r["reason"].as_str().unwrap().contains("superseded"), "{r}");
    assert_eq!(code, Some(0), "{fixed}");
    assert_eq!(
        moto.attach_calls_naming(&world.replacement_group),
        Vec::<Value>::new()
    );
    let fleet_reads = moto
        .requests()
        .iter()
        .filter(|r| r["action"] == "GetDeploymentGroup")
        .count();
    assert_eq!(fleet_reads, 2, "the fleet is read again before attaching");
}

/// `--regions`: one report over several regions, each row saying its region and `--fix` repairing
/// in each; without it, only the configured region; a region whose groups cannot be listed is
/// one error row, and the other regions are reported all the same.
#[test]
fn audit_over_several_regions_reports_and_repairs_each_and_an_unlisted_region_is_one_row() {
    let moto = Moto::start();
    let east = moto.world(json!({"name": "au-east", "status": "Succeeded"}));
    let west = moto.world(json!({"name": "au-west", "status": "Succeeded", "region": "eu-west-1"}));

    let (code, only_east) = audit(&moto, &[]);
    assert_eq!(code, Some(3), "{only_east}");
    assert_eq!(only_east["regions"], json!(["us-east-1"]), "{only_east}");
    assert_eq!(
        only_east["rows"].as_array().unwrap().len(),
        1,
        "{only_east}"
    );

    let (code, report) = audit(&moto, &["--regions", "us-east-1,eu-west-1"]);
    assert_eq!(code, Some(3), "{report}");
    assert_eq!(
        report["regions"],
        json!(["eu-west-1", "us-east-1"]),
        "{report}"
    );
    assert_eq!(report["scanned"], 6, "{report}");
    for (world, region) in [(&east, "us-east-1"), (&west, "eu-west-1")] {
        let r = row(&report, &world.replacement_group);
        assert_eq!(r["region"], region, "{r}");
        assert_eq!(r["status"], "missing", "{r}");
        assert_eq!(r["targetGroups"], json!(world.target_group_names), "{r}");
        assert_eq!(r["loadBalancers"], json!(world.load_balancers), "{r}");
    }

    let (code, fixed) = audit(&moto, &["--regions", "eu-west-1,us-east-1", "--fix"]);
    assert_eq!(code, Some(0), "{fixed}");
    for world in [&east, &west] {
        assert_eq!(
            row(&fixed, &world.replacement_group)["status"],
            "repaired",
            "{fixed}"
        );
    }
    let (code, again) = audit(&moto, &["--regions", "us-east-1,eu-west-1"]);
    assert_eq!(
        code,
        Some(0),
        "each region's group now has its sources: {again}"
    );
    for world in [&east, &west] {
        assert_eq!(
            row(&again, &world.replacement_group)["status"],
            "ok",
            "{again}"
        );
    }

    // eu-west-1 denies the listing: its one row says so; us-east-1's is there as before.
    moto.fault_with(
        "DescribeAutoScalingGroups",
        "access-denied",
        10_000,
        &[],
        json!({"region": "eu-west-1"}),
    );
    let (code, denied) = audit(&moto, &["--regions", "us-east-1,eu-west-1"]);
    assert_eq!(code, Some(1), "{denied}");
    let rows = denied["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{denied}");
    let west_row = rows.iter().find(|r| r["region"] == "eu-west-1").unwrap();
    assert_eq!(west_row["status"], "error", "{west_row}");
    assert_eq!(west_row["autoScalingGroup"], "", "{west_row}");
    // The caller's own account, read off us-east-1's groups, is the unlisted region's too.
    assert_eq!(west_row["account"], "123456789012", "{west_row}");
    assert_eq!(denied["accounts"], json!(["123456789012"]), "{denied}");
    let reason = west_row["reason"].as_str().unwrap();
    assert!(
        reason.contains("could not list the Auto Scaling groups in eu-west-1")
            && reason.contains("autoscaling:DescribeAutoScalingGroups"),
        "{reason}"
    );
    assert_eq!(
        row(&denied, &east.replacement_group)["status"],
        "ok",
        "{denied}"
    );

    // The table: a heading per region, within 120 columns.
    let output = moto
        .cli()
        .args([
            "audit",
            "--output",
            "table",
            "--regions",
            "us-east-1,eu-west-1",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("eu-west-1:") && text.contains("us-east-1:"),
        "{text}"
    );
    assert!(text.contains("(groups not listed)"), "{text}");
    assert!(
        text.contains("in 2 regions (1 not listed), 1 replacement groups: 1 ok"),
        "the unlisted region is no replacement group: {text}"
    );
    assert!(text.lines().all(|l| l.chars().count() <= 120), "{text}");
}

/// `--concurrency` counts the groups of every region together: at 1, the two regions' groups are
/// checked one after the other (a round of their first calls never fills a barrier of two); at 2,
/// side by side (it fills).
#[test]
fn audit_over_several_regions_shares_one_concurrency_between_them() {
    let moto = Moto::start();
    moto.world(json!({"name": "au-c-east", "status": "Succeeded"}));
    moto.world(json!({"name": "au-c-west", "status": "Succeeded", "region": "eu-west-1"}));
    let regions = ["--regions", "us-east-1,eu-west-1"];

    // A barrier that must not fill gives up soon; one that must fill waits long enough for a
    // loaded machine (the launcher's barriers, with their own timeouts).
    let barrier = |gate: &str, seconds: u32| {
        moto.fault_with(
            "GetDeployment",
            "barrier",
            2,
            &[],
            json!({"gate": gate, "size": 2, "timeout": seconds}),
        )
    };
    barrier("one at a time", 2);
    let (code, report) = audit(&moto, &[regions[0], regions[1], "--concurrency", "1"]);
    assert_eq!(code, Some(3), "{report}");
    barrier("side by side", 30);
    let (code, report) = audit(&moto, &[regions[0], regions[1], "--concurrency", "2"]);
    assert_eq!(code, Some(3), "{report}");

    let met: std::collections::BTreeMap<String, bool> = moto.barriers_met().into_iter().collect();
    assert_eq!(met.get("one at a time"), Some(&false), "{met:?}");
    assert_eq!(met.get("side by side"), Some(&true), "{met:?}");
}
