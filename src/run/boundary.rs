//! The deadline and panic boundary around the work: it stops before the deadline, so a status can
//! still be reported, naming what was still being retried.

use std::future::Future;

use tokio::time::Instant;

use crate::aws::CallLog;

use super::error::RunError;
use super::settings::REPORT_MARGIN;
use super::RunResult;

/// When the work must stop: `REPORT_MARGIN` before the deadline, so a status can still be reported.
pub fn work_deadline(deadline: Instant) -> Instant {
    deadline.checked_sub(REPORT_MARGIN).unwrap_or(deadline)
}

/// Runs `work` as its own task so a panic anywhere in it is caught, and stops it at
/// `work_deadline`, naming the AWS calls it stopped and why they were still being retried.
pub async fn guard<F>(work: F, work_deadline: Instant) -> Result<RunResult, RunError>
where
    F: Future<Output = Result<RunResult, RunError>> + Send + 'static,
{
    let calls = CallLog::default();
    let mut task = tokio::spawn(calls.watch(work));
    match tokio::time::timeout_at(work_deadline, &mut task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) if join.is_panic() => Err(RunError::Panic(panic_message(join.into_panic()))),
        Ok(Err(join)) => Err(RunError::Panic(format!(
            "work task ended abnormally: {join}"
        ))),
        Err(_) => {
            // Named while they are still under way: aborting the task drops them.
            let still_retried = calls.still_retried();
            task.abort();
            Err(RunError::Deadline { still_retried })
        }
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-string payload".to_owned())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn work_stops_the_report_margin_before_the_deadline() {
        let deadline = Instant::now() + Duration::from_secs(10);
        assert_eq!(work_deadline(deadline), deadline - REPORT_MARGIN);
    }
}
