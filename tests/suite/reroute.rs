//! A blue/green reroute played batch by batch, as CodeDeploy runs it on EC2, with every
//! replacement instance's `AfterAllowTraffic` script running the real binary: nothing is
//! registered through the replacement group before its instances' own `AllowTraffic`, and the
//! group is complete when the reroute ends.

use std::process::Stdio;

use crate::support::{block_on, Moto, World};
use serde_json::{json, Value};

struct Reroute {
    moto: Moto,
    world: World,
    /// The replacement group's instances, sorted: the Green targets.
    instances: Vec<String>,
}

/// A deployment whose replacement group of `n` instances is installed and waits for its reroute.
fn deployment(name: &str, n: usize) -> Reroute {
    let moto = Moto::start();
    let world = moto.world(json!({"name": name, "instances": n, "reroute": "pending",
                                  "targetGroups": 2, "classicLoadBalancers": 1}));
    let instances = block_on(async {
        let clients = moto.clients().await;
        moto.instance_ids(&clients, &world.replacement_group).await
    });
    assert_eq!(instances.len(), n);
    Reroute {
        moto,
        world,
        instances,
    }
}

fn attach_calls(moto: &Moto) -> usize {
    moto.requests()
        .iter()
        .filter(|r| r["action"].as_str().unwrap_or("").starts_with("Attach"))
        .count()
}

impl Reroute {
    /// Replacement instances registered now, per traffic source.
    fn registered_green(&self) -> Vec<(String, Vec<String>)> {
        self.moto
            .registered(&self.world)
            .into_iter()
            .map(|(source, ids)| {
                let green = ids
                    .into_iter()
                    .filter(|i| self.instances.contains(i))
                    .collect();
                (source, green)
            })
            .collect()
    }

    fn assert_registered_exactly(&self, expected: &[String], when: &str) {
        let mut expected = expected.to_vec();
        expected.sort();
        for (source, ids) in self.registered_green() {
            assert_eq!(
                ids, expected,
                "{when}: replacement instances registered with {source}"
            );
        }
    }

    /// Each instance's AfterAllowTraffic script, the batch's at once; their outcomes.
    fn after_allow_traffic(&self, batch: &[String]) -> Vec<Value> {
        let id = &self.world.deployment_id;
        self.moto
            .lifecycle_event(id, batch, "AfterAllowTraffic", "InProgress");
        let children: Vec<_> = batch
            .iter()
            .map(|_| {
                self.moto
                    .hook_script(id)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("run the hook script")
            })
            .collect();
        let outcomes = children
            .into_iter()
            .map(|child| {
                let output = child.wait_with_output().unwrap();
                let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
                assert_eq!(
                    output.status.code(),
                    Some(0),
                    "the script must let the deployment go on: {stdout}{}",
                    String::from_utf8_lossy(&output.stderr)
                );
                // The outcome line, then the OK summary the console keeps.
                let lines: Vec<&str> = stdout.lines().collect();
                let [outcome, summary] = lines[..] else {
                    panic!("an outcome line and a summary: {stdout}")
                };
                assert!(summary.starts_with("codedeploy-tg-hook OK: "), "{stdout}");
                let json = outcome
                    .strip_prefix("codedeploy-tg-hook outcome: ")
                    .unwrap_or_else(|| panic!("the outcome line: {stdout}"));
                serde_json::from_str(json).unwrap()
            })
            .collect();
        self.moto
            .lifecycle_event(id, batch, "AfterAllowTraffic", "Succeeded");
        outcomes
    }

    /// Plays the reroute in batches of `batch_size`: BeforeAllowTraffic, CodeDeploy registering
    /// the batch, AllowTraffic, then every batch instance's AfterAllowTraffic script. `failing`
    /// fails its AllowTraffic (not registered; its AfterAllowTraffic is skipped).
    fn play(&self, batch_size: usize, failing: Option<&str>) {
        let id = &self.world.deployment_id;
        let batches: Vec<&[String]> = self.instances.chunks(batch_size).collect();
        let mut rerouted: Vec<String> = Vec::new();
        let mut failed_so_far = 0;
        for (i, batch) in batches.iter().enumerate() {
            let last = i + 1 == batches.len();
            self.moto
                .lifecycle_event(id, batch, "BeforeAllowTraffic", "Succeeded");
            self.assert_registered_exactly(&rerouted, &format!("batch {i} before AllowTraffic"));

            let (failed, ok): (Vec<String>, Vec<String>) = batch
                .iter()
                .cloned()
                .partition(|i| Some(i.as_str()) == failing);
            self.moto.register(&self.world, &ok);
            self.moto
                .lifecycle_event(id, &ok, "AllowTraffic", "Succeeded");
            if !failed.is_empty() {
                self.moto
                    .lifecycle_event(id, &failed, "AllowTraffic", "Failed");
                self.moto
                    .lifecycle_event(id, &failed, "AfterAllowTraffic", "Skipped");
            }
            rerouted.extend(ok.iter().cloned());
            failed_so_far += failed.len();

            let outcomes = self.after_allow_traffic(&ok);
            let kinds: Vec<&str> = outcomes
                .iter()
                .map(|o| o["outcome"].as_str().unwrap())
                .collect();
            if last {
                assert!(
                    kinds
                        .iter()
                        .all(|k| *k == "attached" || *k == "already-attached"),
                    "the batch that completes the reroute attaches: {outcomes:?}"
                );
                assert!(kinds.contains(&"attached"), "{outcomes:?}");
            } else {
                assert!(
                    kinds.iter().all(|k| *k == "waiting"),
                    "batch {i} of {}: {outcomes:?}",
                    batches.len()
                );
                let still = self.instances.len() - rerouted.len() - failed_so_far;
                for outcome in &outcomes {
                    let reason = outcome["reason"].as_str().unwrap();
                    assert!(
                        reason.contains(&format!(
                            "{still} of {} replacement instances are still to be rerouted",
                            self.instances.len()
                        )),
                        "{reason}"
                    );
                }
                assert_eq!(
                    attach_calls(&self.moto),
                    0,
                    "nothing is attached before the reroute is complete"
                );
                self.assert_registered_exactly(&rerouted, &format!("batch {i} after its scripts"));
                let clients = block_on(self.moto.clients());
                assert_eq!(
                    block_on(
                        self.moto
                            .group_sources(&clients, &self.world.replacement_group)
                    ),
                    (vec![], vec![]),
                    "batch {i}: the replacement group has no traffic source yet"
                );
            }
        }
        let clients = block_on(self.moto.clients());
        let (tgs, lbs) = block_on(
            self.moto
                .group_sources(&clients, &self.world.replacement_group),
        );
        assert_eq!(tgs, self.world.all_target_groups_sorted());
        assert_eq!(lbs, self.world.load_balancers);
    }
}

#[test]
fn one_at_a_time_attaches_only_at_the_last_instance_and_registers_none_early() {
    let r = deployment("rr-one", 4);
    r.play(1, None);
    r.assert_registered_exactly(&r.instances, "after the reroute");
}

#[test]
fn half_at_a_time_attaches_only_in_the_second_batch() {
    let r = deployment("rr-half", 4);
    r.play(2, None);
    r.assert_registered_exactly(&r.instances, "after the reroute");
}

#[test]
fn all_at_once_attaches_in_its_one_batch() {
    let r = deployment("rr-all", 4);
    r.play(4, None);
    r.assert_registered_exactly(&r.instances, "after the reroute");
}

#[test]
fn an_instance_that_failed_allow_traffic_does_not_hold_the_group_back() {
    let r = deployment("rr-fail", 3);
    let failing = r.instances[1].clone();
    r.play(1, Some(&failing));
}

#[test]
fn attach_by_hand_mid_reroute_waits_and_attaches_nothing() {
    let r = deployment("rr-hand", 2);
    let id = &r.world.deployment_id;
    r.moto.register(&r.world, &r.instances[..1]);
    r.moto
        .lifecycle_event(id, &r.instances[..1], "AllowTraffic", "Succeeded");
    let output = r
        .moto
        .cli()
        .args(["attach", "--deployment-id", id])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(outcome["outcome"], "waiting", "{outcome}");
    assert_eq!(outcome["attached"]["targetGroupArns"], json!([]));
    assert!(outcome["reason"]
        .as_str()
        .unwrap()
        .contains("1 of 2 replacement instances are still to be rerouted"));
    // A dry run says the same: it would not attach now either.
    let dry = r
        .moto
        .cli()
        .args(["attach", "--deployment-id", id, "--dry-run"])
        .output()
        .unwrap();
    let outcome: Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(outcome["outcome"], "waiting", "{outcome}");
    assert_eq!(attach_calls(&r.moto), 0);
    r.assert_registered_exactly(&r.instances[..1], "after attach mid-reroute");
}
