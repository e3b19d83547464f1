//! jobctl: a declarative GitOps reconciler for AWS IoT Jobs.
//!
//! The flow is parse → validate → plan → apply. [`manifest`] turns files into validated
//! [`manifest::DesiredJob`]s, [`plan`] compares them with the account's jobs without any I/O,
//! [`apply`] executes a plan through the [`aws::JobsApi`] trait, and [`cli`] wires the commands.

pub mod apply;
pub mod aws;
pub mod cli;
pub mod manifest;
pub mod output;
pub mod plan;
pub mod reconcile;
pub mod refresh;
pub mod schema;
pub mod watch;
