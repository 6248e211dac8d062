//! The hook's planner over every replacement group of an account and region (or of several:
//! `coverage`): discover, plan, report or fix.

pub mod coverage;
mod log;
mod scheduled;
mod table;

use coverage::{Coverage, Place};
pub use log::log_finished;
pub use scheduled::{scheduled, unchecked, ScheduledAudit, ScheduledError};
pub use table::{table, TABLE_WIDTH};

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::aws::{self, AwsError, ClientSettings, Clients};
use crate::plan::{self, GroupPlan, GroupState, Hold, Registration, Scope, TrafficSource};
use crate::run::{self, Checked, Found, Job, Mode, Progress, Reads, RunError, Settings};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowStatus {
    /// Every traffic source of the deployment is on the group.
    Ok,
    /// A traffic source is missing (and `--fix` was not given).
    Missing,
    /// Every traffic source is on the group, but a load balancer lacks some of the live group's
    /// `InService` instances (and `--fix` was not given): they get no traffic.
    Unregistered,
    /// Something was missing and is now attached or registered.
    Repaired,
    /// Not a group we repair (see the reason), e.g. one a later deployment superseded.
    Skipped,
    /// Its deployment is `InProgress` and replacement instances are still to be rerouted: not
    /// touched, even with `--fix` (the deployment's own hook attaches when the reroute completes).
    Waiting,
    /// Could not be checked or repaired (see the reason).
    Error,
}

/// One replacement group's line in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The account the group is in: the one whose role the audit assumed, else the caller's own,
    /// read off its groups' ARNs (`null` when no region listed a group).
    pub account: Option<String>,
    /// The region the group is in (every row of a report over several regions says which;
    /// empty on the row of an account that could not be reached).
    pub region: String,
    pub auto_scaling_group: String,
    pub deployment_id: String,
    pub deployment_group: String,
    pub status: RowStatus,
    /// Target group names missing from the group (with `--fix`: the ones attached).
    pub target_groups: Vec<String>,
    /// Classic load balancers missing from the group (with `--fix`: the ones attached).
    pub load_balancers: Vec<String>,
    /// After a success: the group's `InService` instances each source it has lacks (with
    /// `--fix`: the ones registered). Target groups by name.
    pub unregistered: Vec<Registration>,
    pub reason: Option<String>,
}

impl Row {
    /// A group's row before it is checked: names from the group's name, status `error`.
    fn unchecked(account: Option<&str>, region: &str, group: &str) -> Row {
        // Only CodeDeploy_<deployment-group>_<deployment-id> names reach the audit's rows (and
        // an unlisted region's row, without a group).
        let (deployment_group, deployment_id) =
            plan::parse_replacement_group_name(group).unwrap_or_default();
        Row {
            account: account.map(str::to_owned),
            region: region.to_owned(),
            auto_scaling_group: group.to_owned(),
            deployment_id: deployment_id.to_owned(),
            deployment_group: deployment_group.to_owned(),
            status: RowStatus::Error,
            target_groups: vec![],
            load_balancers: vec![],
            unregistered: vec![],
            reason: None,
        }
    }

    /// The `error` row, without a group, of an account or region whose groups were not listed
    /// (`region` empty: the account itself was not reached).
    fn unreached(account: Option<&str>, region: &str, reason: String) -> Row {
        Row {
            reason: Some(reason),
            ..Row::unchecked(account, region, "")
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The accounts audited, in order: the ones the audit assumed a role in (those it could not
    /// reach too), else the caller's own as its groups' ARNs say (none when no group was listed).
    pub accounts: Vec<String>,
    /// The regions audited, in order, each once.
    pub regions: Vec<String>,
    /// Every Auto Scaling group looked at.
    pub scanned: usize,
    pub fix: bool,
    /// One per `CodeDeploy_<deployment-group>_<deployment-id>` group, and one `error` row without
    /// a group per account or region whose groups could not be listed; sorted by account, region,
    /// then group name.
    pub rows: Vec<Row>,
}

impl Report {
    pub fn count(&self, status: RowStatus) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }

    pub fn summary(&self) -> String {
        let unlisted = self
            .rows
            .iter()
            .filter(|r| r.auto_scaling_group.is_empty())
            .count();
        let places = match (self.accounts.len(), self.regions.len()) {
            (0 | 1, 0 | 1) => None,
            (0 | 1, regions) => Some(format!("{regions} regions")),
            (accounts, 1) => Some(format!("{accounts} accounts")),
            (accounts, regions) => Some(format!("{accounts} accounts and {regions} regions")),
        };
        let not_listed = match unlisted {
            0 => String::new(),
            unlisted => format!(" ({unlisted} not listed)"),
        };
        let over = match places {
            None => not_listed,
            Some(places) => format!(" in {places}{not_listed}"),
        };
        format!(
            "scanned {} Auto Scaling groups{over}, {} replacement groups: {} ok, {} missing, {} unregistered, {} repaired, {} skipped, {} waiting, {} error",
            self.scanned,
            self.rows.len() - unlisted,
            self.count(RowStatus::Ok),
            self.count(RowStatus::Missing),
            self.count(RowStatus::Unregistered),
            self.count(RowStatus::Repaired),
            self.count(RowStatus::Skipped),
            self.count(RowStatus::Waiting),
            // The replacement groups' errors: a place not listed is counted above.
            self.count(RowStatus::Error) - unlisted,
        )
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub fix: bool,
    pub concurrency: usize,
    pub settings: Settings,
    pub deadline: Instant,
    /// The scheduled audit's `DeploymentGroupPattern`, which limits what its role may read: a
    /// group whose deployment group is outside it is `skipped` without a call; a denied read of
    /// one that may be outside it (the application is not in a replacement group's name) is
    /// `skipped`; a denied read of one inside it stays an `error` (a lost statement, a service
    /// control policy), so the alarm hears of it. `None` (an operator's audit): every denial is
    /// an error.
    pub deployment_group_pattern: Option<String>,
}

/// Lists every group, then checks (and with `fix`, repairs) each replacement group, `concurrency`
/// at a time. Only the listing itself can fail the whole audit; each group's error stays on its row.
pub async fn audit(
    clients: &Clients,
    options: &Options,
    progress: impl FnMut(&Row, usize, usize),
) -> Result<Report, AwsError> {
    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    audit_with(clients, None, options, &permits, progress).await
}

/// The audit `coverage` names: the configured account and region as `audit` does it (its
/// listing failing the whole audit), or every place `coverage::places` reaches, as one report
/// (`audit_places`). `home` are the caller's own clients; `settings` the entry's.
pub async fn audit_coverage(
    home: &Clients,
    coverage: &Coverage,
    settings: &ClientSettings,
    options: &Options,
    progress: impl FnMut(&Row, usize, usize) + Send,
) -> Result<Report, AwsError> {
    if coverage.is_configured_only() {
        return audit(home, options, progress).await;
    }
    let deadline = run::work_deadline(options.deadline);
    let (places, unreached) =
        coverage::places(coverage, home, settings, options.concurrency, deadline).await;
    Ok(audit_places(&places, unreached, options, progress).await)
}

/// Every row heard as it comes (a place's when it is checked, or not listed), with the rows so
/// far and the groups listed so far.
struct Hearing<F> {
    rows: usize,
    listed: usize,
    progress: F,
}

impl<F: FnMut(&Row, usize, usize)> Hearing<F> {
    fn hear(&mut self, row: &Row, newly_listed: usize) {
        self.rows += 1;
        self.listed += newly_listed;
        (self.progress)(row, self.rows, self.listed);
    }
}

/// Every place's audit as one report (`coverage::places`: accounts and regions), side by side,
/// `options.concurrency` groups checked at a time over all of them (one place's slow or throttled
/// groups hold only the permits they take). A place whose groups cannot be listed (a disabled
/// region, a denial, no answer) is one `error` row without a group, as is each account or region
/// `unreached` already; the others are reported all the same. `progress` hears of each row, the
/// unreached first.
async fn audit_places(
    places: &[Place],
    unreached: Vec<Row>,
    options: &Options,
    progress: impl FnMut(&Row, usize, usize) + Send,
) -> Report {
    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let hearing = std::sync::Mutex::new(Hearing {
        rows: 0,
        listed: 0,
        progress,
    });
    let hear = |row: &Row, newly_listed: usize| {
        let mut hearing = hearing.lock().unwrap_or_else(|e| e.into_inner());
        hearing.hear(row, newly_listed);
    };
    for row in &unreached {
        hear(row, 1);
    }
    let audits = places.iter().map(|place| {
        let (permits, hear) = (&permits, &hear);
        let mut listed = false;
        async move {
            let report = audit_with(
                &place.clients,
                place.account.as_deref(),
                options,
                permits,
                |row, _, total| {
                    hear(
                        row,
                        if std::mem::replace(&mut listed, true) {
                            0
                        } else {
                            total
                        },
                    )
                },
            )
            .await;
            report.unwrap_or_else(|e| {
                let account = place.account.as_deref();
                let whose = account
                    .map(|a| format!(" of account {a}"))
                    .unwrap_or_default();
                let region = &place.region;
                let row = Row::unreached(
                    account,
                    region,
                    format!("could not list the Auto Scaling groups{whose} in {region}: {e}"),
                );
                hear(&row, 1);
                Report {
                    accounts: account.map(str::to_owned).into_iter().collect(),
                    regions: vec![region.clone()],
                    scanned: 0,
                    fix: options.fix,
                    rows: vec![row],
                }
            })
        }
    });
    let reports = futures_util::future::join_all(audits).await;
    let mut accounts: Vec<String> = Vec::new();
    let mut regions: Vec<String> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut scanned = 0;
    for report in reports {
        accounts.extend(report.accounts);
        regions.extend(report.regions);
        scanned += report.scanned;
        rows.extend(report.rows);
    }
    for row in &unreached {
        accounts.extend(row.account.clone());
        regions.extend(Some(row.region.clone()).filter(|r| !r.is_empty()));
    }
    rows.extend(unreached);
    accounts.sort();
    accounts.dedup();
    regions.sort();
    regions.dedup();
    // The caller's own account, read off the groups' ARNs of one region, is the account of its
    // other regions' rows too (one whose groups were not listed says no account of its own).
    if let [only] = &accounts[..] {
        for row in rows.iter_mut().filter(|row| row.account.is_none()) {
            row.account = Some(only.clone());
        }
    }
    rows.sort_by(|a, b| {
        (&a.account, &a.region, &a.auto_scaling_group).cmp(&(
            &b.account,
            &b.region,
            &b.auto_scaling_group,
        ))
    });
    Report {
        accounts,
        regions,
        scanned,
        fix: options.fix,
        rows,
    }
}

/// `audit` with the permits it shares with other places' audits; `account`: the account the
/// clients assumed a role in (`None`: the caller's own, read off the groups' ARNs).
async fn audit_with(
    clients: &Clients,
    account: Option<&str>,
    options: &Options,
    permits: &Arc<Semaphore>,
    mut progress: impl FnMut(&Row, usize, usize),
) -> Result<Report, AwsError> {
    let region = clients.region().unwrap_or_default().to_owned();
    // The listing takes a permit too: a place's first call waits its turn with the others'.
    let listing = permits.acquire().await;
    let (groups, read_account) =
        aws::autoscaling::describe_all_groups_and_account(clients.autoscaling()).await?;
    drop(listing);
    let account = account.map(str::to_owned).or(read_account);
    let scanned = groups.len();
    // Only CodeDeploy's own names: a user's group that merely starts with CodeDeploy_ is not a
    // replacement group, so it gets no row at all (never an error).
    let replacement_groups: Vec<GroupState> = groups
        .into_iter()
        .filter(|g| {
            plan::parse_replacement_group_name(&g.name)
                .is_some_and(|(_, id)| plan::is_deployment_id(id))
        })
        .collect();
    // The reads the audit makes once however many groups share them.
    let reads = Reads::default();
    let total = replacement_groups.len();
    let mut tasks = JoinSet::new();
    // A task that dies (a panic) still gets its group's row.
    let mut group_of_task = HashMap::with_capacity(total);
    for group in replacement_groups {
        let name = group.name.clone();
        let (clients, options, permits, reads, region, account) = (
            clients.clone(),
            options.clone(),
            permits.clone(),
            reads.clone(),
            region.clone(),
            account.clone(),
        );
        let task = tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let place = (account.as_deref(), region.as_str());
            check_group(&clients, place, group, &options, &reads).await
        });
        group_of_task.insert(task.id(), name);
    }
    let mut rows = Vec::with_capacity(total);
    while let Some(joined) = tasks.join_next().await {
        let row = match joined {
            Ok(row) => row,
            Err(e) => {
                let group = group_of_task.get(&e.id()).map_or("?", String::as_str);
                let mut row = Row::unchecked(account.as_deref(), &region, group);
                row.reason = Some(format!("internal error: {e}"));
                row
            }
        };
        progress(&row, rows.len() + 1, total);
        rows.push(row);
    }
    rows.sort_by(|a, b| a.auto_scaling_group.cmp(&b.auto_scaling_group));
    Ok(Report {
        accounts: account.into_iter().collect(),
        regions: vec![region],
        scanned,
        fix: options.fix,
        rows,
    })
}

async fn check_group(
    clients: &Clients,
    (account, region): (Option<&str>, &str),
    group: GroupState,
    options: &Options,
    reads: &Reads,
) -> Row {
    let mut row = Row::unchecked(account, region, &group.name);
    let deployment_id = row.deployment_id.clone();
    let deployment_group = plan::parse_replacement_group_name(&group.name)
        .map_or("", |(deployment_group, _)| deployment_group);
    let pattern = options.deployment_group_pattern.as_deref();
    let scope = pattern.map(|pattern| plan::scope(pattern, deployment_group));
    if scope == Some(Scope::Outside) {
        row.status = RowStatus::Skipped;
        row.reason = Some(format!(
            "deployment group {deployment_group} is outside DeploymentGroupPattern ({}): not this function's to check",
            pattern.unwrap_or_default()
        ));
        return row;
    }
    let job = Job {
        deployment_id: &deployment_id,
        mode: if options.fix {
            Mode::CheckThenRepair
        } else {
            Mode::DryRun
        },
        expect_reroute: false,
        listed_group: Some(&group),
        work_deadline: run::work_deadline(options.deadline),
    };
    // The one workflow's check (`run::check_deployment`): checked, and with `--fix` repaired, by
    // the hook's own rules. The audit adds only the group it found, its shared reads, the row.
    let checked = run::check_deployment(
        clients,
        &job,
        reads,
        &options.settings,
        &Progress::default(),
    )
    .await
    .and_then(|checked| match checked {
        // The run is narrowed to the listed group: without its plan it was not found.
        Checked::Found(check) if check.plans.is_empty() => Err(RunError::MissingGroups {
            groups: vec![group.name.clone()],
        }),
        checked => Ok(checked),
    });
    match checked {
        Ok(Checked::Held(Hold::Skipped(skip))) => {
            row.status = RowStatus::Skipped;
            row.reason = Some(skip.to_string());
        }
        Ok(Checked::Held(Hold::Waiting(waiting))) => {
            row.status = RowStatus::Waiting;
            row.reason = Some(waiting.to_string());
        }
        Ok(Checked::Found(check)) => {
            // Never empty here: a check without plans is `MissingGroups`, above.
            if let Some(group_plan) = check.plans.first().cloned() {
                fill_row(&mut row, &group_plan, check);
            }
        }
        // Only a denied GetDeployment: a denial of the reroute's or the fleet's reads (their own
        // actions) is a fault to show, not a scope to take it as.
        Err(RunError::Deployment { source, .. })
            if scope == Some(Scope::Unknown)
                && source.is_access_denied()
                && source.action == "codedeploy:GetDeployment" =>
        {
            row.status = RowStatus::Skipped;
            row.reason = Some(format!(
                "taken as outside DeploymentGroupPattern ({}), which may leave out its application: {source}",
                pattern.unwrap_or_default()
            ));
        }
        Err(e) => {
            tracing::warn!(
                deployment_id, auto_scaling_group = group.name, error_code = e.code().unwrap_or(""),
                error = %e, "audit could not check group"
            );
            let denied_inside = scope == Some(Scope::Inside)
                && matches!(&e, RunError::Deployment { source, .. } if source.is_access_denied());
            row.reason = Some(if denied_inside {
                format!(
                    "{e} (DeploymentGroupPattern ({}) includes deployment group {deployment_group}: a policy statement or a service control policy denies the audit function)",
                    pattern.unwrap_or_default()
                )
            } else {
                e.to_string()
            });
        }
    }
    row
}

/// The row of a checked group: what it lacks (with `--fix`: what was attached and registered),
/// its status, and what is still pending; a group the fleet left since the check is skipped,
/// saying what this run attached before it moved.
fn fill_row(row: &mut Row, group_plan: &GroupPlan, check: Found) {
    // A target group as the row names it: by name (its ARN if unknown).
    let name_of = |arn: &String| {
        check
            .target_group_names
            .get(arn)
            .cloned()
            .unwrap_or_else(|| arn.clone())
    };
    let target_groups: Vec<String> = group_plan
        .missing_target_group_arns
        .iter()
        .map(name_of)
        .collect();
    let load_balancers = group_plan.missing_load_balancer_names.clone();
    if let Some(reason) = check.no_longer_live {
        row.status = RowStatus::Skipped;
        row.reason = Some(if check.repaired {
            format!(
                "{reason} (after this run attached {})",
                [&target_groups[..], &load_balancers[..]]
                    .concat()
                    .join(", ")
            )
        } else {
            reason
        });
        return;
    }
    let by_name = |source: &TrafficSource| match source {
        TrafficSource::TargetGroup(arn) => TrafficSource::TargetGroup(name_of(arn)),
        other => other.clone(),
    };
    let sources_missing = !(target_groups.is_empty() && load_balancers.is_empty());
    row.status = match (
        sources_missing,
        !check.unregistered.is_empty(),
        check.repaired,
    ) {
        (false, false, _) => RowStatus::Ok,
        (_, _, true) => RowStatus::Repaired,
        (true, _, false) => RowStatus::Missing,
        (false, true, false) => RowStatus::Unregistered,
    };
    row.unregistered = check
        .unregistered
        .iter()
        .map(|r| Registration {
            traffic_source: by_name(&r.traffic_source),
            instance_ids: r.instance_ids.clone(),
        })
        .collect();
    if !check.pending.is_empty() && check.unread.is_empty() {
        row.reason = Some(format!("still Adding: {}", check.pending.join(", ")));
    } else if !check.pending.is_empty() {
        row.reason = Some(run::after_unread(&check.pending, &check.unread));
    }
    row.target_groups = target_groups;
    row.load_balancers = load_balancers;
}
