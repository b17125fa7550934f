//! A sorted map for the indexes that hold an entry per task. Their keys mostly arrive in order
//! (task ids are ULIDs, ready keys grow with the submit sequence), and the standard B-tree splits
//! a full node in two, so appending leaves every node a little over half full: 76 bytes for each
//! 40-byte task entry. This map keeps entries in sorted leaves of up to [`LEAF`], fills the last
//! leaf before it starts the next, and moves an entry to a neighbour with room before it splits
//! one, so leaves stay nearly full.

use std::collections::BTreeMap;

/// Most entries in a leaf: big enough that the map of leaves is small, small enough that moving
/// the entries of one leaf is a short copy. A leaf holds one more while an insert settles, so
/// its vectors are sized for 256: 4 KiB of task ids, sizes an allocator serves without rounding
/// up (mimalloc rounded 257 ids up by a quarter, 14 bytes per queued task).
const LEAF: usize = 255;

/// A leaf with fewer entries than this is merged with a neighbour when the two fit in one.
const SPARSE: usize = LEAF / 4;

#[derive(Clone, Debug)]
pub(super) struct PackedMap<K, V> {
    /// Leaves by a lower bound of their keys: every key of a leaf is at least its bound and below
    /// the next leaf's bound. No leaf is empty or holds more than [`LEAF`] between calls.
    leaves: BTreeMap<K, Leaf<K, V>>,
    len: usize,
}

/// Keys and values apart, so that a key aligned wider than its value (a task id) pads nothing.
#[derive(Clone, Debug)]
struct Leaf<K, V> {
    keys: Vec<K>,
    values: Vec<V>,
}

impl<K, V> Default for PackedMap<K, V> {
    fn default() -> Self {
        PackedMap {
            leaves: BTreeMap::new(),
            len: 0,
        }
    }
}

impl<K: Ord + Copy, V> PackedMap<K, V> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        let (_, leaf) = self.leaves.range(..=*key).next_back()?;
        let at = leaf.keys.binary_search(key).ok()?;
        leaf.values.get(at)
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`, returning the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let bound = match self.leaves.range_mut(..=key).next_back() {
            Some((&bound, leaf)) => match leaf.keys.binary_search(&key) {
                Ok(at) => return leaf.values.get_mut(at).map(|old| std::mem::replace(old, value)),
                Err(at) => {
                    leaf.insert(at, key, value);
                    bound
                }
            },
            // Below every bound: the first leaf takes it, under it as its new bound.
            None => {
                let mut leaf = match self.leaves.pop_first() {
                    Some((_, leaf)) => leaf,
                    None => Leaf::default(),
                };
                leaf.insert(0, key, value);
                self.leaves.insert(key, leaf);
                key
            }
        };
        self.len += 1;
        self.settle_overflow(bound);
        None
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let (&bound, leaf) = self.leaves.range_mut(..=*key).next_back()?;
        let at = leaf.keys.binary_search(key).ok()?;
        leaf.keys.remove(at);
        let value = leaf.values.remove(at);
        let left = leaf.keys.len();
        self.len -= 1;
        if left == 0 {
            self.leaves.remove(&bound);
        } else if left < SPARSE {
            self.merge(bound, left);
        }
        Some(value)
    }

    /// Entries in key order (reversible, for newest first).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        self.leaves
            .values()
            .flat_map(|leaf| leaf.keys.iter().zip(&leaf.values))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> {
        self.leaves.values().flat_map(|leaf| leaf.keys.iter())
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> {
        self.leaves.values().flat_map(|leaf| leaf.values.iter())
    }

    /// Brings the leaf under `bound` back to [`LEAF`] entries if an insert took it past: its
    /// last entry moves to the next leaf if that has room, else its first to the previous one,
    /// else it splits. The last leaf splits off only its last entry, because appends go there;
    /// any other splits in half.
    fn settle_overflow(&mut self, bound: K) {
        let mut leaves = self.leaves.range_mut(bound..);
        let Some((_, leaf)) = leaves.next().filter(|(_, leaf)| leaf.keys.len() > LEAF) else {
            return;
        };
        match leaves.next() {
            Some((&next_bound, next)) if next.keys.len() < LEAF => {
                if let (Some(key), Some(value)) = (leaf.keys.pop(), leaf.values.pop()) {
                    next.insert(0, key, value);
                    self.rebound(next_bound, key);
                }
                return;
            }
            Some(_) => {}
            None => {
                let last = leaf.split_off(LEAF);
                self.add(last);
                return;
            }
        }
        let mut leaves = self.leaves.range_mut(..=bound);
        if let (Some((_, leaf)), Some((_, previous))) = (leaves.next_back(), leaves.next_back())
            && previous.keys.len() < LEAF
        {
            if !leaf.keys.is_empty() {
                let (key, value) = (leaf.keys.remove(0), leaf.values.remove(0));
                previous.push(key, value);
            }
            if let Some(&first) = leaf.keys.first() {
                self.rebound(bound, first);
            }
            return;
        }
        if let Some(leaf) = self.leaves.get_mut(&bound) {
            let half = leaf.split_off(leaf.keys.len() / 2);
            self.add(half);
        }
    }

    /// Merges the sparse leaf under `bound`, holding `len` entries, with a neighbour if the two
    /// fit in one leaf.
    fn merge(&mut self, bound: K, len: usize) {
        let mut leaves = self.leaves.range_mut(bound..);
        if let (Some((_, leaf)), Some((&next_bound, next))) = (leaves.next(), leaves.next())
            && len + next.keys.len() <= LEAF
        {
            leaf.append(next);
            self.leaves.remove(&next_bound);
            return;
        }
        let mut leaves = self.leaves.range_mut(..=bound);
        if let (Some((_, leaf)), Some((_, previous))) = (leaves.next_back(), leaves.next_back())
            && previous.keys.len() + len <= LEAF
        {
            previous.append(leaf);
            self.leaves.remove(&bound);
        }
    }

    /// Files `leaf` under its first key.
    fn add(&mut self, leaf: Leaf<K, V>) {
        if let Some(&first) = leaf.keys.first() {
            self.leaves.insert(first, leaf);
        }
    }

    /// Files the leaf under `bound` under `new` instead.
    fn rebound(&mut self, bound: K, new: K) {
        if let Some(leaf) = self.leaves.remove(&bound) {
            self.leaves.insert(new, leaf);
        }
    }

    #[cfg(test)]
    fn check(&self) {
        let mut last: Option<K> = None;
        let mut counted = 0;
        let bounds: Vec<K> = self.leaves.keys().copied().collect();
        for (i, leaf) in self.leaves.values().enumerate() {
            assert!(!leaf.keys.is_empty() && leaf.keys.len() <= LEAF);
            assert_eq!(leaf.keys.len(), leaf.values.len());
            assert!(leaf.keys.capacity() <= LEAF + 1);
            assert!(leaf.keys[0] >= bounds[i]);
            if let Some(&next) = bounds.get(i + 1) {
                assert!(leaf.keys[leaf.keys.len() - 1] < next);
            }
            for key in &leaf.keys {
                assert!(last.is_none_or(|last| last < *key));
                last = Some(*key);
            }
            counted += leaf.keys.len();
        }
        assert_eq!(counted, self.len);
    }
}

impl<K: Ord + Copy, V: PartialEq> PartialEq for PackedMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<K, V> Default for Leaf<K, V> {
    fn default() -> Self {
        Leaf {
            keys: Vec::new(),
            values: Vec::new(),
        }
    }
}

impl<K, V> Leaf<K, V> {
    fn insert(&mut self, at: usize, key: K, value: V) {
        self.room_for_one();
        self.keys.insert(at, key);
        self.values.insert(at, value);
    }

    fn push(&mut self, key: K, value: V) {
        self.room_for_one();
        self.keys.push(key);
        self.values.push(value);
    }

    /// Grows to the next power of two, but never past one entry over [`LEAF`], the most a leaf
    /// holds before it is settled: a vector's own doubling would leave a full leaf half empty.
    fn room_for_one(&mut self) {
        let len = self.keys.len();
        if len == self.keys.capacity() {
            let wanted = (len + 1).next_power_of_two().clamp(4, LEAF + 1).max(len + 1);
            self.keys.reserve_exact(wanted - len);
            self.values.reserve_exact(wanted - len);
        }
    }

    fn split_off(&mut self, at: usize) -> Leaf<K, V> {
        Leaf {
            keys: self.keys.split_off(at),
            values: self.values.split_off(at),
        }
    }

    /// Moves every entry of `other`, all above this leaf's, to its end.
    fn append(&mut self, other: &mut Leaf<K, V>) {
        self.keys.reserve_exact(other.keys.len());
        self.values.reserve_exact(other.values.len());
        self.keys.append(&mut other.keys);
        self.values.append(&mut other.values);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u32),
        Remove(u32),
        RemoveFirst,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u32..5_000).prop_map(Op::Insert),
            2 => (0u32..5_000).prop_map(Op::Remove),
            1 => Just(Op::RemoveFirst),
        ]
    }

    fn same(packed: &PackedMap<u32, u64>, model: &BTreeMap<u32, u64>) {
        packed.check();
        assert_eq!(packed.len(), model.len());
        assert!(
            packed
                .iter()
                .map(|(k, v)| (*k, *v))
                .eq(model.iter().map(|(k, v)| (*k, *v)))
        );
        assert!(packed.keys().rev().eq(model.keys().rev()));
    }

    proptest! {
        #[test]
        fn it_answers_like_a_btree_map(
            start in proptest::collection::vec(0u32..5_000, 0..2_000),
            ops in proptest::collection::vec(op(), 0..3_000),
        ) {
            let mut packed = PackedMap::default();
            let mut model = BTreeMap::new();
            for (i, key) in start.into_iter().enumerate() {
                prop_assert_eq!(packed.insert(key, i as u64), model.insert(key, i as u64));
            }
            same(&packed, &model);
            for (i, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Insert(key) => {
                        prop_assert_eq!(packed.insert(key, i as u64), model.insert(key, i as u64));
                    }
                    Op::Remove(key) => prop_assert_eq!(packed.remove(&key), model.remove(&key)),
                    Op::RemoveFirst => {
                        let first = model.keys().next().copied();
                        if let Some(first) = first {
                            prop_assert_eq!(packed.remove(&first), model.remove(&first));
                        }
                    }
                }
                prop_assert_eq!(packed.get(&(i as u32)), model.get(&(i as u32)));
            }
            same(&packed, &model);
        }
    }

    /// Leaves the map uses for `len` entries, against the fewest that could hold them.
    fn leaves_over_fewest<V>(map: &PackedMap<u32, V>) -> f64 {
        map.leaves.len() as f64 / map.len().div_ceil(LEAF) as f64
    }

    #[test]
    fn appended_keys_fill_their_leaves() {
        let mut map = PackedMap::default();
        for key in 0..100_000u32 {
            map.insert(key, ());
        }
        map.check();
        assert_eq!(map.leaves.len(), 100_000usize.div_ceil(LEAF));
    }

    #[test]
    fn keys_arriving_a_little_out_of_order_still_fill_their_leaves() {
        // Ids made on several nodes within the same milliseconds arrive shuffled by a few
        // places: each block of 8 comes in reverse.
        let mut map = PackedMap::default();
        for block in 0..20_000u32 {
            for key in (block * 8..block * 8 + 8).rev() {
                map.insert(key, ());
            }
        }
        map.check();
        assert!(leaves_over_fewest(&map) < 1.05, "{}", leaves_over_fewest(&map));
    }

    #[test]
    fn taking_from_the_front_while_appending_keeps_leaves_full() {
        // A queue's ready index: workers take the oldest while producers add the newest.
        let mut map = PackedMap::default();
        for key in 0..200_000u32 {
            map.insert(key, ());
            if key % 2 == 0 {
                let first = map.keys().next().copied();
                if let Some(first) = first {
                    map.remove(&first);
                }
            }
        }
        map.check();
        assert!(leaves_over_fewest(&map) < 1.05, "{}", leaves_over_fewest(&map));
        loop {
            let first = map.keys().next().copied();
            let Some(first) = first else { break };
            map.remove(&first);
        }
        map.check();
        assert!(map.is_empty() && map.leaves.is_empty());
    }

    #[test]
    fn inserts_in_the_middle_keep_leaves_mostly_full() {
        // A ready index of two priorities: the higher one's tasks go in before every lower one.
        let mut map = PackedMap::default();
        for seq in 0..50_000u32 {
            map.insert(1 << 31 | seq, ());
            map.insert(seq, ());
        }
        map.check();
        assert!(leaves_over_fewest(&map) < 1.6, "{}", leaves_over_fewest(&map));
    }
}
