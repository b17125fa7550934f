//! Waiting on a condition with a deadline, the one way the harness waits.

use std::future::Future;
use std::time::Duration;

/// Calls `probe` every `every` until it answers `Ok`, or returns its last error once `limit`
/// has passed.
pub async fn poll<T, F, Fut>(limit: Duration, every: Duration, mut probe: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let started = tokio::time::Instant::now();
    loop {
        let error = match probe().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if started.elapsed() >= limit {
            return Err(error);
        }
        // The polling interval; the limit above decides.
        tokio::time::sleep(every).await;
    }
}
