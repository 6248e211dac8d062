//! Thin adapters over the AWS clients: the calls we make, mapped into our own types (IAM, Lambda
//! and EC2 for `doctor` only); and beneath them, the clients with their retry policy.
//!
//! The adapters, one per service: `codedeploy`, `autoscaling`, `elbv2`, `elb` (classic load
//! balancers), `iam`, `lambda`, `ec2` (launch templates; the default feature `launch-templates`);
//! for the audit across accounts and regions, `sts` (a session in another account), `account`
//! (the enabled regions) and `organizations` (the organization's accounts).
//! Beneath them:
//! - `clients`: the clients, each built on first use, from the SDK's chain and our `ClientSettings`;
//! - `retry`: the retry policy, stated at its top, its classifier and the attempt watcher;
//! - `answers`: whether a success answer is AWS's answer to the call;
//! - `error`: a failed call (`AwsError`) and every word for a failure;
//! - `tls`: which certificates HTTPS trusts;
//! - `actions`: the IAM actions of the calls, with their resource types.

pub mod account;
pub mod actions;
mod answers;
pub mod autoscaling;
mod clients;
pub mod codedeploy;
#[cfg(feature = "launch-templates")]
pub mod ec2;
pub mod elb;
pub mod elbv2;
mod error;
pub mod iam;
pub mod lambda;
pub mod organizations;
pub mod partition;
mod retry;
pub mod sts;
#[cfg(test)]
pub mod stub;
mod tls;

pub use clients::{config_loader, ClientSettings, Clients, HttpsClients};
pub use error::AwsError;
pub use retry::{
    CallLog, StillRetried, ATTEMPT_TIMEOUT, AUDIT_MAX_ATTEMPTS, AUDIT_OPERATION_TIMEOUT,
    CONNECT_TIMEOUT, MAX_BACKOFF, RETRY_QUOTA, UNTIL_THE_DEADLINE, UNUSABLE_IN_A_ROW,
};
pub use tls::{bundle_file_alone, trust, Trust, AWS_ROOTS};
