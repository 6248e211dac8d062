//! AWS Organizations: the organization's accounts, for `audit --accounts organization`.

use aws_sdk_organizations::types::{AccountState, AccountStatus};
use aws_sdk_organizations::Client;

use super::AwsError;

/// The organization's active accounts' ids, sorted, every page read (`ListAccounts` answers at
/// most 20 a page). Only the management account or a delegated administrator may call it.
/// An account is active when its `State` is `ACTIVE` (or, in an answer without `State`, its
/// deprecated `Status`): suspended, closed and pending accounts have nothing to audit.
/// https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html
pub async fn active_accounts(client: &Client) -> Result<Vec<String>, AwsError> {
    let pages: Vec<_> = client
        .list_accounts()
        .max_results(20)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::from_sdk("organizations:ListAccounts", e))?;
    let mut ids: Vec<String> = pages
        .iter()
        .flat_map(|page| page.accounts())
        .filter(|account| match account.state() {
            Some(state) => *state == AccountState::Active,
            None => account.status() == Some(&AccountStatus::Active),
        })
        .filter_map(|account| account.id().map(str::to_owned))
        .collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        // An organization always has its management account: an answer without any active
        // account is not one to audit nothing by.
        return Err(AwsError::incomplete(
            "organizations:ListAccounts",
            format!(
                "answered {} accounts and none active (an organization always has its active management account)",
                pages.iter().map(|page| page.accounts().len()).sum::<usize>()
            ),
        ));
    }
    Ok(ids)
}
