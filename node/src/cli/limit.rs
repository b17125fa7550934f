//! `qraft limit set SCOPE RATE`, `qraft limit set queue:NAME max-length N` (or `max-bytes
//! SIZE`), `qraft limit rm SCOPE`, `qraft limit list`

use std::process::ExitCode;

use serde_json::{Value, json};

use super::output;
use super::{ClusterArgs, ReadArgs};
use qraft_node::queue::cap::CapKind;
use qraft_node::queue::limit::{LimitScope, Rate};

#[derive(clap::Args, Debug)]
pub struct LimitArgs {
    #[command(subcommand)]
    pub action: LimitAction,
}

#[derive(clap::Subcommand, Debug)]
pub enum LimitAction {
    /// Set a cluster-wide rate limit, e.g. `qraft limit set task:mail.send 100/s` or
    /// `qraft limit set queue:emails 10/m`, or cap what a queue holds:
    /// `qraft limit set queue:emails max-length 100000` (unfinished tasks) or
    /// `qraft limit set queue:emails max-bytes 1GiB` (their args and headers); a submit past a
    /// cap is refused (RESOURCE_EXHAUSTED) and stores nothing, and 0 removes the cap. Holds
    /// however many workers and producers run; changing a rate keeps the starts already
    /// counted.
    Set {
        /// task:NAME (tasks with this name, any queue) or queue:NAME (every task of the queue).
        #[arg(value_parser = parse_scope)]
        scope: LimitScope,
        /// COUNT/UNIT (100/s, 10/m, 1000/h, 5/250ms), or max-length or max-bytes.
        #[arg(value_name = "RATE|CAP")]
        what: String,
        /// The cap's value: a count for max-length, a size for max-bytes (1048576, 512KiB,
        /// 64MiB, 1GiB); 0 removes the cap.
        value: Option<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Remove a rate limit, and a queue's caps.
    Rm {
        #[arg(value_parser = parse_scope)]
        scope: LimitScope,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Show every rate limit and how much of its window is used, and the concurrency keys
    /// (`submit --concurrency-key`) with running tasks.
    List {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        read: ReadArgs,
    },
}

fn parse_scope(text: &str) -> Result<LimitScope, String> {
    text.parse()
}

/// What `qraft limit set` sets.
enum Setting {
    Rate(Rate),
    Cap(CapKind, u64),
}

fn setting(what: &str, value: Option<&str>) -> Result<Setting, String> {
    match (what.parse::<CapKind>(), value) {
        (Ok(cap), Some(value)) => {
            let value = match cap {
                CapKind::MaxLength => value
                    .parse()
                    .map_err(|_| format!("max-length {value:?} is not a whole number of tasks"))?,
                CapKind::MaxBytes => parse_size(value)?,
            };
            Ok(Setting::Cap(cap, value))
        }
        (Ok(cap), None) => Err(format!("{cap} needs a value, e.g. `{cap} 100000`; 0 removes it")),
        (Err(_), None) => what.parse().map(Setting::Rate),
        (Err(_), Some(extra)) => Err(format!(
            "{what:?} is not max-length or max-bytes, and a rate takes no {extra:?} after it"
        )),
    }
}

/// `1048576`, `512KiB`, `64MiB`, `1GiB` (or KB, MB, GB, also powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a size like 1048576, 512KiB, 64MiB or 1GiB");
    let digits = text.trim().trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text.trim()[digits.len()..];
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(bad()),
    };
    digits
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(bad)
}

pub async fn run(args: LimitArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        LimitAction::Set {
            scope,
            what,
            value,
            cluster,
        } => {
            let setting = match setting(&what, value.as_deref()) {
                Ok(setting) => setting,
                Err(message) => {
                    eprintln!("error: {message}");
                    return Ok(ExitCode::from(2));
                }
            };
            let client = cluster.client()?;
            match setting {
                Setting::Rate(rate) => {
                    client
                        .set_limit(&scope.to_string(), rate.count, rate.per_ms)
                        .await?;
                    if cluster.json {
                        output::print_json(&json!({ "scope": scope.to_string(), "rate": rate.to_string() }));
                    } else {
                        println!("limit {scope}: {rate}");
                    }
                }
                Setting::Cap(cap, value) => {
                    client
                        .set_queue_cap(&scope.to_string(), &cap.to_string(), value)
                        .await?;
                    if cluster.json {
                        output::print_json(
                            &json!({ "scope": scope.to_string(), "cap": cap.to_string(), "value": value }),
                        );
                    } else if value == 0 {
                        println!("limit {scope}: no {cap}");
                    } else {
                        println!("limit {scope}: {cap} {value}");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        LimitAction::Rm { scope, cluster } => {
            let removed = cluster.client()?.remove_limit(&scope.to_string()).await?;
            if cluster.json {
                output::print_json(&json!({ "scope": scope.to_string(), "removed": removed }));
            } else if removed {
                println!("limit {scope}: removed");
            } else {
                println!("limit {scope}: there was none");
            }
            Ok(ExitCode::SUCCESS)
        }
        LimitAction::List { cluster, read } => list(cluster, read).await,
    }
}

async fn list(cluster: ClusterArgs, read: ReadArgs) -> anyhow::Result<ExitCode> {
    let response = cluster.client()?.list_limits(read.linearizable()).await?;
    let rate = |count: u32, per_ms: u64| Rate { count, per_ms }.to_string();
    if cluster.json {
        let limits: Vec<Value> = response
            .limits
            .iter()
            .map(|l| {
                json!({
                    "scope": l.scope, "rate": rate(l.count, l.per_ms), "count": l.count,
                    "per_ms": l.per_ms, "used": l.used, "frees_at": output::time(l.frees_at_ms),
                })
            })
            .collect();
        let keys: Vec<Value> = response
            .keys
            .iter()
            .map(|k| json!({ "key": k.key, "running": k.running }))
            .collect();
        let caps: Vec<Value> = response
            .caps
            .iter()
            .map(|c| {
                json!({
                    "queue": c.queue, "max_length": c.max_length, "max_bytes": c.max_bytes,
                    "length": c.length, "bytes": c.bytes,
                })
            })
            .collect();
        let store = response.store.unwrap_or_default();
        output::print_json(&json!({
            "limits": limits, "caps": caps, "concurrency_keys": keys,
            "store": {
                "tasks": store.tasks, "max_tasks": store.max_tasks,
                "bytes": store.bytes, "max_bytes": store.max_bytes,
            },
        }));
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<40} {:>12} {:>14}", "SCOPE", "RATE", "USED");
    for limit in &response.limits {
        println!(
            "{:<40} {:>12} {:>14}",
            output::clip(&limit.scope, 40),
            rate(limit.count, limit.per_ms),
            format!("{}/{}", limit.used, limit.count),
        );
    }
    if response.limits.is_empty() {
        println!("(no rate limits: `qraft limit set task:NAME 100/s` adds one)");
    }
    if !response.caps.is_empty() {
        let of = |held: u64, max: u64| match max {
            0 => held.to_string(),
            max => format!("{held}/{max}"),
        };
        println!();
        println!("{:<40} {:>22} {:>26}", "QUEUE", "LENGTH", "BYTES");
        for cap in &response.caps {
            println!(
                "{:<40} {:>22} {:>26}",
                output::clip(&cap.queue, 40),
                of(cap.length, cap.max_length),
                of(cap.bytes, cap.max_bytes),
            );
        }
    }
    if let Some(store) = &response.store {
        println!();
        println!(
            "cluster holds {}/{} tasks and {}/{} bytes (--max-tasks, --max-stored-bytes)",
            store.tasks, store.max_tasks, store.bytes, store.max_bytes
        );
    }
    if !response.keys.is_empty() {
        println!();
        println!("{:<40} {:>8}", "CONCURRENCY KEY", "RUNNING");
        for key in &response.keys {
            println!("{:<40} {:>8}", output::clip(&key.key, 40), key.running);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_is_a_rate_or_a_cap_with_its_value() {
        assert!(matches!(setting("100/s", None), Ok(Setting::Rate(_))));
        assert!(matches!(
            setting("max-length", Some("100000")),
            Ok(Setting::Cap(CapKind::MaxLength, 100_000))
        ));
        assert!(matches!(
            setting("max-bytes", Some("64MiB")),
            Ok(Setting::Cap(CapKind::MaxBytes, 67_108_864))
        ));
        assert!(setting("max-length", None).is_err_and(|e| e.contains("needs a value")));
        assert!(setting("max-length", Some("lots")).is_err());
        assert!(setting("100/s", Some("7")).is_err());
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("512"), Ok(512));
        assert!(parse_size("1.5GiB").is_err());
        assert!(parse_size("99999999999TiB").is_err());
    }
}
