//! [`SharedLog`]: a replica's log as a persistent vector, so that rewind checkpoints share the
//! records they have in common instead of each holding a copy.
//!
//! A replica's log only grows at its end or is truncated (Kafka's logs are append-only; a
//! follower truncates to a diverging point). Stored as a tree of immutable, reference-counted
//! nodes of [`WIDTH`] entries (a radix-balanced trie, as in Clojure's vectors), a copy is one
//! reference count, and changing a copy copies only the path to the changed end: a checkpoint
//! taken a few thousand entries after the previous one holds the new records and a handful of
//! small nodes, and shares everything before them. Memory then grows with the records the
//! trace appended, not with the number of checkpoints times the log's length.

use std::collections::BTreeSet;
use std::sync::Arc;

/// Entries per node: a leaf holds this many records, a branch this many children.
pub const WIDTH: usize = 16;

type Record = Arc<str>;

#[derive(Clone, Debug)]
enum Node {
    Leaf(Vec<Record>),
    Branch(Vec<Arc<Node>>),
}

/// An append-and-truncate vector of records whose clones share their nodes.
#[derive(Clone, Debug, Default)]
pub struct SharedLog {
    root: Option<Arc<Node>>,
    /// Height of the root: 0 for a leaf. The tree holds up to `WIDTH^(height + 1)` records.
    height: u32,
    len: usize,
}

/// Records under one node at `height`.
fn span(height: u32) -> usize {
    WIDTH.pow(height + 1)
}

/// A new chain of nodes from `height` down to a leaf holding `r`.
fn path(height: u32, r: Record) -> Arc<Node> {
    let mut node = Arc::new(Node::Leaf(vec![r]));
    for _ in 0..height {
        node = Arc::new(Node::Branch(vec![node]));
    }
    node
}

impl SharedLog {
    pub fn from_slice(records: &[Record]) -> Self {
        let mut log = SharedLog::default();
        log.extend_from_slice(records);
        log
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, r: Record) {
        match &mut self.root {
            None => {
                self.root = Some(path(0, r));
                self.height = 0;
            }
            Some(root) if self.len == span(self.height) => {
                // Full: a new root above the old one.
                let old = root.clone();
                *root = Arc::new(Node::Branch(vec![old, path(self.height, r)]));
                self.height += 1;
            }
            Some(root) => push_into(root, self.height, self.len, r),
        }
        self.len += 1;
    }

    pub fn extend_from_slice(&mut self, records: &[Record]) {
        for r in records {
            self.push(r.clone());
        }
    }

    /// Keeps the first `n` records.
    pub fn truncate(&mut self, n: usize) {
        if n >= self.len {
            return;
        }
        if n == 0 {
            *self = SharedLog::default();
            return;
        }
        if let Some(root) = &mut self.root {
            truncate_node(root, self.height, self.len, n);
        }
        self.len = n;
        // A root with a single child is one level too tall.
        while self.height > 0 && self.len <= span(self.height - 1) {
            let Some(Node::Branch(children)) = self.root.as_deref() else {
                break;
            };
            self.root = children.first().cloned();
            self.height -= 1;
        }
    }

    /// Makes this log equal to `live`, knowing that its first `unchanged` records already are:
    /// truncates to there and appends the rest. Copies only the nodes on the changed path.
    pub fn sync(&mut self, live: &[Record], unchanged: usize) {
        let keep = unchanged.min(live.len()).min(self.len);
        self.truncate(keep);
        self.extend_from_slice(&live[keep..]);
    }

    /// The records in order, as a plain vector (what `Replay` holds).
    pub fn to_vec(&self) -> Vec<Record> {
        let mut out = Vec::with_capacity(self.len);
        if let Some(root) = &self.root {
            collect(root, &mut out);
        }
        out
    }

    /// Makes `live` hold this log's records, keeping its longest prefix that already holds the
    /// same ones (compared by reference, without touching the records); returns the records
    /// it no longer holds.
    pub fn restore_into(&self, live: &mut Vec<Record>) -> Vec<Record> {
        let mut leaves = Vec::new();
        if let Some(root) = &self.root {
            collect_leaves(root, &mut leaves);
        }
        let mut same = 0;
        'compare: for leaf in &leaves {
            for r in leaf.iter() {
                if live.get(same).is_none_or(|l| !Arc::ptr_eq(l, r)) {
                    break 'compare;
                }
                same += 1;
            }
        }
        let removed = live.split_off(same);
        live.reserve(self.len - same);
        let mut at = 0;
        for leaf in &leaves {
            if at + leaf.len() > same {
                let skip = same.saturating_sub(at);
                live.extend(leaf[skip..].iter().cloned());
            }
            at += leaf.len();
        }
        removed
    }

    /// Heap bytes of the nodes not already in `seen` (node addresses), which it then records:
    /// summed over many logs, each shared node counts once.
    pub fn heap_bytes(&self, seen: &mut BTreeSet<usize>) -> usize {
        self.root.as_ref().map_or(0, |r| node_bytes(r, seen))
    }

    /// Whether this log and `other` hold the same node at the start (they share their first
    /// [`WIDTH`] records rather than each holding a copy).
    pub fn shares_first_leaf_with(&self, other: &SharedLog) -> bool {
        match (self.first_leaf(), other.first_leaf()) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    fn first_leaf(&self) -> Option<&Arc<Node>> {
        let mut node = self.root.as_ref()?;
        while let Node::Branch(children) = node.as_ref() {
            node = children.first()?;
        }
        Some(node)
    }
}

/// Appends `r` under `node` (at `height`, holding `len` records, not full).
fn push_into(node: &mut Arc<Node>, height: u32, len: usize, r: Record) {
    match Arc::make_mut(node) {
        Node::Leaf(records) => {
            grow(records);
            records.push(r)
        }
        Node::Branch(children) => {
            let per = span(height - 1);
            if len.is_multiple_of(per) {
                grow(children);
                children.push(path(height - 1, r));
            } else if let Some(last) = children.last_mut() {
                push_into(last, height - 1, len % per, r);
            }
        }
    }
}

/// Makes room for one more entry in a node: doubling, but never past [`WIDTH`] (a node copied
/// from a checkpoint has no spare room, and doubling it would overshoot).
fn grow<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        let want = (2 * v.len()).clamp(2, WIDTH);
        v.reserve_exact(want.saturating_sub(v.len()).max(1));
    }
}

/// Keeps the first `n` of the `len` records under `node` (`0 < n < len`).
fn truncate_node(node: &mut Arc<Node>, height: u32, len: usize, n: usize) {
    match Arc::make_mut(node) {
        Node::Leaf(records) => records.truncate(n),
        Node::Branch(children) => {
            let per = span(height - 1);
            let keep = n.div_ceil(per);
            let last_len = (len - (keep - 1) * per).min(per);
            children.truncate(keep);
            let rest = n - (keep - 1) * per;
            if rest < last_len {
                if let Some(last) = children.last_mut() {
                    truncate_node(last, height - 1, last_len, rest);
                }
            }
        }
    }
}

fn collect(node: &Node, out: &mut Vec<Record>) {
    match node {
        Node::Leaf(records) => out.extend(records.iter().cloned()),
        Node::Branch(children) => {
            for c in children {
                collect(c, out);
            }
        }
    }
}

fn collect_leaves<'a>(node: &'a Node, out: &mut Vec<&'a [Record]>) {
    match node {
        Node::Leaf(records) => out.push(records),
        Node::Branch(children) => {
            for c in children {
                collect_leaves(c, out);
            }
        }
    }
}

fn node_bytes(node: &Arc<Node>, seen: &mut BTreeSet<usize>) -> usize {
    if !seen.insert(Arc::as_ptr(node) as usize) {
        return 0;
    }
    // The allocation: two reference counts and the node, plus its vector's buffer.
    let own = 2 * std::mem::size_of::<usize>() + std::mem::size_of::<Node>();
    match node.as_ref() {
        Node::Leaf(records) => own + records.capacity() * std::mem::size_of::<Record>(),
        Node::Branch(children) => {
            own + children.capacity() * std::mem::size_of::<Arc<Node>>()
                + children.iter().map(|c| node_bytes(c, seen)).sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(from: usize, n: usize) -> Vec<Record> {
        (from..from + n)
            .map(|i| Arc::from(format!("r{i}")))
            .collect()
    }

    #[test]
    fn pushing_and_truncating_keeps_the_same_records_as_a_vec() {
        // A deterministic mix of appends and truncations, across several tree heights.
        let mut model: Vec<Record> = Vec::new();
        let mut log = SharedLog::default();
        let mut x: u64 = 7;
        let mut next = 0;
        let mut longest = 0;
        for step in 0..400 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if step % 50 == 49 {
                // Now and then far back (a tree loses levels)...
                let to = (x >> 33) as usize % (model.len() + 1);
                model.truncate(to);
                log.truncate(to);
            } else if step % 5 == 4 {
                // ... usually a little, as a follower truncates its uncommitted tail.
                let to = model.len() - (x >> 33) as usize % (model.len().min(500) + 1);
                model.truncate(to);
                log.truncate(to);
            } else {
                let n = (x >> 40) as usize % 300;
                let new = records(next, n);
                next += n;
                model.extend(new.iter().cloned());
                log.extend_from_slice(&new);
            }
            assert_eq!(log.len(), model.len(), "step {step}");
            assert_eq!(log.to_vec(), model, "step {step}");
            longest = longest.max(model.len());
        }
        assert!(
            longest > WIDTH.pow(3),
            "the test reached a tree of height 3"
        );
    }

    #[test]
    fn a_copy_that_grows_shares_its_prefix_and_leaves_the_original_alone() {
        let first = records(0, 5_000);
        let a = SharedLog::from_slice(&first);
        let mut b = a.clone();
        b.extend_from_slice(&records(5_000, 100));
        assert!(a.shares_first_leaf_with(&b));
        assert_eq!(a.to_vec(), first);
        assert_eq!(b.len(), 5_100);
        // b's own nodes are the path to its end and the new leaves: a few kilobytes next to
        // the ~80 kB that a's leaves hold.
        let mut seen = BTreeSet::new();
        let shared = a.heap_bytes(&mut seen);
        let extra = b.heap_bytes(&mut seen);
        assert!(shared > 5_000 * 16, "{shared}");
        assert!(extra < 6 * 1024, "b owns {extra} bytes of its own");

        // Truncating the copy below the shared prefix copies the path to the new end only.
        let mut c = a.clone();
        c.truncate(1_000);
        c.extend_from_slice(&records(9_000, 10));
        assert!(a.shares_first_leaf_with(&c));
        assert_eq!(a.to_vec(), first);
        let mut expected = first[..1_000].to_vec();
        expected.extend(records(9_000, 10));
        assert_eq!(c.to_vec(), expected);
    }

    #[test]
    fn restoring_into_a_live_log_keeps_its_common_prefix() {
        let base = records(0, 2_000);
        let log = SharedLog::from_slice(&base[..1_200]);
        // Longer than the checkpoint, same start: cut back, the rest handed back.
        let mut live = base.clone();
        let first = live.as_ptr();
        let removed = log.restore_into(&mut live);
        assert_eq!(live, base[..1_200].to_vec());
        assert_eq!(removed, base[1_200..].to_vec());
        assert_eq!(live.as_ptr(), first, "the vector was kept, not rebuilt");
        // Diverged at 700 (other records after it): the checkpoint's from there on.
        let mut live = base[..700].to_vec();
        live.extend(records(5_000, 300));
        let removed = log.restore_into(&mut live);
        assert_eq!(live, base[..1_200].to_vec());
        assert_eq!(removed.len(), 300);
        // Empty: everything from the checkpoint.
        let mut live = Vec::new();
        assert!(log.restore_into(&mut live).is_empty());
        assert_eq!(live, base[..1_200].to_vec());
    }

    #[test]
    fn sync_makes_a_copy_equal_to_the_live_log() {
        let live = records(0, 3_000);
        let mut log = SharedLog::from_slice(&live[..2_000]);
        log.sync(&live, 2_000);
        assert_eq!(log.to_vec(), live);
        // The live log diverged at 1 500 (a truncation and new appends).
        let mut diverged = live[..1_500].to_vec();
        diverged.extend(records(10_000, 700));
        log.sync(&diverged, 1_500);
        assert_eq!(log.to_vec(), diverged);
        log.sync(&[], 0);
        assert!(log.is_empty());
    }
}
