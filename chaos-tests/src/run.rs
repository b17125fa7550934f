//! The command line: which scenarios, how long, how many nodes; runs them one after another,
//! prints the table, writes the JSON report, and exits non-zero on any violation.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::cluster::{disks, net};
use crate::report::{ScenarioResult, table, write_json};
use crate::scenario::{self, Scenario, Settings};
use crate::workload::PRODUCER_RATE;
use crate::workload::flows::FLOW_TASKS_PER_SECOND;

/// Runs chaos scenarios against real qraft nodes and checks that no accepted task is lost.
#[derive(clap::Parser, Debug)]
#[command(name = "qraft-chaos", version)]
pub struct Args {
    /// How long each scenario injects faults, e.g. 20s, 60s (the drain after healing comes on top).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// `all`, one scenario, several separated by commas, or nemeses combined with `+`
    /// (e.g. kill-leader+lossy). `--list` shows them.
    #[arg(long, default_value = "all")]
    pub scenario: String,
    /// Cluster size.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(3..=5))]
    pub nodes: u64,
    /// Submitting clients.
    #[arg(long, default_value_t = 3)]
    pub producers: u64,
    /// Workers run by the harness beside the nodes' own pools.
    #[arg(long, default_value_t = 1)]
    pub remote_workers: u64,
    /// Where histories, node logs and report.json go [default: a new directory in the temp dir].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The qraft binary [default: `qraft` next to this program].
    #[arg(long, value_name = "PATH")]
    pub qraft: Option<PathBuf>,
    /// Run on loopback even where network namespaces are available.
    #[arg(long)]
    pub loopback: bool,
    /// Secure the cluster: TLS between everyone (certificates made for the run) and tokens.
    #[arg(long)]
    pub tls: bool,
    /// The canary: nodes acknowledge writes without syncing their WAL, so `power-loss` must
    /// find acknowledged tasks lost (the run fails). Shows the suite can see a missing fsync.
    #[arg(long)]
    pub canary_skip_wal_sync: bool,
    /// List the scenarios and exit.
    #[arg(long)]
    pub list: bool,
    /// Check a history file written by an earlier run (DIR/SCENARIO/history.jsonl) and exit.
    #[arg(long, value_name = "FILE")]
    pub check: Option<PathBuf>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.list {
        for nemesis in crate::nemesis::Nemesis::ALL {
            let network = if nemesis.needs_network() {
                " (needs namespaces)"
            } else if nemesis.needs_lazy_disks() {
                " (on FUSE lazy disks)"
            } else if nemesis.needs_fake_clocks() {
                " (clocks behind libfaketime)"
            } else {
                ""
            };
            println!("{:<18} {}{network}", nemesis.name(), nemesis.describe());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = &args.check {
        let verdict = crate::checker::check(&crate::history::read(path)?);
        let result = ScenarioResult {
            scenario: path.display().to_string(),
            nodes: 0,
            duration_ms: 0,
            verdict,
        };
        print!("{}", table(std::slice::from_ref(&result)));
        return Ok(if result.verdict.ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    // The faults' time, plus a margin for the few seconds producers go on after the last heal.
    let seconds = args.duration.as_secs() + 10;
    let most_tasks = args.producers * PRODUCER_RATE * seconds;
    let most_flow_tasks = FLOW_TASKS_PER_SECOND * seconds;
    anyhow::ensure!(
        most_tasks < u64::from(scenario::MAX_TASKS) && most_flow_tasks < u64::from(scenario::MAX_TASKS),
        "{} producers for {} could submit {most_tasks} tasks, and the flows {most_flow_tasks}, more \
         than the {} a run can check; use fewer producers or a shorter --duration",
        args.producers,
        humantime::format_duration(args.duration),
        scenario::MAX_TASKS
    );
    let qraft = match args.qraft {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("qraft"),
    };
    anyhow::ensure!(
        qraft.exists(),
        "no qraft binary at {} (build it with `cargo build --bin qraft`, or pass --qraft PATH)",
        qraft.display()
    );
    let mut scenarios = if args.scenario == "all" {
        Scenario::all()
    } else {
        args.scenario
            .split(',')
            .map(Scenario::parse)
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let all = args.scenario == "all";
    let unavailable = if args.loopback {
        Some("--loopback".to_owned())
    } else {
        net::available()
            .err()
            .map(|why| format!("network namespaces are not available here ({why})"))
    };
    let namespaces = unavailable.is_none();
    if let Some(why) = unavailable {
        anyhow::ensure!(
            all || !scenarios.iter().any(Scenario::needs_network),
            "{why}: cannot run scenarios that cut the network"
        );
        let skipped: Vec<&str> = scenarios
            .iter()
            .filter(|s| s.needs_network())
            .map(|s| s.name.as_str())
            .collect();
        if !skipped.is_empty() {
            println!(
                "qraft-chaos: {why}; running on loopback and skipping, as they cut the network: {}",
                skipped.join(", ")
            );
        }
        scenarios.retain(|s| !s.needs_network());
    }
    if scenarios.iter().any(Scenario::needs_lazy_disks)
        && let Err(why) = disks::available()
    {
        let why = format!("lazy disks (FUSE) cannot be mounted here ({why})");
        anyhow::ensure!(all, "{why}: cannot run scenarios that cut power or fail disks");
        println!("qraft-chaos: {why}; skipping power-loss and disk");
        scenarios.retain(|s| !s.needs_lazy_disks());
    }
    let out = match args.out {
        Some(dir) => dir,
        None => tempfile::Builder::new().prefix("qraft-chaos-").tempdir()?.keep(),
    };
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let settings = Settings {
        qraft,
        out: out.clone(),
        nodes: args.nodes as usize,
        duration: args.duration,
        producers: args.producers,
        remote_workers: args.remote_workers,
        namespaces,
        tls: args.tls,
        skip_wal_sync: args.canary_skip_wal_sync,
    };
    println!(
        "qraft-chaos: {} scenario(s), {} nodes {}{}, {} each; output in {}",
        scenarios.len(),
        settings.nodes,
        if namespaces {
            "in network namespaces"
        } else {
            "on loopback"
        },
        if settings.tls { " with TLS and tokens" } else { "" },
        humantime::format_duration(args.duration),
        out.display()
    );
    let mut results: Vec<ScenarioResult> = Vec::new();
    let mut errors = Vec::new();
    for scenario in &scenarios {
        println!("== {}", scenario.name);
        match scenario::run(scenario, &settings).await {
            Ok(result) => {
                println!(
                    "   {} operations, {} acknowledged, {}",
                    result.verdict.operations,
                    result.verdict.acknowledged,
                    if result.verdict.ok() { "ok" } else { "VIOLATIONS" }
                );
                results.push(result);
            }
            Err(e) => {
                println!("   could not run: {e:#}");
                errors.push(format!("{}: {e:#}", scenario.name));
            }
        }
    }
    println!();
    print!("{}", table(&results));
    let report = out.join("report.json");
    write_json(&report, &results)?;
    println!("report: {}", report.display());
    for error in &errors {
        println!("error: {error}");
    }
    let passed = errors.is_empty() && crate::report::passed(&results);
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
