//! jobctl: a declarative GitOps reconciler for AWS IoT Jobs.
//!
//! The flow is parse → validate → plan → apply. [`manifest`] turns files into validated
//! [`domain::DesiredJob`]s; [`engine`] reads the account, plans without any I/O
//! ([`engine::plan`]) and applies through the [`aws::JobsApi`] trait; each command's result is a
//! [`report`], which [`output`] renders in every format; [`cli`] wires the commands and
//! [`watch`] runs the same engine as a daemon. [`domain`] is the vocabulary they all share.

pub mod aws;
pub mod cli;
pub mod domain;
pub mod engine;
pub mod manifest;
pub mod output;
pub mod report;
pub mod shutdown;
pub mod watch;
