//! Shards: consecutive slices of a campaign's points, `I/N` on the
//! command line, each run anywhere and merged in order.

use std::ops::Range;

/// One N-th of a campaign's points: shard `index` (from 1) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, 1 to `count`.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl Shard {
    /// The whole campaign as one shard.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// The points of this shard among `runs`: consecutive indices, the
    /// shards' sizes differing by at most one.
    pub fn range(&self, runs: u64) -> Range<u64> {
        let at = |k: u64| ((runs as u128 * k as u128) / self.count as u128) as u64;
        at(self.index - 1)..at(self.index)
    }

    /// `part-I-of-N` with a file extension.
    pub fn file(&self, extension: &str) -> String {
        format!("part-{}-of-{}.{extension}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N`, 1 ≤ I ≤ N.
    fn from_str(text: &str) -> Result<Self, String> {
        let parsed = text.split_once('/').and_then(|(i, n)| {
            Some((i.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?))
        });
        match parsed {
            Some((index, count)) if index >= 1 && index <= count => Ok(Shard { index, count }),
            _ => Err(format!(
                "`{text}` is not a shard I/N with 1 ≤ I ≤ N (e.g. 3/16)"
            )),
        }
    }
}
