//! `--shard I/N`: one machine's share of a run, the same on every machine.
//!
//! A theorem belongs to shard `hash(name) mod N`, where the hash is FNV-1a over the name's
//! bytes: it depends on nothing but the name (not on file order, the machine, or Rust's
//! randomized hasher), so N processes started with `0/N … N-1/N` split any input into
//! disjoint parts whose union is the whole, and the same theorem lands in the same shard on a
//! rerun or a `--resume`.

use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count` (`0 <= index < count`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Whether the theorem (or problem) called `name` is in this shard.
    pub fn contains(&self, name: &str) -> bool {
        fnv1a(name.as_bytes()) % self.count == self.index
    }
}

/// 64-bit FNV-1a: tiny, stable across versions and platforms, and spreads short names well.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let usage = || {
            format!(
                "`{s}` is not a shard: give I/N with 0 <= I < N, e.g. 0/8 \
                 (Slurm: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT with --array=0-7)"
            )
        };
        let (i, n) = s.split_once('/').ok_or_else(usage)?;
        let index: u64 = i.trim().parse().map_err(|_| usage())?;
        let count: u64 = n.trim().parse().map_err(|_| usage())?;
        if count == 0 || index >= count {
            return Err(usage());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_any_names() {
        let names: Vec<String> = (0..1000).map(|i| format!("mathd_algebra_{i}")).collect();
        for count in [1, 2, 3, 8] {
            let mut sizes = vec![0usize; count as usize];
            for name in &names {
                let owners: Vec<u64> = (0..count)
                    .filter(|&index| Shard { index, count }.contains(name))
                    .collect();
                assert_eq!(owners.len(), 1, "{name} in {owners:?} of {count}");
                sizes[owners[0] as usize] += 1;
            }
            // Roughly even: no shard under half its fair share.
            let fair = names.len() / count as usize;
            assert!(sizes.iter().all(|&s| s * 2 >= fair), "{sizes:?}");
        }
    }

    #[test]
    fn the_split_is_fixed_by_the_name_alone() {
        // Pinned values: a change of hash would move theorems between shards of a running
        // evaluation.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn bad_shards_are_refused_with_the_form_expected() {
        assert_eq!("3/8".parse(), Ok(Shard { index: 3, count: 8 }));
        for bad in ["8/8", "1/0", "x/2", "2", "-1/4", ""] {
            let err = bad.parse::<Shard>().unwrap_err();
            assert!(err.contains("give I/N"), "{bad}: {err}");
        }
    }
}
