use super::*;
use crate::checker::{Capped, Failover, FailoverStats, Lost, LostFlow, ScheduleFindings};

fn failover(took_ms: Option<u64>) -> Failover {
    Failover {
        fault_at: 1_000,
        nemesis: "kill-leader".into(),
        detail: "n1".into(),
        took_ms,
        healed_at: None,
    }
}

/// A passing run with three leader losses, one of which never recovered before the run ended.
fn passing() -> ScenarioResult {
    let mut verdict = Verdict {
        operations: 1_200,
        acknowledged: 1_150,
        failovers: vec![failover(Some(800)), failover(Some(1_100)), failover(None)],
        failover_stats: FailoverStats::of(&[800, 1_100]),
        ..Verdict::default()
    };
    verdict.flows.acknowledged = 40;
    verdict.flows.schedule = Some(ScheduleFindings {
        fired: 58,
        ..ScheduleFindings::default()
    });
    verdict.recovered.push(crate::checker::Recovered {
        key: "k9".into(),
        task_id: "t9".into(),
        final_state: "SUCCESS".into(),
    });
    verdict.timing.longest_stall_ms = 2_400;
    ScenarioResult {
        scenario: "kill-leader".into(),
        nodes: 3,
        duration_ms: 60_000,
        verdict,
    }
}

/// A failing run: one lost task, one lost flow, and more violations than the table shows.
fn failing() -> ScenarioResult {
    let mut lost = Capped::default();
    lost.push(Lost {
        key: "k17".into(),
        task_id: "t17".into(),
        acked_at: 1_234,
        final_state: None,
    });
    let mut violations =
        vec!["lost: key k17 (task t17) acknowledged at 1234 ms, final state missing".to_owned()];
    violations.extend((0..11).map(|i| format!("panic: n{i}: boom")));
    let mut verdict = Verdict {
        operations: 40,
        acknowledged: 30,
        lost,
        violations,
        ..Verdict::default()
    };
    verdict.flows.lost.push(LostFlow {
        key: "f-3".into(),
        flow_id: "F3".into(),
        acked_at: 2_000,
        final_state: Some("FLOW_FAILED".into()),
    });
    ScenarioResult {
        scenario: "partition-majority".into(),
        nodes: 5,
        duration_ms: 30_000,
        verdict,
    }
}

#[test]
fn the_table_has_a_row_per_scenario_and_the_violations_of_the_failing_ones() {
    let table = table(&[passing(), failing()]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("SCENARIO"), "{table}");
    for (header, _) in COLUMNS {
        assert!(lines[0].contains(header), "no {header}: {table}");
    }
    let kill = lines[1].split_whitespace().collect::<Vec<_>>();
    assert_eq!(
        kill,
        [
            "kill-leader",
            "1200",
            "1150",
            "40",
            "58",
            "2400",
            "0",
            "0",
            "0",
            "1",
            "3",
            "(1",
            "never)",
            "800",
            "800",
            "1100",
            "1100",
            "ok"
        ]
    );
    let partition = lines[2].split_whitespace().collect::<Vec<_>>();
    assert_eq!(
        partition,
        [
            "partition-majority",
            "40",
            "30",
            "0",
            "-",
            "0",
            "2",
            "0",
            "0",
            "0",
            "0",
            "-",
            "-",
            "-",
            "-",
            "FAIL"
        ]
    );
    assert!(
        table.contains("FAIL partition-majority (12 violations):\n  lost: key k17"),
        "{table}"
    );
    assert!(table.contains("  panic: n8: boom\n  and 2 more"), "{table}");
    assert!(!table.contains("n9: boom"), "{table}");
    assert!(!table.contains("FAIL kill-leader"), "{table}");
}

#[test]
fn columns_line_up_whatever_the_width_of_a_cell() {
    let mut wide = passing();
    wide.verdict.duplicated.explained.push(crate::checker::Duplicate {
        task_id: "t1".into(),
        executions: 2,
        workers: vec!["n1".into(), "remote-1".into()],
        attempts_seen: vec![1, 2],
        final_attempts: Some(2),
    });
    let table = table(&[wide, failing()]);
    assert!(table.contains("1 (1 explained)"), "{table}");
    let result_column: Vec<usize> = table.lines().take(3).filter_map(|line| line.rfind(' ')).collect();
    assert_eq!(result_column.len(), 3);
    assert!(result_column.windows(2).all(|pair| pair[0] == pair[1]), "{table}");
}

#[test]
fn the_json_holds_every_result_with_its_verdict() -> std::io::Result<()> {
    let results = [passing(), failing()];
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("report.json");
    write_json(&path, &results)?;
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
    assert_eq!(written, serde_json::to_value(&results)?);

    assert_eq!(written[0]["scenario"], "kill-leader");
    assert_eq!(written[0]["nodes"], 3);
    assert_eq!(written[0]["duration_ms"], 60_000);
    assert_eq!(written[0]["verdict"]["failover_stats"]["p99_ms"], 1_100);
    assert_eq!(
        written[0]["verdict"]["failovers"][2]["took_ms"],
        serde_json::Value::Null
    );
    assert_eq!(written[0]["verdict"]["recovered"]["count"], 1);
    assert_eq!(written[0]["verdict"]["drain"]["status"], "missing");
    assert_eq!(written[1]["verdict"]["lost"]["first"][0]["key"], "k17");
    assert_eq!(
        written[1]["verdict"]["violations"].as_array().map(Vec::len),
        Some(12)
    );
    assert!(!passed(&results));
    assert!(passed(&results[..1]));
    Ok(())
}
