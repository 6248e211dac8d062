//! Every integration test, in one binary (cargo's own layout: `tests/testsuite/main.rs`, a
//! module per area, the support code beside it): the SDK crates are linked once, and the tests
//! that can share the launcher (`support::moto()`) share one.

mod support;

mod audit;
mod bad_answers;
mod callgraph;
mod cli;
mod decoder_fuzz;
mod doctor;
mod faults;
mod hook;
mod iam;
mod lambda;
mod organization;
mod real_aws;
mod reroute;
mod rollback;
mod scale;
mod scheduled;
mod served;
mod setup_mistakes;
mod tls;
