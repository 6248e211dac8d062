//! Whether a deployment group is inside `DeploymentGroupPattern`, matched as IAM matches ARNs.

/// Whether a deployment group is inside `DeploymentGroupPattern`, the
/// `<application>/<deployment-group>` IAM resource pattern that limits what a role may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every deployment group of this name is inside it: a denial is a fault, not the scope.
    Inside,
    /// No deployment group of this name is inside it.
    Outside,
    /// It depends on the application, which a replacement group's name does not hold.
    Unknown,
}

/// Judges `deployment_group` (the name in a replacement group's name) against `pattern`, with
/// IAM's wildcards (`*` any run of characters, `?` one), case-sensitive as IAM matches ARNs.
/// Only a pattern whose application part is `*` can say `Inside`. Two limits: a deployment group
/// renamed since its deployment keeps its old name in the replacement group's name, and
/// `Outside` assumes an application name holds no `/` (IAM's `*` would span it).
pub fn scope(pattern: &str, deployment_group: &str) -> Scope {
    if pattern == "*" {
        return Scope::Inside;
    }
    // A `*` in the application part could also take a `/` of the group's own name.
    let Some((application, group)) = pattern
        .rsplit_once('/')
        .filter(|_| !deployment_group.contains('/'))
    else {
        return Scope::Unknown;
    };
    match (wildcard_match(group, deployment_group), application == "*") {
        (false, _) => Scope::Outside,
        (true, true) => Scope::Inside,
        (true, false) => Scope::Unknown,
    }
}

/// Whether `<application>/<deployment-group>` is inside `pattern` (`DeploymentGroupPattern`),
/// matched as IAM matches the resource part of the deployment group's ARN
/// (`deploymentgroup:${DeploymentGroupPattern}`): `*` and `?` as wildcards, case-sensitive.
pub fn deployment_group_in_scope(pattern: &str, application: &str, deployment_group: &str) -> bool {
    wildcard_match(pattern, &format!("{application}/{deployment_group}"))
}

/// `*` matches any run of characters (none included), `?` exactly one.
pub(super) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen, and where in the text its run ends so far.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        // A `*` in the pattern is a wildcard even where the text has a `*` of its own.
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((star_at, run_end)) = star {
            // Let the `*` take one more character and try again after it.
            star = Some((star_at, run_end + 1));
            pi = star_at + 1;
            ti = run_end + 1;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}
