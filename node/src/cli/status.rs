//! `qraft status`: every node's view, side by side.

use std::collections::BTreeMap;
use std::process::ExitCode;

use qraft_proto::{Client, pb};
use serde_json::{Value, json};

use super::ClusterArgs;

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// One row: a node as it answered, or as its peers know it when it did not.
struct Row {
    addr: String,
    id: Option<u64>,
    status: Result<pb::NodeStatus, String>,
}

fn role_name(role: i32) -> &'static str {
    match pb::NodeRole::try_from(role) {
        Ok(pb::NodeRole::Leader) => "leader",
        Ok(pb::NodeRole::Follower) => "follower",
        Ok(pb::NodeRole::Candidate) => "candidate",
        Ok(pb::NodeRole::Learner) => "learner",
        Ok(pb::NodeRole::Shutdown) => "shutdown",
        Ok(pb::NodeRole::Unspecified) | Err(_) => "unknown",
    }
}

async fn collect(client: &Client) -> Vec<Row> {
    let answers = client.cluster_status().await;
    // Members as reported by whoever answered: names unreachable nodes, and finds members the
    // --cluster list left out.
    let mut members: BTreeMap<String, u64> = BTreeMap::new();
    for (_, answer) in &answers {
        if let Ok(status) = answer {
            for member in &status.members {
                members.insert(member.addr.clone(), member.id);
            }
        }
    }
    let mut rows: Vec<Row> = answers
        .into_iter()
        .map(|(addr, answer)| Row {
            id: answer
                .as_ref()
                .ok()
                .map(|s| s.id)
                .or_else(|| members.get(&addr).copied()),
            addr,
            status: answer.map_err(|e| e.to_string()),
        })
        .collect();
    let missing: Vec<String> = members
        .keys()
        .filter(|addr| !rows.iter().any(|r| &r.addr == *addr))
        .cloned()
        .collect();
    for addr in missing {
        let status = client.node_status(&addr).await.map_err(|e| e.to_string());
        rows.push(Row {
            id: members.get(&addr).copied(),
            addr,
            status,
        });
    }
    rows.sort_by_key(|r| (r.id.unwrap_or(u64::MAX), r.addr.clone()));
    rows
}

/// The leader the most recent term agrees on, as (id, addr, term).
fn leader(rows: &[Row]) -> Option<(u64, String, u64)> {
    rows.iter()
        .filter_map(|r| r.status.as_ref().ok())
        .filter(|s| s.leader_id != 0)
        .max_by_key(|s| s.term)
        .map(|s| (s.leader_id, s.leader_addr.clone(), s.term))
}

/// Entries node `id` is behind, as the leader that answered reports it.
fn lag_of(rows: &[Row], id: Option<u64>) -> Option<u64> {
    let leader = rows
        .iter()
        .filter_map(|r| r.status.as_ref().ok())
        .find(|s| s.role == pb::NodeRole::Leader as i32)?;
    if Some(leader.id) == id {
        return Some(0);
    }
    leader.peers.iter().find(|p| Some(p.id) == id).map(|p| p.lag)
}

pub async fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let client = args.cluster.client()?;
    let rows = collect(&client).await;
    let leader = leader(&rows);
    if args.cluster.json {
        let nodes: Vec<Value> = rows
            .iter()
            .map(|row| match &row.status {
                Ok(s) => json!({
                    "id": s.id, "addr": row.addr, "reachable": true, "role": role_name(s.role),
                    "term": s.term, "last_log_index": s.last_log_index,
                    "committed_index": s.committed_index, "applied_index": s.applied_index,
                    "lag": lag_of(&rows, row.id),
                    "snapshot_index": s.snapshot_index, "purged_index": s.purged_index,
                    "leader_id": if s.leader_id == 0 { Value::Null } else { json!(s.leader_id) },
                    "task_count": s.task_count, "error": Value::Null,
                }),
                Err(e) => json!({
                    "id": row.id, "addr": row.addr, "reachable": false, "role": Value::Null,
                    "term": Value::Null, "last_log_index": Value::Null, "committed_index": Value::Null,
                    "applied_index": Value::Null, "lag": lag_of(&rows, row.id),
                    "snapshot_index": Value::Null, "purged_index": Value::Null, "leader_id": Value::Null,
                    "task_count": Value::Null, "error": e,
                }),
            })
            .collect();
        let leader = leader
            .as_ref()
            .map(|(id, addr, term)| json!({"id": id, "addr": addr, "term": term}));
        println!("{}", json!({ "leader": leader, "nodes": nodes }));
    } else {
        println!(
            "{:<4} {:<22} {:<10} {:>6} {:>9} {:>9} {:>9} {:>9} {:>6}  REACHABLE",
            "ID", "ADDRESS", "ROLE", "TERM", "LAST LOG", "COMMITTED", "APPLIED", "SNAPSHOT", "LAG"
        );
        for row in &rows {
            let id = row.id.map_or("-".to_string(), |id| id.to_string());
            let lag = lag_of(&rows, row.id).map_or("-".to_string(), |lag| lag.to_string());
            match &row.status {
                Ok(s) => println!(
                    "{:<4} {:<22} {:<10} {:>6} {:>9} {:>9} {:>9} {:>9} {:>6}  yes",
                    id,
                    row.addr,
                    role_name(s.role),
                    s.term,
                    s.last_log_index,
                    s.committed_index,
                    s.applied_index,
                    s.snapshot_index,
                    lag
                ),
                Err(e) => println!(
                    "{:<4} {:<22} {:<10} {:>6} {:>9} {:>9} {:>9} {:>9} {:>6}  no: {e}",
                    id, row.addr, "-", "-", "-", "-", "-", "-", lag
                ),
            }
        }
        match &leader {
            Some((id, addr, term)) => println!("leader: node {id} ({addr}), term {term}"),
            None => println!("leader: none known (the cluster cannot accept writes)"),
        }
    }
    let reachable = rows.iter().any(|r| r.status.is_ok());
    Ok(if reachable && leader.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
