//! Gives CodeDeploy blue/green replacement Auto Scaling groups their load balancers back.

pub mod audit;
pub mod aws;
pub mod doctor;
pub mod entry;
pub mod event;
pub mod metrics;
pub mod plan;
pub mod report;
pub mod run;
