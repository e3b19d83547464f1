//! The one question jobctl asks at a terminal: apply's confirmation before it replaces, cancels
//! or deletes anything. Only `yes` goes ahead, as with Terraform.

use crate::report::PlanReport;

/// The question, naming what would be destroyed and where.
pub fn question(report: &PlanReport) -> String {
    let summary = report.plan.summary();
    let scope = &report.scope;
    format!(
        "\njobctl will replace {}, cancel {} and delete {} job(s) in account {}, region {}, instance `{}`.\nOnly `yes` goes ahead. Apply these changes? ",
        summary.replace,
        summary.cancel,
        summary.delete,
        scope.account.as_deref().unwrap_or("(unknown)"),
        scope.region,
        scope.instance
    )
}

/// Asks on stderr and reads one line of stdin. The read runs on a blocking thread, so the
/// caller can stop waiting for it (a signal, a deadline) and drop this future.
pub async fn confirm(report: &PlanReport) -> bool {
    let question = question(report);
    let answer = tokio::task::spawn_blocking(move || {
        use std::io::{BufRead, Write};
        {
            // Released before the read: a question abandoned on a signal must not keep the
            // lock the report is then written under.
            let mut stderr = std::io::stderr().lock();
            let _ = stderr.write_all(question.as_bytes());
            let _ = stderr.flush();
        }
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await;
    matches!(answer, Ok(Ok(line)) if line.trim() == "yes")
}
