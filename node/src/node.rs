//! Runs one node: storage, Raft, and the gRPC services on one port, until asked to stop.

use std::future::Future;
use std::time::Duration;

use qraft_proto::limits::MAX_MESSAGE;
use qraft_proto::pb::admin_server::AdminServer;
use qraft_proto::pb::control_server::ControlServer;
use qraft_proto::pb::flows_server::FlowsServer;
use qraft_proto::pb::tasks_server::TasksServer;
use qraft_proto::pb::worker_server::WorkerServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

use crate::api::{AdminService, ControlService, FlowsService, TasksService, WorkerService};
use crate::auth::AuthLayer;
use crate::config::NodeConfig;
use crate::ops::cluster::NodeInfo;
use crate::raft::{Identity, Replica, ReplicaError, Standing, Storage, StorageError};
use crate::shed::{InFlight, ShedLayer};
use crate::worker::exec::ExecHandler;
use crate::worker::{Registry, WorkerPool};

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        addr: std::net::SocketAddr,
        reason: String,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    #[error("gRPC server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error(
        "Raft stopped on a fatal error, so this node can no longer write: {0}; fix the cause (disk full or failing?) and restart it"
    )]
    Fatal(String),
}

/// Runs the node with the built-in handlers and the config's `exec` handlers until `shutdown`
/// completes.
pub async fn run(config: NodeConfig, shutdown: impl Future<Output = ()>) -> Result<(), NodeError> {
    let mut registry = Registry::with_builtins();
    for (name, argv) in &config.exec {
        registry.register(name.clone(), ExecHandler::new(argv.clone()));
    }
    run_with(config, registry, shutdown).await
}

/// Runs the node, its worker pool running the tasks `registry` names, until `shutdown`
/// completes; then hands back unfinished work, hands off leadership and stops cleanly. This is
/// the entry point for a custom node binary with Rust handlers of its own.
pub async fn run_with(
    config: NodeConfig,
    registry: Registry,
    shutdown: impl Future<Output = ()>,
) -> Result<(), NodeError> {
    // Bind first: a port in use is the most common start-up mistake, and the cheapest to report.
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|error| NodeError::Listen {
            addr: config.listen,
            reason: if error.kind() == std::io::ErrorKind::AddrInUse {
                "the address is in use (is another node or program on this port? pick another with --listen)"
                    .to_string()
            } else {
                error.to_string()
            },
        })?;
    let identity = Identity {
        cluster_name: config.raft.cluster_name.clone(),
        node_id: config.id,
    };
    let storage = Storage::open(&config.data_dir, &identity)?;
    let replica = Replica::start(config.id, config.raft.clone(), storage).await?;
    tracing::info!(
        node_id = config.id,
        listen = %config.listen,
        advertise = %config.advertise,
        data = %config.data_dir.display(),
        "node started"
    );

    if config.security.insecure_exposed {
        tracing::warn!(
            listen = %config.listen,
            tls = config.security.tls.is_some(),
            tokens = config.security.policy.has_tokens(),
            "INSECURE (--insecure): without TLS and tokens anyone who can reach this port can speak Raft, and without tokens submit work and purge queues"
        );
    }
    let node_info = NodeInfo {
        addr: config.advertise.clone(),
        cluster_name: config.raft.cluster_name.clone(),
    };
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = &config.security.tls {
        let server_tls = tls.server_config().map_err(|e| NodeError::Tls(e.to_string()))?;
        builder = builder.tls_config(server_tls)?;
    }
    let (stop_serving_tx, stop_serving_rx) = tokio::sync::oneshot::channel::<()>();
    let in_flight = InFlight::new(config.max_requests);
    let server = builder
        .layer(ShedLayer::new(in_flight.clone()))
        .layer(AuthLayer::new(config.security.policy.clone()))
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(Duration::from_secs(10)))
        .add_service(replica.rpc_service())
        // Requests up to MAX_MESSAGE: gRPC's 4 MiB default is below the largest task. Replies
        // are unlimited by default, and lists keep under what a client decodes on their own.
        .add_service(
            TasksServer::new(TasksService::new(replica.clone(), config.tasks.clone()))
                .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            WorkerServer::new(WorkerService::new(replica.clone(), config.tasks.clone()))
                .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            FlowsServer::new(FlowsService::new(replica.clone(), config.tasks.clone()))
                .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            ControlServer::new(ControlService::new(replica.clone(), config.tasks.clone()))
                .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            AdminServer::new(AdminService::new(replica.clone(), node_info.clone()))
                .max_decoding_message_size(MAX_MESSAGE),
        )
        .serve_with_incoming_shutdown(incoming_without_nagle(listener), async {
            let _ = stop_serving_rx.await;
        });
    let server = tokio::spawn(server);

    // Peers must be able to reach us while we ask them whether the cluster exists, and the
    // leader must reach us to replicate while we ask to join.
    let bootstrap = {
        let replica = replica.clone();
        let peers = config.peers.clone();
        let join = config.join.clone();
        let advertise = config.advertise.clone();
        let rebuild = config.rebuild;
        tokio::spawn(async move {
            match &join {
                Some(via) => replica.join(via, &advertise).await,
                None => replica.bootstrap(&peers, rebuild).await,
            }
        })
    };
    let mut bootstrap = Some(bootstrap);

    let metrics = match config.metrics_listen {
        Some(listen) => Some(
            crate::metrics::start(listen, replica.clone())
                .await
                .map_err(|error| NodeError::Listen {
                    addr: listen,
                    reason: format!("metrics endpoint: {error}"),
                })?,
        ),
        None => None,
    };
    let http = match config.http_listen {
        Some(listen) => {
            let router = crate::http::router(
                replica.clone(),
                config.tasks.clone(),
                node_info.clone(),
                config.security.policy.clone(),
            )
            .layer(axum::middleware::from_fn_with_state(
                in_flight.clone(),
                crate::http::shed::shed,
            ));
            Some(
                crate::http::start(listen, config.security.tls.as_ref(), router, config.http)
                    .await
                    .map_err(|reason| NodeError::Listen {
                        addr: listen,
                        reason: format!("HTTP API: {reason}"),
                    })?,
            )
        }
        None => None,
    };
    let pool = config.worker.clone().map(|settings| {
        WorkerPool::start(
            replica.clone(),
            registry,
            settings,
            crate::queue::worker::embedded_worker_id(config.id),
            config.advertise.clone(),
        )
    });

    // A node removed from the cluster stops taking work and hands back what it holds; it goes
    // on answering clients (forwarding to the leader) until it is stopped.
    let mut pool = pool;
    tokio::pin!(shutdown);
    let removed = wait_until_removed(&replica);
    tokio::pin!(removed);
    let fatal = replica.fatal();
    tokio::pin!(fatal);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            why = &mut fatal => {
                tracing::error!(error = %why, "Raft stopped on a fatal error; exiting");
                // Nothing can be handed back or over: stop serving and leave.
                let _ = stop_serving_tx.send(());
                return Err(NodeError::Fatal(why));
            }
            joined = async { bootstrap.as_mut().expect("polled only while running").await }, if bootstrap.is_some() => {
                bootstrap = None;
                let failed = match joined {
                    Ok(Ok(())) => continue,
                    Ok(Err(e)) => e,
                    Err(e) => ReplicaError::Raft(format!("the bootstrap task failed: {e}")),
                };
                tracing::error!(error = %failed, "could not become a member of the cluster");
                if let Some(pool) = pool.take() {
                    pool.shutdown().await;
                }
                let _ = stop_serving_tx.send(());
                return Err(NodeError::Replica(failed));
            }
            () = &mut removed => {
                tracing::warn!("this node was removed from the cluster; its worker pool hands back its tasks and stops. Stop this process when convenient");
                if let Some(pool) = pool.take() {
                    pool.shutdown().await;
                }
                shutdown.await;
                break;
            }
        }
    }
    tracing::info!("shutting down");
    if let Some(pool) = pool {
        pool.shutdown().await;
    }
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    if let Some(bootstrap) = bootstrap {
        bootstrap.abort();
    }
    replica.shutdown().await;
    if let Some(http) = http {
        http.stop().await;
    }
    let _ = stop_serving_tx.send(());
    match tokio::time::timeout(Duration::from_secs(5), server).await {
        Ok(Ok(result)) => result?,
        Ok(Err(join_error)) => tracing::error!(error = %join_error, "server task failed"),
        Err(_) => tracing::warn!("gRPC server did not stop within 5 s; exiting anyway"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// Completes once the replica sees itself removed from the cluster (see [`SeenStanding`]).
async fn wait_until_removed(replica: &Replica) {
    let mut interval = tokio::time::interval(Duration::from_millis(500));
    let mut seen = SeenStanding::default();
    loop {
        interval.tick().await;
        if seen.removed_by(replica.standing()) {
            return;
        }
    }
}

/// What a node has seen of its own place in the cluster, to tell a removal from a join that is
/// still copying the log of the time before it was added.
#[derive(Debug, Default)]
struct SeenStanding {
    voter: bool,
    member: bool,
}

impl SeenStanding {
    /// Whether `now` means this node was removed: its id retired, left out of the newest
    /// configuration after it was in one, or kept on as a learner after it was a voter (how a
    /// leader removes a voter).
    fn removed_by(&mut self, now: Standing) -> bool {
        match now {
            Standing::Removed => true,
            Standing::LeftOut => self.member,
            Standing::Learner if self.voter => true,
            Standing::Learner => {
                self.member = true;
                false
            }
            Standing::Voter => {
                (self.voter, self.member) = (true, true);
                false
            }
            Standing::Joining => false,
        }
    }
}

/// Accepted connections with Nagle's algorithm off. tonic's own `tcp_nodelay` applies only to
/// listeners it binds itself; without this, a response's small HTTP/2 frames wait for the
/// client's delayed ACK (40 ms on Linux) every so often.
fn incoming_without_nagle(
    listener: TcpListener,
) -> impl futures::Stream<Item = Result<tokio::net::TcpStream, std::io::Error>> {
    use futures::StreamExt;
    TcpListenerStream::new(listener).map(|accepted| {
        let stream = accepted?;
        stream.set_nodelay(true)?;
        Ok(stream)
    })
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removed_after(standings: &[Standing]) -> Vec<bool> {
        let mut seen = SeenStanding::default();
        standings.iter().map(|s| seen.removed_by(*s)).collect()
    }

    #[test]
    fn a_join_copying_the_log_from_before_it_was_added_is_not_a_removal() {
        use Standing::*;
        assert_eq!(
            removed_after(&[Joining, LeftOut, LeftOut, Learner, Voter]),
            [false; 5]
        );
    }

    #[test]
    fn a_member_left_out_or_demoted_or_retired_is_removed() {
        use Standing::*;
        assert_eq!(removed_after(&[Voter, LeftOut]), [false, true]);
        assert_eq!(removed_after(&[Learner, LeftOut]), [false, true]);
        assert_eq!(removed_after(&[Voter, Learner]), [false, true]);
        assert_eq!(removed_after(&[LeftOut, Removed]), [false, true]);
    }
}
