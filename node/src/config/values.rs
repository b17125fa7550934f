//! The shapes a setting's value takes, each written the same way as a flag, in an environment
//! variable and in the config file, so one field can serve all three layers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration: `30s`, `5m`, `24h`, `1h 30m`, `500ms`; held in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Millis(pub u64);

/// Parses `30s`, `5m`, `24h`, `1h 30m`, ... into milliseconds.
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("{text:?} is not a duration like 30s, 5m or 24h: {e}"))?;
    u64::try_from(duration.as_millis()).map_err(|_| format!("{text:?} is too long"))
}

impl FromStr for Millis {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        parse_duration_ms(text).map(Millis)
    }
}

impl fmt::Display for Millis {
    /// The largest whole unit: `24h`, `10s`, `500ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ms if ms != 0 && ms % 3_600_000 == 0 => write!(f, "{}h", ms / 3_600_000),
            ms if ms != 0 && ms % 60_000 == 0 => write!(f, "{}m", ms / 60_000),
            ms if ms != 0 && ms % 1_000 == 0 => write!(f, "{}s", ms / 1_000),
            ms => write!(f, "{ms}ms"),
        }
    }
}

/// An inclusive range of whole numbers, `MIN,MAX`: `300,600`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinMax(pub u64, pub u64);

impl FromStr for MinMax {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        text.split_once(',')
            .and_then(|(min, max)| Some(MinMax(min.trim().parse().ok()?, max.trim().parse().ok()?)))
            .ok_or_else(|| format!("{text:?} is not MIN,MAX in whole numbers, e.g. 300,600"))
    }
}

impl fmt::Display for MinMax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.0, self.1)
    }
}

/// A list of items: `a,b` as a flag or variable, `["a", "b"]` in the file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct List(pub Vec<String>);

impl FromStr for List {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Ok(List(
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect(),
        ))
    }
}

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

/// Serde through the text form, for the values written as a string in the file.
macro_rules! as_text_in_files {
    ($($value:ty),*) => {$(
        impl Serialize for $value {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $value {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

as_text_in_files!(Millis, MinMax);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_reads_back_what_it_writes() {
        for ms in [0, 1, 500, 1_000, 90_000, 3_600_000, 86_400_000, 1_500] {
            assert_eq!(Millis(ms).to_string().parse(), Ok(Millis(ms)));
        }
        assert_eq!("1h 30m".parse(), Ok(Millis(5_400_000)));
        assert_eq!(" 300 , 600 ".parse(), Ok(MinMax(300, 600)));
        assert!("300".parse::<MinMax>().is_err());
        assert_eq!(
            "a, b,,c".parse(),
            Ok(List(vec!["a".into(), "b".into(), "c".into()]))
        );
    }
}
