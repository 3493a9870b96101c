//! Sweeps past one machine: a grid of predictions cut into N contiguous
//! slices (`mlsim sweep --shard K/N`), each written as CSV behind one
//! comment line that says which slice of which grid it is, and put back
//! together by `mlsim merge`, which checks that the parts are complete and
//! disjoint and writes exactly what the unsharded sweep writes.

use std::fmt;
use std::str::FromStr;

/// The K-th (from 0) of N slices of a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which slice, 0 to `of - 1` (a Slurm array task or Kubernetes
    /// completion index).
    pub index: u64,
    /// How many slices.
    pub of: u64,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("expected K/N with 0 <= K < N, such as 0/4, got `{s}`");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, of) = (
            k.trim().parse::<u64>().map_err(|_| bad())?,
            n.trim().parse::<u64>().map_err(|_| bad())?,
        );
        if of == 0 || index >= of {
            return Err(bad());
        }
        Ok(Shard { index, of })
    }
}

impl Shard {
    /// The grid points `[start, end)` of this slice of `total`: contiguous,
    /// the first `total % of` slices one point longer, so that the slices
    /// in order are the grid in order.
    pub fn range(self, total: u64) -> (u64, u64) {
        let start = |k: u64| k * total / self.of;
        (start(self.index), start(self.index + 1))
    }
}

/// What a part file's first line says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartHeader {
    /// Its slice.
    pub shard: Shard,
    /// The grid points it holds, `[start, end)`.
    pub start: u64,
    /// End of the points it holds (exclusive).
    pub end: u64,
    /// Points in the whole grid.
    pub total: u64,
    /// A digest of the grid's definition: parts of different sweeps differ.
    pub grid: String,
}

const PREFIX: &str = "# mlsim sweep shard ";

impl fmt::Display for PartHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}{}/{}: points {}..{} of {}, grid {}",
            self.shard.index, self.shard.of, self.start, self.end, self.total, self.grid
        )
    }
}

impl FromStr for PartHeader {
    type Err = String;
    fn from_str(line: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "expected a first line `{PREFIX}K/N: points A..B of T, grid G` (written by mlsim sweep --shard), got `{line}`"
            )
        };
        let rest = line.strip_prefix(PREFIX).ok_or_else(bad)?;
        let (shard, rest) = rest.split_once(": points ").ok_or_else(bad)?;
        let (range, rest) = rest.split_once(" of ").ok_or_else(bad)?;
        let (total, grid) = rest.split_once(", grid ").ok_or_else(bad)?;
        let (start, end) = range.split_once("..").ok_or_else(bad)?;
        let num = |s: &str| s.parse::<u64>().map_err(|_| bad());
        Ok(PartHeader {
            shard: shard.parse().map_err(|_| bad())?,
            start: num(start)?,
            end: num(end)?,
            total: num(total)?,
            grid: grid.to_string(),
        })
    }
}

/// FNV-1a, 64 bits, of a grid's definition: a stable digest (the same in
/// every build and on every machine) to tell grids apart.
pub fn grid_digest(definition: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in definition.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_partition_the_grid_in_order() {
        for total in [0u64, 1, 7, 10, 1000] {
            for of in 1..=6 {
                let mut next = 0;
                for index in 0..of {
                    let (a, b) = Shard { index, of }.range(total);
                    assert_eq!(a, next, "{index}/{of} of {total}");
                    assert!(b >= a);
                    // Balanced to one point.
                    assert!(b - a <= total.div_ceil(of));
                    next = b;
                }
                assert_eq!(next, total);
            }
        }
        // 10 points in 4 slices: 2, 3, 2, 3.
        let sizes: Vec<u64> = (0..4)
            .map(|index| {
                let (a, b) = Shard { index, of: 4 }.range(10);
                b - a
            })
            .collect();
        assert_eq!(sizes, [2, 3, 2, 3]);
    }

    #[test]
    fn shard_flags_and_headers_parse_and_refuse() {
        assert_eq!("3/8".parse::<Shard>(), Ok(Shard { index: 3, of: 8 }));
        for bad in ["8/8", "1/0", "-1/4", "2", "a/b", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let h = PartHeader {
            shard: Shard { index: 1, of: 4 },
            start: 3,
            end: 6,
            total: 12,
            grid: grid_digest("h200 fp16 64x64x64"),
        };
        assert_eq!(h.to_string().parse::<PartHeader>(), Ok(h));
        assert!("# something else".parse::<PartHeader>().is_err());
        // FNV-1a 64 of "a" (the published test vector).
        assert_eq!(grid_digest("a"), "af63dc4c8601ec8c");
    }
}
