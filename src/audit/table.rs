//! The audit report as a table for a terminal: at most 120 columns.

use crate::plan::Registration;

use super::Report;

/// The widest the table gets: a terminal's common width. Cells wrap to fit it.
pub const TABLE_WIDTH: u16 = 120;
/// The characters of a reason, and of a cell's list of target groups or classic load balancers,
/// the table shows (`--output json` has them whole).
const TABLE_REASON: usize = 48;
const TABLE_SOURCES: usize = 32;
/// The characters of the reason of a row without a group (an account or region not listed),
/// which the table shows in the group's wider column, where it wraps.
const TABLE_UNLISTED_REASON: usize = 160;

/// The report as a table for a terminal, at most `TABLE_WIDTH` columns wide: a row per group
/// (its name holds the deployment group and the deployment id, which `--output json` gives apart),
/// under a heading line per account and region when the report covers several (`account
/// 111111111111, eu-west-1:`; the account alone for one not reached; the reason of a place whose
/// groups were not listed in the group's column), each reason shortened to
/// `TABLE_REASON` characters, the other cells wrapped to fit, the summary wrapped at the same
/// width.
pub fn table(report: &Report) -> String {
    use comfy_table::{ColumnConstraint, ContentArrangement, Width};
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    table.set_width(TABLE_WIDTH);
    let sources = if report.fix { "attached" } else { "missing" };
    table.set_header(vec![
        "replacement group",
        "status",
        &format!("target groups\n{sources}"),
        &format!("classic LBs\n{sources}"),
        if report.fix {
            "instances\nregistered"
        } else {
            "instances\nunregistered"
        },
        "reason",
    ]);
    let headings = report.regions.len() > 1 || report.accounts.len() > 1;
    let mut place = None;
    for row in &report.rows {
        if headings && place != Some((&row.account, &row.region)) {
            place = Some((&row.account, &row.region));
            // The account in the heading only where the report has several.
            let account = row.account.as_deref().filter(|_| report.accounts.len() > 1);
            table.add_row(vec![heading(account, &row.region)]);
        }
        let reason = row.reason.as_deref().unwrap_or_default();
        // A row without a group has its reason in the group's column, wider, where the cause
        // (the error's code and message, after the account or region it names) still shows.
        let (group, reason) = if row.auto_scaling_group.is_empty() {
            let why = shortened(reason, TABLE_UNLISTED_REASON);
            (format!("(groups not listed) {why}"), "")
        } else {
            (row.auto_scaling_group.clone(), reason)
        };
        table.add_row(vec![
            group,
            crate::report::wire_name(&row.status),
            shortened(&row.target_groups.join(", "), TABLE_SOURCES),
            shortened(&row.load_balancers.join(", "), TABLE_SOURCES),
            instance_count(&row.unregistered),
            shortened(reason, TABLE_REASON),
        ]);
    }
    // A group's name and its status stay whole on a line (up to a width that leaves the other
    // columns room); the rest wrap.
    let longest = report
        .rows
        .iter()
        .map(|r| r.auto_scaling_group.chars().count())
        .max()
        .unwrap_or(0)
        .clamp("replacement group".len(), 60);
    let keep = [(0, longest), (1, "unregistered".len())];
    for (index, width) in keep {
        if let Some(column) = table.column_mut(index) {
            // The boundary counts the cell's padding, one space each side.
            let width = u16::try_from(width + 2).unwrap_or(u16::MAX);
            column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(width)));
        }
    }
    format!(
        "{table}\n{}",
        wrapped(&report.summary(), usize::from(TABLE_WIDTH))
    )
}

/// A place's heading line: `account 111111111111, eu-west-1:`, `eu-west-1:` for the caller's own
/// account, `account 111111111111:` for an account not reached.
fn heading(account: Option<&str>, region: &str) -> String {
    match (account, region) {
        (Some(account), "") => format!("account {account}:"),
        (Some(account), region) => format!("account {account}, {region}:"),
        (None, region) => format!("{region}:"),
    }
}

/// `text` wrapped at spaces into lines of at most `width` characters (a longer word stays whole).
fn wrapped(text: &str, width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines.join("\n")
}

/// `text` cut to `most` characters, with `…` where it was cut.
fn shortened(text: &str, most: usize) -> String {
    if text.chars().count() <= most {
        return text.to_owned();
    }
    let kept: String = text.chars().take(most.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

/// Distinct instances over a row's registrations, as the table shows them (blank for none).
fn instance_count(registrations: &[Registration]) -> String {
    let mut ids: Vec<&String> = registrations.iter().flat_map(|r| &r.instance_ids).collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        String::new()
    } else {
        ids.len().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Row, RowStatus};
    use super::*;
    use crate::plan::TrafficSource;

    #[test]
    fn the_table_fits_120_columns_and_shortens_reasons_that_json_keeps_whole() {
        let long = "a later deployment, d-NEXT00001, is InProgress: it is replacing CodeDeploy_checkout-web-production_d-ABCDEF123, so that fleet is on its way out of the load balancer and is not attached";
        let mut rows = Vec::new();
        for status in [
            RowStatus::Missing,
            RowStatus::Skipped,
            RowStatus::Unregistered,
        ] {
            let mut row = Row::unchecked(
                None,
                "us-east-1",
                "CodeDeploy_checkout-web-production_d-ABCDEF123",
            );
            row.status = status;
            row.target_groups = vec![
                "web-target-group-blue".into(),
                "web-target-group-green".into(),
            ];
            row.load_balancers = vec!["web-classic-load-balancer".into()];
            row.unregistered = vec![Registration {
                traffic_source: TrafficSource::TargetGroup("web-target-group-blue".into()),
                instance_ids: vec!["i-0123456789abcdef0".into()],
            }];
            row.reason = Some(long.into());
            rows.push(row);
        }
        let report = Report {
            accounts: vec![],
            regions: vec!["us-east-1".into()],
            scanned: 3,
            fix: false,
            rows,
        };
        let table = table(&report);
        for line in table.lines() {
            assert!(
                line.chars().count() <= usize::from(TABLE_WIDTH),
                "{} columns: {line}\n{table}",
                line.chars().count()
            );
        }
        assert!(!table.contains(long), "shortened in the table");
        assert!(
            table.contains("CodeDeploy_checkout-web-production_d-ABCDEF123"),
            "a group's name stays whole: {table}"
        );
        assert!(table.contains('…'), "{table}");
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains(long), "whole in JSON");
    }

    #[test]
    fn several_regions_get_a_heading_each_and_an_unlisted_region_its_row() {
        let mut rows = Vec::new();
        for region in ["eu-west-1", "us-east-1"] {
            let mut row = Row::unchecked(
                None,
                region,
                &format!("CodeDeploy_web-{region}_d-ABCDEF123"),
            );
            row.status = RowStatus::Ok;
            rows.push(row);
        }
        let mut unlisted = Row::unchecked(None, "ap-south-2", "");
        unlisted.reason = Some("could not list the Auto Scaling groups: denied".into());
        rows.insert(0, unlisted);
        let report = Report {
            accounts: vec![],
            regions: vec!["ap-south-2".into(), "eu-west-1".into(), "us-east-1".into()],
            scanned: 6,
            fix: false,
            rows,
        };
        let table = table(&report);
        let lines: Vec<&str> = table.lines().collect();
        let at = |text: &str| line_of(&table, text);
        assert!(at("ap-south-2:") < at("(groups not listed)"), "{table}");
        assert!(at("(groups not listed)") < at("eu-west-1:"), "{table}");
        assert!(
            at("eu-west-1:") < at("CodeDeploy_web-eu-west-1_d-ABCDEF123"),
            "{table}"
        );
        assert!(
            at("CodeDeploy_web-eu-west-1_d-ABCDEF123") < at("us-east-1:"),
            "{table}"
        );
        assert!(
            at("us-east-1:") < at("CodeDeploy_web-us-east-1_d-ABCDEF123"),
            "{table}"
        );
        assert!(lines
            .iter()
            .all(|l| l.chars().count() <= usize::from(TABLE_WIDTH)));
        assert!(
            report.summary().starts_with(
                "scanned 6 Auto Scaling groups in 3 regions (1 not listed), 2 replacement groups: 2 ok"
            ),
            "{}",
            report.summary()
        );
        // One region: no heading, the summary as before.
        let one = Report {
            accounts: vec![],
            regions: vec!["us-east-1".into()],
            scanned: 1,
            fix: false,
            rows: report.rows[2..].to_vec(),
        };
        assert!(!super::table(&one).contains("us-east-1:"));
        assert!(one
            .summary()
            .starts_with("scanned 1 Auto Scaling groups, 1 replacement groups"));
    }

    #[test]
    fn several_accounts_get_a_heading_per_account_and_region_and_an_unreached_account_its_row() {
        let mut rows = Vec::new();
        for (account, region) in [
            ("111111111111", "eu-west-1"),
            ("111111111111", "us-east-1"),
            ("222222222222", "eu-west-1"),
        ] {
            let group = format!("CodeDeploy_web-{}-{region}_d-ABCDEF123", &account[..1]);
            let mut row = Row::unchecked(Some(account), region, &group);
            row.status = RowStatus::Missing;
            row.target_groups = vec!["web-tg".into()];
            rows.push(row);
        }
        rows.push(Row::unreached(
            Some("333333333333"),
            "",
            "could not assume arn:aws:iam::333333333333:role/codedeploy-tg-hook-audit: sts:AssumeRole failed: AccessDenied: not authorized".into(),
        ));
        let report = Report {
            accounts: vec![
                "111111111111".into(),
                "222222222222".into(),
                "333333333333".into(),
            ],
            regions: vec!["eu-west-1".into(), "us-east-1".into()],
            scanned: 9,
            fix: false,
            rows,
        };
        let table = table(&report);
        let lines: Vec<&str> = table.lines().collect();
        let at = |text: &str| line_of(&table, text);
        assert!(at("account 111111111111, eu-west-1:") < at("CodeDeploy_web-1-eu-west-1"));
        assert!(at("CodeDeploy_web-1-eu-west-1") < at("account 111111111111, us-east-1:"));
        assert!(at("account 111111111111, us-east-1:") < at("account 222222222222, eu-west-1:"));
        assert!(at("account 222222222222, eu-west-1:") < at("account 333333333333:"));
        assert!(at("account 333333333333:") < at("(groups not listed) could not assume"));
        assert!(table.contains("AccessDenied"), "the cause shows: {table}");
        assert!(
            lines
                .iter()
                .all(|l| l.chars().count() <= usize::from(TABLE_WIDTH)),
            "{table}"
        );
        assert_eq!(
            report.summary(),
            "scanned 9 Auto Scaling groups in 3 accounts and 2 regions (1 not listed), 3 replacement groups: 0 ok, 3 missing, 0 unregistered, 0 repaired, 0 skipped, 0 waiting, 0 error",
            "a place not listed is not a replacement group, nor one's error"
        );
        // One account not reached, alone: still said.
        let alone = Report {
            accounts: vec!["333333333333".into()],
            regions: vec![],
            scanned: 0,
            fix: false,
            rows: report.rows[3..].to_vec(),
        };
        assert_eq!(
            alone.summary(),
            "scanned 0 Auto Scaling groups (1 not listed), 0 replacement groups: 0 ok, 0 missing, 0 unregistered, 0 repaired, 0 skipped, 0 waiting, 0 error"
        );
    }

    /// The first line of `table` that holds `text`.
    fn line_of(table: &str, text: &str) -> usize {
        table
            .lines()
            .position(|l| l.contains(text))
            .unwrap_or_else(|| panic!("{text}: {table}"))
    }

    #[test]
    fn the_summary_wraps_at_spaces() {
        assert_eq!(wrapped("aa bb cc", 5), "aa bb\ncc");
        assert_eq!(wrapped("aaaaaaa b", 3), "aaaaaaa\nb");
    }

    #[test]
    fn a_short_text_is_kept_and_a_long_one_cut_with_an_ellipsis() {
        assert_eq!(shortened("ok", 48), "ok");
        assert_eq!(shortened("abcdef", 4), "abc…");
        assert_eq!(shortened("ab de", 4), "ab…");
    }
}
