//! The report of a chaos run: a plain-text table with one row per scenario and, below it, what
//! went wrong in each failing one; and the same results as JSON, verdicts in full, for tools
//! and for comparing runs.

use std::path::Path;

use serde::Serialize;

use crate::checker::Verdict;

/// How many violations the table prints per failing scenario; the JSON has them all.
const VIOLATIONS_SHOWN: usize = 10;

/// One scenario's run and its verdict.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    /// Cluster size: the same scenario means different things on 3 and 5 nodes.
    pub nodes: usize,
    /// Wall-clock length of the run, for judging the counts (ops per second, faults per run).
    pub duration_ms: u64,
    pub verdict: Verdict,
}

/// Whether every scenario passed: the suite exits non-zero otherwise.
pub fn passed(results: &[ScenarioResult]) -> bool {
    results.iter().all(|result| result.verdict.ok())
}

/// How a column lines up: names to the left, figures to the right.
#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
}

/// LOST and UNEXPECTED count tasks and flows together; FLOWS is the acknowledged flows and RUNS
/// the schedule's due times that fired (each exactly once, or the run fails); STALL the longest
/// the rate-limited queue stood still while a task of it waited.
const COLUMNS: [(&str, Align); 16] = [
    ("SCENARIO", Align::Left),
    ("OPS", Align::Right),
    ("ACKED", Align::Right),
    ("FLOWS", Align::Right),
    ("RUNS", Align::Right),
    ("STALL ms", Align::Right),
    ("LOST", Align::Right),
    ("UNEXPECTED", Align::Right),
    ("DUPLICATED", Align::Right),
    ("RECOVERED", Align::Right),
    ("FAILOVERS", Align::Right),
    ("MIN ms", Align::Right),
    ("MEDIAN ms", Align::Right),
    ("P99 ms", Align::Right),
    ("MAX ms", Align::Right),
    ("RESULT", Align::Left),
];

/// The table, then each failing scenario's violations (the first ten; the JSON has them all).
pub fn table(results: &[ScenarioResult]) -> String {
    let headers: Vec<String> = COLUMNS.iter().map(|(name, _)| (*name).to_owned()).collect();
    let rows: Vec<Vec<String>> = std::iter::once(headers).chain(results.iter().map(row)).collect();
    let widths: Vec<usize> = (0..COLUMNS.len())
        .map(|column| {
            rows.iter()
                .map(|cells| cells[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();

    let mut out = String::new();
    for cells in &rows {
        let line: Vec<String> = cells
            .iter()
            .zip(&widths)
            .zip(COLUMNS.iter().map(|(_, align)| *align))
            .map(|((cell, &width), align)| match align {
                Align::Left => format!("{cell:<width$}"),
                Align::Right => format!("{cell:>width$}"),
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    for result in results.iter().filter(|result| !result.verdict.ok()) {
        out.push('\n');
        out.push_str(&violations(result));
    }
    out
}

/// One scenario's row, in the order of [`COLUMNS`].
fn row(result: &ScenarioResult) -> Vec<String> {
    let verdict = &result.verdict;
    let stats = verdict.failover_stats;
    let ms = |pick: fn(&crate::checker::FailoverStats) -> u64| {
        stats.as_ref().map_or("-".to_owned(), |s| pick(s).to_string())
    };
    vec![
        result.scenario.clone(),
        verdict.operations.to_string(),
        verdict.acknowledged.to_string(),
        verdict.flows.acknowledged.to_string(),
        verdict
            .flows
            .schedule
            .as_ref()
            .map_or("-".to_owned(), |schedule| schedule.fired.to_string()),
        verdict.timing.longest_stall_ms.to_string(),
        (verdict.lost.count + verdict.flows.lost.count).to_string(),
        (verdict.unexpected.count + verdict.flows.unexpected.count).to_string(),
        duplicated(verdict),
        verdict.recovered.count.to_string(),
        failovers(verdict),
        ms(|s| s.min_ms),
        ms(|s| s.median_ms),
        ms(|s| s.p99_ms),
        ms(|s| s.max_ms),
        if verdict.ok() { "ok" } else { "FAIL" }.to_owned(),
    ]
}

/// "0", or the count and how many of them a repeated hand-out explains: "3 (3 explained)".
fn duplicated(verdict: &Verdict) -> String {
    match verdict.duplicated.total() {
        0 => "0".to_owned(),
        total => format!("{total} ({} explained)", verdict.duplicated.explained.count),
    }
}

/// How many leader losses, and how many of them no acknowledged submit ever followed: those are
/// missing from the min/median/p99/max.
fn failovers(verdict: &Verdict) -> String {
    let never = verdict
        .failovers
        .iter()
        .filter(|failover| failover.took_ms.is_none())
        .count();
    match never {
        0 => verdict.failovers.len().to_string(),
        _ => format!("{} ({never} never)", verdict.failovers.len()),
    }
}

/// A failing scenario's heading and its first violations, indented.
fn violations(result: &ScenarioResult) -> String {
    let all = &result.verdict.violations;
    let mut out = format!("FAIL {} ({} violations):\n", result.scenario, all.len());
    for line in all.iter().take(VIOLATIONS_SHOWN) {
        out.push_str(&format!("  {line}\n"));
    }
    if all.len() > VIOLATIONS_SHOWN {
        out.push_str(&format!(
            "  and {} more (see the JSON report)\n",
            all.len() - VIOLATIONS_SHOWN
        ));
    }
    out
}

/// Writes every result, verdicts in full, as pretty JSON.
pub fn write_json(path: &Path, results: &[ScenarioResult]) -> std::io::Result<()> {
    let mut json = serde_json::to_vec_pretty(results)?;
    json.push(b'\n');
    std::fs::write(path, json)
}

#[cfg(test)]
mod tests;
