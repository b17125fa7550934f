//! The unsynced bytes of one inode.

use std::collections::BTreeMap;

/// Bytes written to one inode and not yet fsynced, as runs keyed by their start offset.
///
/// Runs never overlap and never touch: a write that overlaps or adjoins existing runs is merged
/// with them into one run. That keeps a log-style writer (appends, the WAL case) at a single run
/// that grows in place, so a write costs a copy of its own bytes and nothing more.
#[derive(Debug, Default)]
pub(super) struct Extents {
    runs: BTreeMap<u64, Vec<u8>>,
    bytes: u64,
}

impl Extents {
    /// Total bytes held (what a power cut would lose).
    pub(super) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Offset just past the last unsynced byte (0 when there is none).
    pub(super) fn end(&self) -> u64 {
        self.runs
            .last_key_value()
            .map_or(0, |(start, run)| start + len64(run))
    }

    /// The runs in offset order, for writing them to the backing file.
    pub(super) fn runs(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.runs.iter().map(|(start, run)| (*start, run.as_slice()))
    }

    /// Records `data` at `offset`; it wins over what is already held there.
    /// The caller guarantees `offset + data.len()` does not overflow.
    pub(super) fn insert(&mut self, offset: u64, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let end = offset + len64(data);
        // Runs that overlap or touch [offset, end). Their ends fall as their starts do (runs are
        // disjoint), so the scan from the right may stop at the first run ending before `offset`.
        let touched: Vec<u64> = self
            .runs
            .range(..=end)
            .rev()
            .take_while(|(start, run)| *start + len64(run) >= offset)
            .map(|(start, _)| *start)
            .collect();

        let mut merged_start = offset;
        let mut merged = Vec::new();
        for (i, start) in touched.into_iter().rev().enumerate() {
            let Some(run) = self.runs.remove(&start) else {
                continue;
            };
            self.bytes -= len64(&run);
            if i == 0 && start <= offset {
                // Reuse the leftmost run's buffer: an append then only extends it.
                merged_start = start;
                merged = run;
            } else {
                place(&mut merged, merged_start, start, &run);
            }
        }
        // Last, so the new bytes overwrite the old ones they overlap.
        place(&mut merged, merged_start, offset, data);
        self.bytes += len64(&merged);
        self.runs.insert(merged_start, merged);
    }

    /// Copies the held bytes that fall inside `[offset, offset + buf.len())` over `buf`.
    pub(super) fn overlay(&self, offset: u64, buf: &mut [u8]) {
        let end = offset.saturating_add(len64(buf));
        let overlapping = self
            .runs
            .range(..end)
            .rev()
            .take_while(|(start, run)| *start + len64(run) > offset);
        for (start, run) in overlapping {
            let from = offset.max(*start);
            let to = end.min(start + len64(run));
            // Both differences are below buf.len() / run.len(), which are usizes.
            let (dst, src) = ((from - offset) as usize, (from - start) as usize);
            let n = (to - from) as usize;
            buf[dst..dst + n].copy_from_slice(&run[src..src + n]);
        }
    }
}

/// Writes `bytes` into `buf` (which starts at file offset `buf_start`) at file offset `at`,
/// growing `buf` with zeros as needed. Callers only place runs that keep the union contiguous,
/// so the zeros are always overwritten before the merge is stored.
fn place(buf: &mut Vec<u8>, buf_start: u64, at: u64, bytes: &[u8]) {
    let from = (at - buf_start) as usize;
    let to = from + bytes.len();
    if buf.len() < to {
        buf.resize(to, 0);
    }
    buf[from..to].copy_from_slice(bytes);
}

fn len64(bytes: &[u8]) -> u64 {
    bytes.len() as u64
}

#[cfg(test)]
mod tests {
    use super::Extents;

    /// Reads `len` bytes at `offset` from a zero-filled file overlaid with `extents`.
    fn view(extents: &Extents, offset: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![b'.'; len];
        extents.overlay(offset, &mut buf);
        buf
    }

    #[test]
    fn appends_merge_into_one_run() {
        let mut e = Extents::default();
        e.insert(0, b"ab");
        e.insert(2, b"cd");
        e.insert(4, b"e");
        assert_eq!(e.runs().count(), 1);
        assert_eq!((e.bytes(), e.end()), (5, 5));
        assert_eq!(view(&e, 0, 6), b"abcde.");
    }

    #[test]
    fn later_writes_win_and_bridge_gaps() {
        let mut e = Extents::default();
        e.insert(0, b"aaaa");
        e.insert(8, b"bbbb");
        assert_eq!(view(&e, 0, 12), b"aaaa....bbbb");
        e.insert(2, b"XXXXXXX");
        assert_eq!(e.runs().count(), 1);
        assert_eq!(view(&e, 0, 13), b"aaXXXXXXXbbb.");
        assert_eq!(e.bytes(), 12);
    }

    #[test]
    fn write_before_the_first_run_merges() {
        let mut e = Extents::default();
        e.insert(3, b"Cd");
        e.insert(10, b"zz");
        e.insert(1, b"abc");
        assert_eq!(view(&e, 0, 12), b".abcd.....zz");
        assert_eq!((e.runs().count(), e.bytes()), (2, 6));
    }

    #[test]
    fn overlay_clips_to_the_window() {
        let mut e = Extents::default();
        e.insert(3, b"0123456789");
        assert_eq!(view(&e, 5, 4), b"2345");
        assert_eq!(view(&e, 0, 4), b"...0");
        assert_eq!(view(&e, 12, 3), b"9..");
        assert_eq!(view(&e, 20, 3), b"...");
    }
}
