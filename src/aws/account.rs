//! The Account Management API: the regions an account has enabled, for `audit --regions all`.
//!
//! `ListRegions` is the lightest source of that list (docs/reference.md says why): one small
//! call per account, with the account's own credentials, answering each region's opt-in status.

use aws_sdk_account::types::RegionOptStatus;
use aws_sdk_account::Client;

use super::AwsError;

/// The regions the caller's account can use: `ENABLED_BY_DEFAULT` (the regions every account
/// has) and `ENABLED` (opted in), sorted. A region being enabled or disabled (`ENABLING`,
/// `DISABLING`) is left out: its calls may be refused while it changes.
/// https://docs.aws.amazon.com/accounts/latest/reference/API_ListRegions.html
pub async fn enabled_regions(client: &Client) -> Result<Vec<String>, AwsError> {
    let regions: Vec<_> = client
        .list_regions()
        .region_opt_status_contains(RegionOptStatus::Enabled)
        .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
        // The largest page the API takes (MaxResults 1-50).
        .max_results(50)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::from_sdk("account:ListRegions", e))?;
    let mut names: Vec<String> = regions
        .iter()
        // The filter is asked for; an answer that ignored it still lists no other region.
        .filter(|region| {
            matches!(
                region.region_opt_status(),
                Some(RegionOptStatus::Enabled | RegionOptStatus::EnabledByDefault)
            )
        })
        .filter_map(|region| region.region_name().map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        // Every account has the regions enabled by default: an answer without one is not one
        // to audit nothing by.
        return Err(AwsError::incomplete(
            "account:ListRegions",
            format!(
                "answered {} regions and none enabled (every account has the regions enabled by default)",
                regions.len()
            ),
        ));
    }
    Ok(names)
}
