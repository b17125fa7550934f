//! `qraft bench --breakdown`: where a run's time went, stage by stage along a task's path. Every
//! node reports its stage histograms since it started (`NodeStatus.stages`); they are read
//! before and after the run, and the differences, summed over the nodes, are the run's.

use std::collections::BTreeMap;

use qraft_proto::{Client, pb};
use serde_json::json;

use qraft_node::metrics::stage::{FACTOR, FIRST_BOUND_SECONDS, Reading};

/// Every node's stage readings at the start of a run.
pub struct Breakdown {
    client: Client,
    before: BTreeMap<String, Vec<pb::StageTiming>>,
}

/// One stage over the run, summed over the nodes.
struct Row {
    name: String,
    reading: Reading,
}

impl Breakdown {
    pub async fn start(client: Client) -> anyhow::Result<Breakdown> {
        let before = read_all(&client).await?;
        Ok(Breakdown { client, before })
    }

    /// Reads the stages again and prints what the run added, as a table or a JSON line.
    pub async fn finish(self, json: bool) -> anyhow::Result<()> {
        let after = read_all(&self.client).await?;
        let mut rows: Vec<Row> = Vec::new();
        let mut skipped = Vec::new();
        for (node, stages) in &after {
            let earlier = self.before.get(node);
            for stage in stages {
                if stage.first_bound_seconds != FIRST_BOUND_SECONDS || stage.factor != FACTOR {
                    skipped.push(format!("{node} ({})", stage.name));
                    continue;
                }
                let was = earlier
                    .and_then(|list| list.iter().find(|s| s.name == stage.name))
                    .map(reading_of)
                    .unwrap_or_default();
                let run = reading_of(stage).since(&was);
                match rows.iter_mut().find(|row| row.name == stage.name) {
                    Some(row) => row.reading.add(&run),
                    None => rows.push(Row {
                        name: stage.name.clone(),
                        reading: run,
                    }),
                }
            }
        }
        if json {
            let stages: serde_json::Map<String, serde_json::Value> = rows
                .iter()
                .map(|row| {
                    let ms = |v: Option<f64>| v.filter(|v| v.is_finite()).map(|v| v * 1000.0);
                    (
                        row.name.clone(),
                        json!({
                            "count": row.reading.count(),
                            "mean_ms": ms(row.reading.mean()),
                            "p50_ms": ms(row.reading.quantile(0.5)),
                            "p99_ms": ms(row.reading.quantile(0.99)),
                        }),
                    )
                })
                .collect();
            println!("{}", json!({ "breakdown": stages, "nodes": after.len() }));
        } else {
            println!();
            println!(
                "where the time went, every node's stages summed ({} nodes; p50 and p99 are bucket bounds, within 26%):",
                after.len()
            );
            println!(
                "{:<14} {:>10} {:>10} {:>10} {:>10}",
                "STAGE", "COUNT", "MEAN", "P50", "P99"
            );
            for row in &rows {
                println!(
                    "{:<14} {:>10} {:>10} {:>10} {:>10}",
                    row.name,
                    row.reading.count(),
                    duration(row.reading.mean()),
                    duration(row.reading.quantile(0.5)),
                    duration(row.reading.quantile(0.99)),
                );
            }
        }
        if !skipped.is_empty() {
            eprintln!(
                "bench: breakdown: left out stages measured with other buckets (another version): {}",
                skipped.join(", ")
            );
        }
        Ok(())
    }
}

async fn read_all(client: &Client) -> anyhow::Result<BTreeMap<String, Vec<pb::StageTiming>>> {
    let mut nodes = BTreeMap::new();
    for (addr, status) in client.cluster_status().await {
        match status {
            Ok(status) => {
                nodes.insert(addr, status.stages);
            }
            Err(e) => {
                eprintln!("bench: breakdown: node {addr} did not answer ({e}); its stages are left out")
            }
        }
    }
    if nodes.is_empty() {
        anyhow::bail!("no node answered its status, so there is no breakdown");
    }
    Ok(nodes)
}

fn reading_of(stage: &pb::StageTiming) -> Reading {
    Reading {
        buckets: stage.buckets.clone(),
        sum_seconds: stage.sum_seconds,
    }
}

fn duration(seconds: Option<f64>) -> String {
    match seconds {
        None => "-".into(),
        Some(s) if !s.is_finite() => "> 21 s".into(),
        Some(s) if s < 0.001 => format!("{:.0} µs", s * 1e6),
        Some(s) if s < 1.0 => format!("{:.2} ms", s * 1e3),
        Some(s) => format!("{s:.2} s"),
    }
}
