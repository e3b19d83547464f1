//! The AWS operation handlers, one file per area: `jobs`, `things` and `tags`. Each
//! handler takes the scope it works on and the decoded request; routing lives in `router`.

pub mod data;
pub mod executions;
pub mod jobs;
pub mod tags;
pub mod templates;
pub mod things;
