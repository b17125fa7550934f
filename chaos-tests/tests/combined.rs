//! The harness end to end, as `cargo test` runs it: a short run of two nemeses combined with
//! `+`, on loopback (no privileges needed), must pass the checker and write its report.
//!
//! Needs the `qraft` binary beside `qraft-chaos` (`cargo test --workspace` builds both).

use std::process::Command;

#[test]
fn a_combined_scenario_runs_and_passes_the_checker() {
    let qraft_chaos = env!("CARGO_BIN_EXE_qraft-chaos");
    let qraft = std::path::Path::new(qraft_chaos).with_file_name("qraft");
    assert!(
        qraft.exists(),
        "{} is missing: run cargo test --workspace, or cargo build --bin qraft first",
        qraft.display()
    );
    let out = tempfile::tempdir().expect("tempdir");
    let output = Command::new(qraft_chaos)
        .args([
            "--scenario",
            "kill-leader+pause-leader",
            "--duration",
            "8s",
            "--loopback",
        ])
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("run qraft-chaos");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "qraft-chaos failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).expect("report.json"))
            .expect("report.json is JSON");
    let result = &report[0];
    assert_eq!(result["scenario"], "kill-leader+pause-leader");
    let verdict = &result["verdict"];
    assert!(
        verdict["acknowledged"].as_u64().is_some_and(|n| n > 0),
        "{verdict}"
    );
    assert_eq!(verdict["lost"]["count"], 0, "{verdict}");
    assert!(
        verdict["failovers"].as_array().is_some_and(|f| !f.is_empty()),
        "a fault that took the leader must be timed: {verdict}"
    );
    let history =
        std::fs::read_to_string(out.path().join("kill-leader+pause-leader/history.jsonl")).expect("history");
    assert!(history.lines().any(|line| line.contains(r#""type":"fault""#)));
}
