//! The AWS operation handlers, one file per area (`jobs`, `things`, `tags`, `tagging` for the
//! Resource Groups Tagging API, ...). Each handler takes the scope it works on and the
//! decoded request; routing lives in `router`.

pub mod data;
pub mod executions;
pub mod jobs;
pub mod tagging;
pub mod tags;
pub mod templates;
pub mod things;
