//! Which AWS partition a region is in, by each partition's `regionRegex` in the SDK's partition
//! table (the service crates' `endpoint_lib.rs`, aws-sdk-codedeploy 1.124), which is private to
//! them: what the trust store (`tls`) and a role's ARN in another account (`audit::coverage`)
//! are decided by.

/// Each partition: the region's first parts, then how many parts follow (`\w+-\d+`, or for
/// `eusc` `(de)-\w+-\d+`). `aws`: `^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$`.
const PARTITIONS: [(&str, &[&str]); 8] = [
    ("aws-us-gov", &["us", "gov"]),
    ("aws-iso", &["us", "iso"]),
    ("aws-iso-b", &["us", "isob"]),
    ("aws-iso-e", &["eu", "isoe"]),
    ("aws-iso-f", &["us", "isof"]),
    ("aws-cn", &["cn"]),
    ("aws-eusc", &["eusc", "de"]),
    ("aws", &[]),
];

/// The areas of the `aws` partition's regions.
const AWS_AREAS: [&str; 9] = ["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"];

/// The partition `region` is in (`aws`, `aws-cn`, `aws-us-gov`, ...), or `None` for a name no
/// partition's regions have.
pub fn of(region: &str) -> Option<&'static str> {
    let parts: Vec<&str> = region.split('-').collect();
    // What follows a partition's own parts: a place (`\w+`) and a number (`\d+`).
    let place_and_number = |rest: &[&str]| {
        matches!(rest, [place, number]
            if !place.is_empty()
                && place.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit()))
    };
    PARTITIONS.iter().find_map(|(partition, prefix)| {
        let matched = match *prefix {
            [] => {
                AWS_AREAS.contains(parts.first().unwrap_or(&""))
                    && place_and_number(parts.get(1..).unwrap_or_default())
            }
            prefix => {
                parts.len() == prefix.len() + 2
                    && parts.starts_with(prefix)
                    && place_and_number(&parts[prefix.len()..])
            }
        };
        matched.then_some(*partition)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_region_is_in_its_partition_by_the_sdk_s_region_patterns() {
        for (region, partition) in [
            ("us-east-1", Some("aws")),
            ("eu-west-3", Some("aws")),
            ("ap-southeast-5", Some("aws")),
            ("il-central-1", Some("aws")),
            ("mx-central-1", Some("aws")),
            ("us-gov-west-1", Some("aws-us-gov")),
            ("cn-north-1", Some("aws-cn")),
            ("cn-northwest-1", Some("aws-cn")),
            ("us-iso-east-1", Some("aws-iso")),
            ("us-isob-east-1", Some("aws-iso-b")),
            ("eu-isoe-west-1", Some("aws-iso-e")),
            ("us-isof-south-1", Some("aws-iso-f")),
            ("eusc-de-east-1", Some("aws-eusc")),
            ("xx-new-1", None),
            ("us-east", None),
            ("us-east-1a", None),
            ("eusc-fr-east-1", None),
            ("", None),
        ] {
            assert_eq!(of(region), partition, "{region}");
        }
    }
}
