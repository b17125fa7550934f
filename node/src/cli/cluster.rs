//! `qraft cluster members|add-node|remove-node|transfer-leader`: who votes, and changing it
//! while the cluster works.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use qraft_proto::{Client, RetryPolicy, pb};
use serde_json::{Value, json};

use super::ClusterArgs;
use super::output;
use qraft_node::config::parse_duration_ms;

#[derive(clap::Args, Debug)]
pub struct ClusterCommandArgs {
    #[command(subcommand)]
    pub action: ClusterAction,
}

#[derive(clap::Subcommand, Debug)]
pub enum ClusterAction {
    /// The voters and learners, and from the leader's view how far each is behind.
    Members {
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Add a node: start it first (`qraft node --id ID --listen ... --join HOST:PORT`, which
    /// also asks to be added by itself). It joins as a learner, catches up (by snapshot if the
    /// log was purged), then becomes a voter; this waits until it votes, showing progress.
    AddNode {
        /// A new id: never one a removed node had.
        id: u64,
        /// Where the new node serves gRPC, reachable from every member.
        addr: String,
        /// How long the node may take to catch up.
        #[arg(long, default_value = "10m", value_parser = parse_duration_ms)]
        timeout: u64,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Remove a node (the leader too: it hands over first). Refused when the voters left, or
    /// those answering now, would not make a majority. Stop the node's process afterwards; its
    /// id is retired.
    RemoveNode {
        id: u64,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Hand leadership to voter ID, or to the most up-to-date other voter; prints the pause.
    TransferLeader {
        id: Option<u64>,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
}

pub async fn run(args: ClusterCommandArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        ClusterAction::Members { cluster } => {
            let leader = leader_status(&cluster.client()?).await?;
            print_members(&leader, cluster.json);
            Ok(ExitCode::SUCCESS)
        }
        ClusterAction::AddNode {
            id,
            addr,
            timeout,
            cluster,
        } => add_node(id, &addr, timeout, cluster).await,
        ClusterAction::RemoveNode { id, cluster } => {
            let response = cluster.client()?.remove_node(id).await?;
            if cluster.json {
                output::print_json(&json!({
                    "removed": response.removed,
                    "members": members_json(&response.members, &[]),
                }));
            } else if response.removed {
                println!("node {id} removed; stop its process (its id is retired)");
            } else {
                println!("node {id} is not a member (removed already?)");
            }
            Ok(ExitCode::SUCCESS)
        }
        ClusterAction::TransferLeader { id, cluster } => {
            let response = cluster.client()?.transfer_leader(id).await?;
            if cluster.json {
                output::print_json(&json!({
                    "leader_id": response.leader_id,
                    "leader_addr": response.leader_addr,
                    "pause_ms": response.pause_ms,
                }));
            } else {
                println!(
                    "node {} ({}) leads; writes paused for {} ms",
                    response.leader_id, response.leader_addr, response.pause_ms
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn add_node(id: u64, addr: &str, timeout_ms: u64, cluster: ClusterArgs) -> anyhow::Result<ExitCode> {
    let limit = Duration::from_millis(timeout_ms);
    // The call answers only once the node votes: let it run as long as catching up may take.
    let client = cluster
        .client()?
        .with_timeout(limit + Duration::from_secs(30))
        .with_retry(RetryPolicy {
            deadline: limit + Duration::from_secs(60),
            ..RetryPolicy::default()
        });
    let watcher = cluster.client()?.with_timeout(Duration::from_secs(2));
    let add = client.add_node(id, addr, timeout_ms);
    tokio::pin!(add);
    let started = Instant::now();
    // Progress only for an add that takes a while, and only when it changes.
    let every = Duration::from_secs(1);
    let mut progress = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut last_line = String::new();
    let response = loop {
        tokio::select! {
            response = &mut add => break response?,
            _ = progress.tick(), if !cluster.json => {
                if let Ok(leader) = leader_status(&watcher).await {
                    let line = catch_up_line(&leader, id);
                    if line != last_line {
                        eprintln!("{:>5.1} s  {line}", started.elapsed().as_secs_f64());
                        last_line = line;
                    }
                }
            }
        }
    };
    if cluster.json {
        output::print_json(&json!({
            "added": response.added,
            "took_ms": response.took_ms,
            "members": members_json(&response.members, &[]),
        }));
    } else if response.added {
        println!(
            "node {id} ({addr}) is a voter, {} ms after the request",
            response.took_ms
        );
    } else {
        println!("node {id} ({addr}) was a voter already");
    }
    Ok(ExitCode::SUCCESS)
}

/// Where node `id` is, in the leader's words.
fn catch_up_line(leader: &pb::NodeStatus, id: u64) -> String {
    let member = leader.members.iter().find(|m| m.id == id);
    let lag = leader.peers.iter().find(|p| p.id == id);
    match (member, lag) {
        (None, _) => format!("node {id}: not a member yet"),
        (Some(m), _) if m.voter => format!("node {id}: voter"),
        (Some(_), Some(p)) if p.has_matched => format!("node {id}: learner, {} entries behind", p.lag),
        (Some(_), _) => format!("node {id}: learner, receiving the log (or a snapshot)"),
    }
}

/// The leader's own status: it alone knows how far each member has come.
async fn leader_status(client: &Client) -> anyhow::Result<pb::NodeStatus> {
    let answers = client.cluster_status().await;
    let leader = answers
        .iter()
        .filter_map(|(_, answer)| answer.as_ref().ok())
        .filter(|status| status.role == pb::NodeRole::Leader as i32)
        .max_by_key(|status| status.term)
        .cloned();
    if let Some(leader) = leader {
        return Ok(leader);
    }
    // The leader may be a member the --cluster list leaves out: ask where the others point.
    let named = answers
        .iter()
        .filter_map(|(_, answer)| answer.as_ref().ok())
        .find(|status| !status.leader_addr.is_empty())
        .map(|status| status.leader_addr.clone());
    match named {
        Some(addr) => Ok(client.node_status(&addr).await?),
        None => anyhow::bail!("no node answered with a leader; is a majority of the voters up?"),
    }
}

fn members_json(members: &[pb::Member], peers: &[pb::PeerProgress]) -> Value {
    Value::Array(
        members
            .iter()
            .map(|m| {
                let progress = peers.iter().find(|p| p.id == m.id);
                json!({
                    "id": m.id,
                    "addr": m.addr,
                    "role": if m.voter { "voter" } else { "learner" },
                    "lag": progress.filter(|p| p.has_matched).map(|p| p.lag),
                    "last_ack_ms_ago": progress.and_then(|p| p.last_ack_ms_ago),
                })
            })
            .collect(),
    )
}

fn print_members(leader: &pb::NodeStatus, as_json: bool) {
    if as_json {
        output::print_json(&json!({
            "leader": leader.id,
            "term": leader.term,
            "changing": leader.membership_changing,
            "members": members_json(&leader.members, &leader.peers),
        }));
        return;
    }
    println!(
        "{:<6} {:<24} {:<8} {:>10}  LAST ACK",
        "ID", "ADDRESS", "ROLE", "LAG"
    );
    for member in &leader.members {
        let progress = leader.peers.iter().find(|p| p.id == member.id);
        let role = match (member.id == leader.id, member.voter) {
            (true, _) => "leader",
            (false, true) => "voter",
            (false, false) => "learner",
        };
        let lag = match progress {
            Some(p) if p.has_matched => p.lag.to_string(),
            Some(_) => "-".into(),
            None => "0".into(),
        };
        let ack = progress
            .and_then(|p| p.last_ack_ms_ago)
            .map_or("-".to_owned(), |ms| format!("{ms} ms ago"));
        let ack = if member.id == leader.id {
            "-".to_owned()
        } else {
            ack
        };
        println!(
            "{:<6} {:<24} {role:<8} {lag:>10}  {ack}",
            member.id,
            output::clip(&member.addr, 24)
        );
    }
    let voters = leader.members.iter().filter(|m| m.voter).count();
    println!(
        "{voters} voters, {} learners; a majority is {}{}",
        leader.members.len() - voters,
        voters / 2 + 1,
        if leader.membership_changing {
            "; a membership change is in progress"
        } else {
            ""
        }
    );
}
