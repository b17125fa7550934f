//! Each node's wall clock behind libfaketime (Debian's `faketime`, installed by
//! scripts/setup.sh), shifted by what a file of its own says, as an NTP step or a resumed VM
//! would move it; monotonic time stays real.

use std::path::{Path, PathBuf};

use anyhow::Context;

const LIBRARIES: [&str; 3] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/faketime/libfaketimeMT.so.1",
];

/// The nodes' clocks, by slot.
#[derive(Debug)]
pub struct Clocks {
    library: PathBuf,
    files: Vec<PathBuf>,
}

impl Clocks {
    /// A clock file per slot in `dir`, every clock on time.
    pub fn new(dir: &Path, n: usize) -> anyhow::Result<Clocks> {
        let library = LIBRARIES
            .iter()
            .map(PathBuf::from)
            .find(|path| path.exists())
            .context("libfaketime is missing: run scripts/setup.sh (it installs Debian's faketime)")?;
        let clocks = Clocks {
            library,
            files: (1..=n).map(|id| dir.join(format!("n{id}.clock"))).collect(),
        };
        for id in 1..=n {
            clocks.shift(id, 0)?;
        }
        Ok(clocks)
    }

    /// The environment that puts slot `id`'s process behind its clock.
    pub fn env(&self, id: usize) -> Vec<(&'static str, String)> {
        vec![
            ("LD_PRELOAD", self.library.display().to_string()),
            (
                "FAKETIME_TIMESTAMP_FILE",
                self.files[id - 1].display().to_string(),
            ),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_owned()),
            ("FAKETIME_NO_CACHE", "1".to_owned()),
        ]
    }

    /// Slot `id`'s wall clock reads `seconds` off real time from now on (it reads the file at
    /// every call).
    pub fn shift(&self, id: usize, seconds: i64) -> anyhow::Result<()> {
        let file = &self.files[id - 1];
        // Written whole and renamed: the node never reads half a file.
        let partial = file.with_extension("clock.new");
        std::fs::write(&partial, format!("{seconds:+}"))?;
        std::fs::rename(&partial, file).with_context(|| format!("cannot write {}", file.display()))?;
        Ok(())
    }

    /// Every clock on time again.
    pub fn reset(&self) -> anyhow::Result<()> {
        (1..=self.files.len()).try_for_each(|id| self.shift(id, 0))
    }
}
