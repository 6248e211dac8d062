//! Which accounts and regions one audit covers (`--accounts`, `--regions`, `--role-name`; the
//! scheduled audit's `AUDIT_ACCOUNTS`, `AUDIT_REGIONS`, `AUDIT_ROLE_NAME`), and the clients of
//! each account and region: a session in each other account (`sts::assume_role`), the
//! organization's accounts (`organizations::active_accounts`), each account's enabled regions
//! (`account::enabled_regions`). What cannot be read is one `error` row, and the rest is audited.

use futures_util::future::join_all;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::aws::sts::Session;
use crate::aws::{self, AwsError, ClientSettings, Clients, HttpsClients};

use super::Row;

/// The role every audited account gives the audit, unless told otherwise (infra/audit-role.yaml).
pub const DEFAULT_ROLE_NAME: &str = "codedeploy-tg-hook-audit";

/// The accounts an audit covers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Accounts {
    /// The caller's own, with its own credentials (no role assumed).
    #[default]
    Own,
    /// These, each through the role named by `Coverage::role_name`.
    Listed(Vec<String>),
    /// The organization's active accounts (`ListAccounts`), each through the role.
    Organization,
}

/// The regions an audit covers, in each account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Regions {
    /// The configured region (the SDK's chain: `AWS_REGION`, the profile, Lambda's own).
    #[default]
    Configured,
    /// These.
    Listed(Vec<String>),
    /// Each account's enabled regions (`ListRegions`: `ENABLED` and `ENABLED_BY_DEFAULT`).
    Enabled,
}

/// Which accounts and regions, and the role to assume in each account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub accounts: Accounts,
    pub regions: Regions,
    pub role_name: String,
}

impl Default for Coverage {
    fn default() -> Self {
        Coverage {
            accounts: Accounts::Own,
            regions: Regions::Configured,
            role_name: DEFAULT_ROLE_NAME.to_owned(),
        }
    }
}

impl Coverage {
    /// The one account and region the clients are configured for: the audit as it always was.
    pub fn is_configured_only(&self) -> bool {
        self.accounts == Accounts::Own && self.regions == Regions::Configured
    }
}

impl Accounts {
    /// `organization`, or account ids separated by commas (12 digits each; sorted, each once).
    pub fn parse(text: &str) -> Result<Accounts, String> {
        if text.trim() == "organization" {
            return Ok(Accounts::Organization);
        }
        let mut ids = Vec::new();
        for id in text.split(',').map(str::trim) {
            if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "{id:?} is not an account id (12 digits) nor `organization`"
                ));
            }
            ids.push(id.to_owned());
        }
        ids.sort();
        ids.dedup();
        Ok(Accounts::Listed(ids))
    }
}

impl Regions {
    /// `all`, or region names separated by commas (sorted, each once).
    pub fn parse(text: &str) -> Result<Regions, String> {
        if text.trim() == "all" {
            return Ok(Regions::Enabled);
        }
        let mut names = text
            .split(',')
            .map(region_name)
            .collect::<Result<Vec<_>, _>>()?;
        names.sort();
        names.dedup();
        Ok(Regions::Listed(names))
    }
}

/// A region's name as AWS spells them (`us-east-1`): lowercase letters, digits and dashes.
fn region_name(text: &str) -> Result<String, String> {
    let region = text.trim();
    let shaped = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && region.contains('-');
    if shaped {
        Ok(region.to_owned())
    } else {
        Err(format!(
            "{text:?} is not a region's name (us-east-1, eu-west-3, ...) nor `all`"
        ))
    }
}

/// An IAM role's name: 1-64 of letters, digits and `+=,.@_-` (IAM's `CreateRole`:
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html). A path is not taken:
/// the role's ARN is built as `role/<name>`.
pub fn role_name(text: &str) -> Result<String, String> {
    let name = text.trim();
    let shaped = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if shaped {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "{text:?} is not an IAM role name (1-64 letters, digits and +=,.@_-; no path)"
        ))
    }
}

/// `arn:<partition>:iam::<account>:role/<name>`, in the caller's partition (`aws` for a region
/// no partition has): a role is not assumed across partitions.
pub fn role_arn(home_region: &str, account: &str, role_name: &str) -> String {
    let partition = aws::partition::of(home_region).unwrap_or("aws");
    format!("arn:{partition}:iam::{account}:role/{role_name}")
}

/// One account and region to audit, with its clients.
#[derive(Debug, Clone)]
pub struct Place {
    /// The audited account, where the audit assumed a role in it (`None`: the caller's own,
    /// which the rows read off the groups' ARNs).
    pub account: Option<String>,
    pub region: String,
    pub clients: Clients,
}

/// The places `coverage` names, with their clients, and an `error` row without a group for each
/// account or region that could not be reached: the organization's accounts not listed, a role
/// not assumed, an account's regions not listed, an account not reached by `deadline`. `home`
/// are the caller's own clients (its region, credentials and endpoints), each place's derived
/// from them (`Clients::in_place`); `settings` the entry's. The accounts are reached
/// `concurrency` at a time (one `AssumeRole`, at most one paged `ListRegions` each), and the
/// places share their HTTPS connections.
pub async fn places(
    coverage: &Coverage,
    home: &Clients,
    settings: &ClientSettings,
    concurrency: usize,
    deadline: Instant,
) -> (Vec<Place>, Vec<Row>) {
    let https = HttpsClients::new(settings);
    let home_region = home.region().unwrap_or_default().to_owned();
    let accounts = match &coverage.accounts {
        Accounts::Own => None,
        Accounts::Listed(ids) => Some(ids.clone()),
        Accounts::Organization => {
            match aws::organizations::active_accounts(home.organizations()).await {
                Ok(ids) => Some(ids),
                Err(e) => {
                    let reason = format!("could not list the organization's accounts: {e}");
                    return (vec![], vec![Row::unreached(None, "", reason)]);
                }
            }
        }
    };
    let Some(accounts) = accounts else {
        // The caller's own account, with its own credentials.
        return match regions_of(coverage, home, &https, None, &home_region).await {
            Ok(places) => (places, vec![]),
            Err(row) => (vec![], vec![*row]),
        };
    };
    if home_region.is_empty() {
        // STS, and the partition of the roles' ARNs, are the caller's region's.
        let reason = "no AWS region is set, for STS and the roles' partition: set AWS_REGION (or a region in the AWS_PROFILE's config)".to_owned();
        return (vec![], vec![Row::unreached(None, "", reason)]);
    }
    let permits = Semaphore::new(concurrency.max(1));
    let (home_region, https, permits) = (&home_region, &https, &permits);
    let reached = join_all(accounts.iter().map(|account| async move {
        let _permit = permits.acquire().await;
        let reach = async {
            let arn = role_arn(home_region, account, &coverage.role_name);
            let session = aws::sts::session(home.sdk_config(), &arn)
                .await
                .map_err(|e| {
                    Box::new(Row::unreached(
                        Some(account),
                        "",
                        format!("could not assume {arn}: {e}"),
                    ))
                })?;
            let session = Some((account.as_str(), &session));
            regions_of(coverage, home, https, session, home_region).await
        };
        tokio::time::timeout_at(deadline, reach)
            .await
            .unwrap_or_else(|_| {
                Err(Box::new(Row::unreached(
                    Some(account),
                    "",
                    format!("account {account} not reached before the deadline"),
                )))
            })
    }))
    .await;
    let mut places = Vec::new();
    let mut unreached = Vec::new();
    for result in reached {
        match result {
            Ok(found) => places.extend(found),
            Err(row) => unreached.push(*row),
        }
    }
    (places, unreached)
}

/// The places of one account: its regions as `coverage` names them, each with `home`'s clients
/// as the account's `session`, or as the caller itself.
async fn regions_of(
    coverage: &Coverage,
    home: &Clients,
    https: &HttpsClients,
    session: Option<(&str, &Session)>,
    home_region: &str,
) -> Result<Vec<Place>, Box<Row>> {
    let account = session.map(|(account, _)| account.to_owned());
    let regions = match &coverage.regions {
        Regions::Configured => vec![home_region.to_owned()],
        Regions::Listed(names) => names.clone(),
        Regions::Enabled => {
            let in_account = match session {
                Some(_) => home.in_place(https, home_region, session),
                None => home.clone(),
            };
            aws::account::enabled_regions(in_account.account())
                .await
                .map_err(|e: AwsError| {
                    let whose = account
                        .as_deref()
                        .map_or("this account".to_owned(), |a| format!("account {a}"));
                    Box::new(Row::unreached(
                        account.as_deref(),
                        "",
                        format!("could not list the enabled regions of {whose}: {e}"),
                    ))
                })?
        }
    };
    Ok(regions
        .into_iter()
        .map(|region| Place {
            account: account.clone(),
            clients: home.in_place(https, &region, session),
            region,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_organization_or_twelve_digit_ids_sorted_once_each() {
        assert_eq!(
            Accounts::parse(" organization "),
            Ok(Accounts::Organization)
        );
        assert_eq!(
            Accounts::parse("222222222222, 111111111111,222222222222"),
            Ok(Accounts::Listed(vec![
                "111111111111".into(),
                "222222222222".into()
            ]))
        );
        for wrong in [
            "",
            "12345",
            "1111111111111",
            "11111111111a",
            "org",
            "111111111111,",
        ] {
            let error = Accounts::parse(wrong).expect_err(wrong);
            assert!(error.contains("not an account id"), "{wrong}: {error}");
        }
    }

    #[test]
    fn regions_are_all_or_region_names_sorted_once_each() {
        assert_eq!(Regions::parse("all"), Ok(Regions::Enabled));
        assert_eq!(
            Regions::parse("eu-west-1,us-east-1, eu-west-1"),
            Ok(Regions::Listed(vec![
                "eu-west-1".into(),
                "us-east-1".into()
            ]))
        );
        for wrong in ["", "US-EAST-1", "useast1", "us-east-1,", "ALL", "eu west 1"] {
            assert!(Regions::parse(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn a_role_name_is_iam_s_shape_without_a_path() {
        assert_eq!(
            role_name(" audit+role=a,b.c@d_e-f "),
            Ok("audit+role=a,b.c@d_e-f".into())
        );
        assert!(role_name(&"r".repeat(64)).is_ok());
        for wrong in ["", "path/role", "role name", &"r".repeat(65), "rôle"] {
            assert!(role_name(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn a_role_s_arn_is_in_the_caller_s_partition() {
        assert_eq!(
            role_arn("eu-west-1", "111111111111", "audit"),
            "arn:aws:iam::111111111111:role/audit"
        );
        assert_eq!(
            role_arn("cn-north-1", "111111111111", "audit"),
            "arn:aws-cn:iam::111111111111:role/audit"
        );
        assert_eq!(
            role_arn("us-gov-west-1", "111111111111", "audit"),
            "arn:aws-us-gov:iam::111111111111:role/audit"
        );
        assert_eq!(
            role_arn("", "111111111111", "audit"),
            "arn:aws:iam::111111111111:role/audit"
        );
    }

    #[test]
    fn only_the_default_coverage_is_the_configured_account_and_region() {
        assert!(Coverage::default().is_configured_only());
        let everywhere = Coverage {
            regions: Regions::Enabled,
            ..Coverage::default()
        };
        assert!(!everywhere.is_configured_only());
    }
}
