//! The one workflow, for every caller (a lifecycle hook, a notification, `attach`, the audit): read
//! the deployment, judge its moment, plan, attach, confirm, serve the live fleet; a step a file, in
//! the order the data flows, chained only here. The trigger's boundary (deadline, panic, outcome,
//! hook status) wraps it.

mod attach;
mod boundary;
mod confirm;
mod error;
mod facts;
mod outcome;
mod progress;
mod serve;
mod settings;
mod trigger;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use tokio::time::Instant;

use crate::aws::Clients;
use crate::plan::{
    self, GroupPlan, GroupState, Hold, Moment, Registration, RegistrationGaps, Skip, Waiting, Work,
};

use attach::attach;
pub use boundary::{guard, work_deadline};
pub use confirm::after_unread;
use confirm::{confirm, ConfirmWindow, Confirmed};
pub use error::RunError;
use facts::{read_moment, DeploymentFacts, Fleets, Listings, Read};
pub use outcome::ALREADY_COMPLETED;
pub use progress::Progress;
use serve::{check_registration, serve, Served};
pub use settings::{parse_seconds, seconds, seconds_from_env, Settings, LONGEST, REPORT_MARGIN};
pub use trigger::{execute, execute_work, handle_decoded};

/// What a run is asked to do with a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Plan and check; change nothing (`attach --dry-run`, `audit` without `--fix`).
    DryRun,
    /// Attach what is missing, confirm it, and after a success serve the live fleet (a lifecycle
    /// hook, a notification, `attach`).
    Repair,
    /// Check as `DryRun`, then repair only what the check found lacking (`audit --fix`).
    CheckThenRepair,
}

/// One deployment's run.
#[derive(Debug, Clone)]
pub struct Job<'a> {
    pub deployment_id: &'a str,
    pub mode: Mode,
    /// The trigger usually comes while the deployment is under way (a lifecycle hook, a direct
    /// call from an appspec script): its replacement instances are then read beside
    /// `GetDeployment`, so judging the reroute adds no round to the critical path.
    pub expect_reroute: bool,
    /// The replacement group the audit found and described: the run is narrowed to it (if its
    /// deployment names it), and it is not described again.
    pub listed_group: Option<&'a GroupState>,
    /// When the work must stop; it bounds the confirm window.
    pub work_deadline: Instant,
}

/// Reads a run may share with others: the audit shares them over all its groups (each
/// deployment group's fleet, each source's registrations read once); a single run has its own.
#[derive(Debug, Clone, Default)]
pub struct Reads {
    fleets: Fleets,
    listings: Listings,
}

/// What a run did for one deployment (`run_deployment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunResult {
    Skipped(Skip),
    /// `InProgress` and the reroute is not complete: nothing attached, a success.
    Waiting(Waiting),
    /// `DryRun` and `CheckThenRepair`: what was lacking, and what the repair did about it.
    Checked(Found),
    /// `Mode::Repair`: attached what was missing (what, is in the run's `Progress`) and confirmed it.
    Done {
        groups: Vec<String>,
        /// Attached, and `Adding` at the last read-back that answered.
        pending: Vec<String>,
        /// A read-back after that one failed or did not answer: which, and how.
        unread: Vec<String>,
        /// After a success, sources whose registrations were not checked: Auto Scaling is still
        /// `Adding` them to a group (and registering its instances itself).
        registration_pending: Vec<String>,
        /// After a success, why nothing was registered: the groups stopped being live.
        not_registered: Option<String>,
    },
}

/// What a check found lacking, and (`CheckThenRepair`) what the repair did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// One per live replacement group: what it has, and lacks.
    pub plans: Vec<GroupPlan>,
    /// Target group name by ARN (the deployment group names them by name).
    pub target_group_names: BTreeMap<String, String>,
    /// After a success: the `InService` instances each source the groups already have lacks;
    /// after a repair, the ones registered.
    pub unregistered: Vec<Registration>,
    /// Sources still `Adding`: their registrations were not checked (or, after an attach, the
    /// confirm window closed before they were `Added`).
    pub pending: Vec<String>,
    /// After an attach, a read-back that failed or did not answer after one that listed the
    /// sources: which, and how.
    pub unread: Vec<String>,
    /// Something was attached or registered.
    pub repaired: bool,
    /// The fleet moved on before the repair could register: why (nothing registered).
    pub no_longer_live: Option<String>,
}

impl Found {
    fn lacks_nothing(&self) -> bool {
        self.plans.iter().all(GroupPlan::is_complete) && self.unregistered.is_empty()
    }
}

/// What a check (`check_deployment`, the audit's entry) came to: held (skipped, waiting), or
/// what it found lacking and what its repair did. Never a hook's `Done`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    Held(Hold),
    Found(Found),
}

impl From<Hold> for RunResult {
    fn from(hold: Hold) -> Self {
        match hold {
            Hold::Waiting(waiting) => RunResult::Waiting(waiting),
            Hold::Skipped(skip) => RunResult::Skipped(skip),
        }
    }
}

impl From<Checked> for RunResult {
    fn from(checked: Checked) -> Self {
        match checked {
            Checked::Held(hold) => hold.into(),
            Checked::Found(check) => RunResult::Checked(check),
        }
    }
}

/// One deployment, read, judged and repaired, in the order the README's "How it works" tells
/// it: the hook, a notification and `attach` come through here (`Mode::Repair`; `attach
/// --dry-run`: `Mode::DryRun`, which only checks).
pub async fn run_deployment(
    clients: &Clients,
    job: &Job<'_>,
    reads: &Reads,
    settings: &Settings,
    progress: &Progress,
) -> Result<RunResult, RunError> {
    if job.mode != Mode::Repair {
        return Ok(check_deployment(clients, job, reads, settings, progress)
            .await?
            .into());
    }
    // 1. The deployment, its moment (is the reroute complete? is the group still live?) and the
    //    plan's reads: what the groups have, and lack.
    let DeploymentFacts { work, plans, .. } =
        match facts::read(clients, job, reads, progress).await? {
            Read::Act(facts) => facts,
            Read::Stop(hold) => return Ok(hold.into()),
        };
    // 2. Attach what is missing and 3. confirm it, then 4. after a success, serve the live
    //    fleet.
    repair_now(clients, job, &work, &plans, settings, progress).await
}

/// One deployment checked, and with `Mode::CheckThenRepair` repaired where the check found it
/// lacking: the audit's entry (`Mode::DryRun` without `--fix`). Any other mode only checks.
pub async fn check_deployment(
    clients: &Clients,
    job: &Job<'_>,
    reads: &Reads,
    settings: &Settings,
    progress: &Progress,
) -> Result<Checked, RunError> {
    // 1. As `run_deployment`'s.
    let DeploymentFacts {
        work,
        target_groups,
        groups,
        plans,
    } = match facts::read(clients, job, reads, progress).await? {
        Read::Act(facts) => facts,
        Read::Stop(hold) => return Ok(Checked::Held(hold)),
    };
    // 2. What is lacking now: the sources, and after a success the registrations with the
    //    sources the groups already have (Auto Scaling registers a group's instances with a
    //    source when it attaches it).
    let registration = if work.succeeded {
        check_registration(clients, &plans, &groups, false, &reads.listings).await?
    } else {
        RegistrationGaps::default()
    };
    let mut check = Found {
        plans,
        target_group_names: target_groups.into_iter().map(|(n, a)| (a, n)).collect(),
        unregistered: registration.to_register,
        pending: registration.pending,
        unread: Vec::new(),
        repaired: false,
        no_longer_live: None,
    };
    if job.mode != Mode::CheckThenRepair || check.lacks_nothing() {
        return Ok(Checked::Found(check));
    }
    // 3. Repair what the check found: attach (if the fleet, read again now, still names the
    //    groups: a check may be minutes old), confirm, and register what was lacking.
    let mut incomplete: Vec<&GroupPlan> = check.plans.iter().filter(|p| !p.is_complete()).collect();
    if !incomplete.is_empty() {
        if work.moment == Moment::LiveFleet {
            let fleet_now = read_moment(clients, &work, &Fleets::default()).await?;
            match plan::at_moment(work.clone(), &fleet_now) {
                // Only the groups the fleet still names.
                Ok(live) => {
                    incomplete.retain(|p| live.replacement_groups.contains(&p.auto_scaling_group))
                }
                Err(hold) => return Ok(Checked::Held(hold)),
            }
        }
        for group_plan in &incomplete {
            attach(clients, group_plan, progress).await?;
        }
        let confirmed = confirm_all(clients, &incomplete, settings, job).await?;
        check.pending.extend(confirmed.pending);
        check.unread.extend(confirmed.unread);
        check.repaired = true;
    }
    if work.succeeded && !check.unregistered.is_empty() {
        match serve(clients, &work, &check.plans, progress).await? {
            Served::Registered {
                registered,
                pending,
            } => {
                check.repaired |= !registered.is_empty();
                check.unregistered = registered;
                check.pending.extend(pending);
            }
            Served::NotLive(reason) => check.no_longer_live = Some(reason),
        }
    }
    Ok(Checked::Found(check))
}

/// `Mode::Repair` after the facts: every group's attach first, then their read-backs together in
/// one window (no group waits for another's window), then after a success the live fleet served
/// (attaching after a deployment may deregister instances; during one CodeDeploy owns
/// registration).
async fn repair_now(
    clients: &Clients,
    job: &Job<'_>,
    work: &Work,
    plans: &[GroupPlan],
    settings: &Settings,
    progress: &Progress,
) -> Result<RunResult, RunError> {
    let incomplete: Vec<&GroupPlan> = plans.iter().filter(|p| !p.is_complete()).collect();
    for group_plan in &incomplete {
        attach(clients, group_plan, progress).await?;
    }
    let Confirmed { pending, unread } = confirm_all(clients, &incomplete, settings, job).await?;
    let mut not_registered = None;
    let mut registration_pending = Vec::new();
    if work.succeeded {
        match serve(clients, work, plans, progress).await? {
            Served::NotLive(reason) => not_registered = Some(reason),
            Served::Registered { pending, .. } => registration_pending = pending,
        }
    }
    Ok(RunResult::Done {
        groups: work.replacement_groups.clone(),
        pending,
        unread,
        registration_pending,
        not_registered,
    })
}

/// The read-backs of every group attached to, in one confirm window; what is still pending.
async fn confirm_all(
    clients: &Clients,
    attached: &[&GroupPlan],
    settings: &Settings,
    job: &Job<'_>,
) -> Result<Confirmed, RunError> {
    let window = ConfirmWindow::new(settings, job.work_deadline);
    let each = futures_util::future::try_join_all(
        attached
            .iter()
            .map(|group_plan| confirm(clients, group_plan, settings, window)),
    )
    .await?;
    Ok(each
        .into_iter()
        .fold(Confirmed::default(), Confirmed::merge))
}
