//! Pure text formatting shared by the views: ages, durations, rates, counts, byte sizes, payload
//! previews, progress bars, schedule triggers and event lines (`format/event.rs`). Nothing here reads a
//! clock; callers pass the times to compare.

mod event;

use crate::model::Trigger;

pub use self::event::{event_line, event_text};

/// A short age: `0s`, `42s`, `3m`, `5h`, `2d`.
pub fn short_age(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// How long ago `at_ms` was at `now_ms` (`3s ago`); `-` when unset, `now` for clock skew.
pub fn ago(now_ms: u64, at_ms: u64) -> String {
    if at_ms == 0 {
        return "-".into();
    }
    match now_ms.checked_sub(at_ms) {
        Some(elapsed) if elapsed >= 1000 => format!("{} ago", short_age(elapsed)),
        _ => "now".into(),
    }
}

/// A time relative to `now_ms`, past or future: `3s ago`, `in 12s`; `-` when unset.
pub fn relative(now_ms: u64, at_ms: u64) -> String {
    if at_ms == 0 {
        "-".into()
    } else if at_ms > now_ms {
        format!("in {}", short_age(at_ms - now_ms))
    } else {
        ago(now_ms, at_ms)
    }
}

/// A duration for people: `412 ms`, `1.2 s`, `42 s`, `3m 05s`.
pub fn duration_ms(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..10_000 => format!("{}.{} s", ms / 1000, ms % 1000 / 100),
        10_000..60_000 => format!("{} s", ms / 1000),
        _ => format!("{}m {:02}s", ms / 60_000, ms % 60_000 / 1000),
    }
}

/// A count in at most five characters: `999`, `12.3k`, `4.5M`, `1.2G`.
pub fn count(value: u64) -> String {
    // Whole numbers are exact in f64 far beyond any count shown here.
    #[allow(clippy::cast_precision_loss)]
    let scaled = |unit: u64| value as f64 / unit as f64;
    match value {
        0..1000 => value.to_string(),
        1000..999_950 => format!("{:.1}k", scaled(1000)),
        999_950..999_950_000 => format!("{:.1}M", scaled(1_000_000)),
        _ => format!("{:.1}G", scaled(1_000_000_000)),
    }
}

/// A number in full with thousands separated, for where the exact figure matters: `12,340`.
pub fn grouped(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A size in binary units, as `qraft limit set` takes them: `512 B`, `12.3 MiB`, `1.0 GiB`.
pub fn bytes(value: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if value < 1024 {
        return format!("{value} B");
    }
    // One decimal is all that is shown, far coarser than f64 loses.
    #[allow(clippy::cast_precision_loss)]
    let mut scaled = value as f64 / 1024.0;
    for unit in &UNITS[..UNITS.len() - 1] {
        // Below what would round up to 1024.0, so `1024.0 KiB` reads `1.0 MiB`.
        if scaled < 1023.95 {
            return format!("{scaled:.1} {unit}");
        }
        scaled /= 1024.0;
    }
    format!("{scaled:.1} EiB")
}

/// A per-second rate: `0/s`, `0.4/s`, `12/s`, `1.2k/s`.
pub fn rate(per_s: f64) -> String {
    if !per_s.is_finite() || per_s <= 0.0 {
        "0/s".into()
    } else if per_s < 10.0 {
        format!("{per_s:.1}/s")
    } else if per_s < 1000.0 {
        format!("{per_s:.0}/s")
    } else {
        // Rates are far below 2^53; the cast only drops the fraction.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let whole = per_s as u64;
        format!("{}/s", count(whole))
    }
}

/// A rate limit as `qraft limit set` takes it: `100/s`, `10/m`, `1000/h`, `3/10s`, `5/250ms`.
pub fn window_rate(count: u32, per_ms: u64) -> String {
    let per = match per_ms {
        1_000 => "s".to_owned(),
        60_000 => "m".to_owned(),
        3_600_000 => "h".to_owned(),
        ms if ms % 1_000 == 0 => format!("{}s", ms / 1_000),
        ms => format!("{ms}ms"),
    };
    format!("{count}/{per}")
}

/// When a schedule fires: `every 30s`, or the cron expression and its zone (UTC when unset).
pub fn trigger(trigger: &Trigger) -> String {
    match trigger {
        Trigger::Every(ms) => {
            let every = std::time::Duration::from_millis(*ms);
            format!("every {}", humantime::format_duration(every))
        }
        Trigger::Cron { expr, zone } if zone.is_empty() => format!("{expr} UTC"),
        Trigger::Cron { expr, zone } => format!("{expr} {zone}"),
    }
}

/// A `width`-cell bar of `done` of `total` and the count: `███░░ 3/5`. Rounds down, so a bar
/// is full only when everything is done.
pub fn progress(done: u64, total: u64, width: usize) -> String {
    let width_u64 = u64::try_from(width).unwrap_or(u64::MAX);
    // done <= total in any sane answer; min() keeps a bad one from overflowing the bar, and
    // nothing of nothing is an empty bar.
    let cells = done
        .min(total)
        .saturating_mul(width_u64)
        .checked_div(total)
        .unwrap_or(0);
    let filled = usize::try_from(cells).unwrap_or(width).min(width);
    format!(
        "{}{} {done}/{total}",
        "█".repeat(filled),
        "░".repeat(width - filled)
    )
}

/// The root cause at the end of an error chain, for a table cell: "Unavailable: tcp connect
/// error: Connection refused (os error 111)" becomes "Connection refused".
pub fn short_error(error: &str) -> &str {
    let root = error.rsplit(": ").next().unwrap_or(error);
    match root.rfind(" (os error ") {
        Some(at) if root.ends_with(')') => &root[..at],
        _ => root,
    }
}

/// `text` with its first letter in upper case, for a sentence made from a description.
pub fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// At most `max` characters of `text`, ending in `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A one-line preview of an opaque payload: the text when it is UTF-8 (control characters
/// escaped so a newline cannot break the layout), else hex; at most `max` characters.
pub fn preview(bytes: &[u8], max: usize) -> String {
    if bytes.is_empty() {
        return "-".into();
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text
            .chars()
            .flat_map(|c| {
                let escaped: Vec<char> = if c.is_control() {
                    c.escape_default().collect()
                } else {
                    vec![c]
                };
                escaped
            })
            .collect(),
        Err(_) => {
            // Hex takes two characters a byte: format only what can be shown.
            let shown = bytes.iter().take(max / 2 + 1);
            let hex: String = shown.map(|byte| format!("{byte:02x}")).collect();
            format!("0x{hex} ({} bytes)", bytes.len())
        }
    };
    truncate(&text, max)
}

/// `HH:MM:SS` of a cluster time, in UTC (the cluster's clock has no zone).
pub fn clock(at_ms: u64) -> String {
    let secs = at_ms / 1000 % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Unicode block sparkline of the last `width` samples, scaled to their maximum.
pub fn sparkline(samples: &[u64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let shown = &samples[samples.len().saturating_sub(width)..];
    let max = shown.iter().copied().max().unwrap_or(0);
    shown
        .iter()
        .map(|&value| {
            if max == 0 || value == 0 {
                ' '
            } else {
                // value <= max, so the index is at most 7.
                let index = usize::try_from(value.saturating_mul(7) / max).unwrap_or(7);
                BARS[index.min(7)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(short_age(0), "0s");
        assert_eq!(short_age(59_999), "59s");
        assert_eq!(short_age(120_000), "2m");
        assert_eq!(short_age(3_600_000), "1h");
        assert_eq!(short_age(2 * 86_400_000), "2d");
        assert_eq!(ago(10_000, 7_000), "3s ago");
        assert_eq!(ago(10_000, 9_500), "now");
        assert_eq!(ago(10_000, 12_000), "now", "a clock behind ours is not negative");
        assert_eq!(ago(10_000, 0), "-");
        assert_eq!(relative(10_000, 22_000), "in 12s");
        assert_eq!(relative(10_000, 0), "-");
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ms(0), "0 ms");
        assert_eq!(duration_ms(412), "412 ms");
        assert_eq!(duration_ms(1_234), "1.2 s");
        assert_eq!(duration_ms(42_000), "42 s");
        assert_eq!(duration_ms(185_000), "3m 05s");
    }

    #[test]
    fn counts_and_rates() {
        assert_eq!(count(999), "999");
        assert_eq!(count(12_345), "12.3k");
        assert_eq!(count(999_999), "1.0M");
        assert_eq!(count(4_500_000), "4.5M");
        assert_eq!(count(1_200_000_000), "1.2G");
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(12_340), "12,340");
        assert_eq!(grouped(123_456), "123,456");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(rate(0.0), "0/s");
        assert_eq!(rate(f64::NAN), "0/s");
        assert_eq!(rate(0.44), "0.4/s");
        assert_eq!(rate(12.4), "12/s");
        assert_eq!(rate(1_234.0), "1.2k/s");
    }

    #[test]
    fn byte_sizes_in_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.0 KiB");
        assert_eq!(bytes(12_897_485), "12.3 MiB");
        assert_eq!(bytes((1 << 20) - 1), "1.0 MiB", "never 1024.0 KiB");
        assert_eq!(bytes(1 << 30), "1.0 GiB");
        assert_eq!(bytes(5 << 40), "5.0 TiB");
        assert_eq!(bytes(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn previews() {
        assert_eq!(preview(b"", 10), "-");
        assert_eq!(preview(br#"{"to":"a"}"#, 20), r#"{"to":"a"}"#);
        assert_eq!(preview(b"line\nnext", 20), "line\\nnext");
        assert_eq!(preview(b"abcdefghijkl", 6), "abcde…");
        assert_eq!(preview(&[0xff, 0x00, 0x10], 40), "0xff0010 (3 bytes)");
        assert_eq!(preview(&[0xff; 100], 12).chars().count(), 12);
        assert_eq!(truncate("héllo", 3), "hé…");
        assert_eq!(truncate("x", 0), "…");
    }

    #[test]
    fn window_rates_read_as_the_cli_takes_them() {
        assert_eq!(window_rate(100, 1_000), "100/s");
        assert_eq!(window_rate(10, 60_000), "10/m");
        assert_eq!(window_rate(1000, 3_600_000), "1000/h");
        assert_eq!(window_rate(3, 10_000), "3/10s");
        assert_eq!(window_rate(5, 250), "5/250ms");
    }

    #[test]
    fn triggers() {
        assert_eq!(trigger(&Trigger::Every(30_000)), "every 30s");
        assert_eq!(trigger(&Trigger::Every(5_400_000)), "every 1h 30m");
        let cron = |zone: &str| Trigger::Cron {
            expr: "0 30 9 * * Mon-Fri".into(),
            zone: zone.into(),
        };
        assert_eq!(trigger(&cron("")), "0 30 9 * * Mon-Fri UTC");
        assert_eq!(trigger(&cron("Europe/Paris")), "0 30 9 * * Mon-Fri Europe/Paris");
    }

    #[test]
    fn progress_bars_round_down_and_survive_bad_counts() {
        assert_eq!(progress(0, 5, 5), "░░░░░ 0/5");
        assert_eq!(progress(3, 5, 10), "██████░░░░ 3/5");
        assert_eq!(progress(4, 5, 4), "███░ 4/5", "full only when done");
        assert_eq!(progress(5, 5, 4), "████ 5/5");
        assert_eq!(progress(0, 0, 3), "░░░ 0/0");
        assert_eq!(progress(9, 5, 3), "███ 9/5");
    }

    #[test]
    fn short_errors_keep_the_root_cause() {
        assert_eq!(
            short_error("Unavailable: tcp connect error: Connection refused (os error 111)"),
            "Connection refused"
        );
        assert_eq!(
            short_error("DeadlineExceeded: no answer within 800 ms"),
            "no answer within 800 ms"
        );
        assert_eq!(short_error("boom"), "boom");
        assert_eq!(short_error(""), "");
    }

    #[test]
    fn clock_is_utc_time_of_day() {
        assert_eq!(clock(0), "00:00:00");
        assert_eq!(clock(86_400_000 + 12 * 3_600_000 + 67_000), "12:01:07");
    }

    #[test]
    fn sparkline_scales_to_the_maximum_and_keeps_the_newest() {
        assert_eq!(sparkline(&[], 5), "");
        assert_eq!(sparkline(&[0, 0], 5), "  ");
        assert_eq!(sparkline(&[0, 1, 2, 4, 8], 5), " ▁▂▄█");
        assert_eq!(sparkline(&[8, 8, 8, 1], 2), "█▁");
    }
}
