//! `qraft schedule add|list|rm|pause|resume`: periodic tasks, fired by the cluster itself.

use std::process::ExitCode;

use anyhow::Context;
use qraft_proto::pb;
use serde_json::{Value, json};

use super::output;
use super::{ClusterArgs, ReadArgs};
use qraft_node::config::parse_duration_ms;

#[derive(clap::Args, Debug)]
pub struct ScheduleArgs {
    #[command(subcommand)]
    pub action: ScheduleAction,
}

#[derive(clap::Subcommand, Debug)]
pub enum ScheduleAction {
    /// Add a schedule, or replace the one with this name (its run history is kept). Each due
    /// time submits one task, exactly once, whichever node leads.
    Add(AddArgs),
    /// Show every schedule with its next and last run.
    List {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Remove a schedule (tasks it already submitted stay).
    Rm(NameArgs),
    /// Stop a schedule from firing until resumed.
    Pause(NameArgs),
    /// Let a paused schedule fire again, from its next due time on.
    Resume(NameArgs),
}

#[derive(clap::Args, Debug)]
pub struct NameArgs {
    /// Schedule name.
    pub name: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("when").required(true).args(["cron", "every"])))]
pub struct AddArgs {
    /// Schedule name: letters, digits and . _ - : / @.
    pub name: String,
    /// Cron with seconds: "sec min hour day-of-month month day-of-week [year]",
    /// e.g. "*/5 * * * * *" (every 5 s) or "0 30 9 * * Mon-Fri".
    #[arg(long, value_name = "EXPR")]
    pub cron: Option<String>,
    /// A fixed interval instead of cron, e.g. 30s, 5m (at least 100ms).
    #[arg(long, value_parser = parse_duration_ms, value_name = "DURATION")]
    pub every: Option<u64>,
    /// IANA time zone for --cron, e.g. Europe/Paris.
    #[arg(long, value_name = "ZONE", default_value = "UTC", requires = "cron")]
    pub tz: String,
    /// Handler name of the task each run submits.
    #[arg(long, value_name = "NAME")]
    pub task: String,
    /// Arguments for the task, as JSON.
    #[arg(long, value_name = "JSON")]
    pub args: Option<String>,
    /// Queue to submit to.
    #[arg(long, short, default_value = "default")]
    pub queue: String,
    /// 0..=9, higher runs first.
    #[arg(long, default_value_t = 0)]
    pub priority: u32,
    /// Failed attempts to retry before a run fails for good.
    #[arg(long, default_value_t = 0)]
    pub max_retries: u32,
    /// Hard time limit of one attempt, e.g. 30s.
    #[arg(long, value_parser = parse_duration_ms, value_name = "DURATION")]
    pub timeout: Option<u64>,
    /// A run not started within this long expires, e.g. 1m: useful so that runs do not pile up.
    #[arg(long, value_parser = parse_duration_ms, value_name = "DURATION")]
    pub expires: Option<u64>,
    /// Due times missed while the cluster was down: skip them, or catch up (run the latest
    /// --catch-up-limit of them at once).
    #[arg(long, value_enum, default_value = "skip")]
    pub misfire: MisfireArg,
    /// With --misfire catch-up: most missed runs made up for at once.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub catch_up_limit: u32,
    /// A due time applied later than this counts as missed (a failover takes under a second).
    #[arg(long, value_parser = parse_duration_ms, value_name = "DURATION", default_value = "10s")]
    pub grace: u64,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum MisfireArg {
    Skip,
    CatchUp,
}

pub async fn run(args: ScheduleArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        ScheduleAction::Add(add) => add_schedule(add).await,
        ScheduleAction::List { cluster, read } => list(cluster, read).await,
        ScheduleAction::Rm(target) => {
            let removed = target.cluster.client()?.remove_schedule(&target.name).await?;
            if target.cluster.json {
                output::print_json(&json!({ "name": target.name, "removed": removed }));
            } else if removed {
                println!("schedule {}: removed", target.name);
            } else {
                println!("schedule {}: there was none", target.name);
            }
            Ok(ExitCode::SUCCESS)
        }
        ScheduleAction::Pause(target) => set_paused(target, true).await,
        ScheduleAction::Resume(target) => set_paused(target, false).await,
    }
}

async fn add_schedule(args: AddArgs) -> anyhow::Result<ExitCode> {
    let payload = match &args.args {
        Some(text) => {
            serde_json::from_str::<Value>(text).with_context(|| format!("--args {text:?} is not JSON"))?;
            text.clone().into_bytes()
        }
        None => Vec::new(),
    };
    let (misfire, catch_up_limit) = match args.misfire {
        MisfireArg::Skip => (pb::Misfire::Skip, 0),
        MisfireArg::CatchUp => (pb::Misfire::CatchUp, args.catch_up_limit),
    };
    let spec = pb::ScheduleSpec {
        name: args.name,
        task: Some(pb::TaskSpec {
            name: args.task,
            queue: args.queue,
            args: payload,
            priority: args.priority,
            max_retries: args.max_retries,
            timeout_ms: args.timeout.unwrap_or(0),
            expires_in_ms: args.expires.unwrap_or(0),
            ..Default::default()
        }),
        time_zone: if args.cron.is_some() {
            args.tz
        } else {
            String::new()
        },
        cron: args.cron.unwrap_or_default(),
        every_ms: args.every.unwrap_or(0),
        misfire: misfire.into(),
        catch_up_limit,
        grace_ms: Some(args.grace),
    };
    let response = args.cluster.client()?.add_schedule(spec).await?;
    let schedule = response.schedule.unwrap_or_default();
    if args.cluster.json {
        let mut value = schedule_json(&schedule);
        value["replaced"] = json!(response.replaced);
        output::print_json(&value);
    } else {
        let name = schedule
            .spec
            .as_ref()
            .map(|s| s.name.as_str())
            .unwrap_or_default();
        let verb = if response.replaced { "replaced" } else { "added" };
        println!("schedule {name}: {verb}, next run {}", when(schedule.next_run_ms));
    }
    Ok(ExitCode::SUCCESS)
}

async fn set_paused(target: NameArgs, paused: bool) -> anyhow::Result<ExitCode> {
    let schedule = target
        .cluster
        .client()?
        .pause_schedule(&target.name, paused)
        .await?;
    if target.cluster.json {
        output::print_json(&schedule_json(&schedule));
    } else if paused {
        println!("schedule {}: paused", target.name);
    } else {
        println!(
            "schedule {}: resumed, next run {}",
            target.name,
            when(schedule.next_run_ms)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(cluster: ClusterArgs, read: ReadArgs) -> anyhow::Result<ExitCode> {
    let response = cluster.client()?.list_schedules(read.linearizable()).await?;
    if cluster.json {
        let rows = response.schedules.iter().map(schedule_json).collect();
        output::print_json(&Value::Array(rows));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<24} {:<28} {:<24} {:<24} {:>7} {:>7}  PAUSED",
        "NAME", "WHEN", "NEXT RUN", "LAST RUN", "RUNS", "MISSED"
    );
    for schedule in &response.schedules {
        let spec = schedule.spec.clone().unwrap_or_default();
        println!(
            "{:<24} {:<28} {:<24} {:<24} {:>7} {:>7}  {}",
            output::clip(&spec.name, 24),
            output::clip(&describe(&spec), 28),
            when(schedule.next_run_ms),
            when(schedule.last_run_ms),
            schedule.runs,
            schedule.missed,
            if schedule.paused { "yes" } else { "no" }
        );
    }
    if response.schedules.is_empty() {
        println!("(no schedules: `qraft schedule add NAME --every 30s --task T` adds one)");
    }
    Ok(ExitCode::SUCCESS)
}

/// "cron */5 * * * * * UTC" or "every 30s".
fn describe(spec: &pb::ScheduleSpec) -> String {
    if spec.cron.is_empty() {
        let every = std::time::Duration::from_millis(spec.every_ms);
        format!("every {}", humantime::format_duration(every))
    } else {
        format!("{} {}", spec.cron, spec.time_zone)
    }
}

fn when(ms: u64) -> String {
    match output::time(ms) {
        Value::String(text) => text,
        _ => "-".to_string(),
    }
}

fn schedule_json(schedule: &pb::Schedule) -> Value {
    let spec = schedule.spec.clone().unwrap_or_default();
    let task = spec.task.clone().unwrap_or_default();
    let misfire = match pb::Misfire::try_from(spec.misfire) {
        Ok(pb::Misfire::CatchUp) => "catch_up",
        _ => "skip",
    };
    json!({
        "name": spec.name,
        "cron": (!spec.cron.is_empty()).then_some(&spec.cron),
        "time_zone": (!spec.time_zone.is_empty()).then_some(&spec.time_zone),
        "every_ms": (spec.every_ms > 0).then_some(spec.every_ms),
        "task": task.name,
        "queue": task.queue,
        "args": output::payload(&task.args),
        "misfire": misfire,
        "catch_up_limit": (spec.catch_up_limit > 0).then_some(spec.catch_up_limit),
        "grace_ms": spec.grace_ms,
        "paused": schedule.paused,
        "next_run": output::time(schedule.next_run_ms),
        "last_run": output::time(schedule.last_run_ms),
        "last_task_id": (!schedule.last_task_id.is_empty()).then_some(&schedule.last_task_id),
        "runs": schedule.runs,
        "missed": schedule.missed,
        "created_at": output::time(schedule.created_at_ms),
    })
}
