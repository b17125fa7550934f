//! The replica's background loops (the leader's tick, the observer, compaction), stopped
//! together and one way, as mini-redis shuts down: a broadcast tells every loop to stop, and
//! each holds a completion sender whose drop says it has; the stop waits for the last drop.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};

/// Starts loops and stops them all.
#[derive(Clone)]
pub struct Loops {
    stop: broadcast::Sender<()>,
    /// Cloned into every loop; taken (and dropped) by [`Loops::stop`].
    running: Arc<Mutex<Option<mpsc::Sender<()>>>>,
    stopped: Arc<tokio::sync::Mutex<mpsc::Receiver<()>>>,
}

/// What a loop watches to know it should end.
pub struct Stop(broadcast::Receiver<()>);

impl Stop {
    /// Waits for `interval`'s next tick: `false` instead once the loops are told to stop.
    pub async fn tick(&mut self, interval: &mut tokio::time::Interval) -> bool {
        tokio::select! {
            _ = interval.tick() => true,
            () = self.requested() => false,
        }
    }

    /// Resolves once the loops are told to stop.
    pub async fn requested(&mut self) {
        // Closed or lagged both mean the sender spoke or is gone: stop either way.
        let _ = self.0.recv().await;
    }
}

impl Default for Loops {
    fn default() -> Self {
        let (stop, _) = broadcast::channel(1);
        let (running, stopped) = mpsc::channel(1);
        Loops {
            stop,
            running: Arc::new(Mutex::new(Some(running))),
            stopped: Arc::new(tokio::sync::Mutex::new(stopped)),
        }
    }
}

impl Loops {
    /// Runs `body` until it returns; it should return soon after its [`Stop`] resolves. A loop
    /// started after [`Loops::stop`] does not run at all.
    pub fn spawn<F, Fut>(&self, body: F)
    where
        F: FnOnce(Stop) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Some(running) = self.lock().clone() else {
            return;
        };
        let future = body(Stop(self.stop.subscribe()));
        tokio::spawn(async move {
            future.await;
            drop(running);
        });
    }

    /// Tells every loop to stop and waits, at most `limit`, until each has.
    pub async fn stop(&self, limit: Duration) {
        let _ = self.stop.send(());
        drop(self.lock().take());
        let mut stopped = self.stopped.lock().await;
        if tokio::time::timeout(limit, stopped.recv()).await.is_err() {
            tracing::warn!("a background loop did not stop in time");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<mpsc::Sender<()>>> {
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_stop_returns_once_every_loop_has_ended() {
        let loops = Loops::default();
        let ended = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let ended = ended.clone();
            loops.spawn(|mut stop| async move {
                stop.requested().await;
                ended.fetch_add(1, Ordering::SeqCst);
            });
        }
        loops.stop(Duration::from_secs(10)).await;
        assert_eq!(ended.load(Ordering::SeqCst), 3);
        let late = ended.clone();
        loops.spawn(|_| async move {
            late.fetch_add(100, Ordering::SeqCst);
        });
        tokio::task::yield_now().await;
        assert_eq!(ended.load(Ordering::SeqCst), 3, "nothing starts after a stop");
    }
}
