//! Sweeps past one machine: a grid of predictions cut into N contiguous
//! slices (`mlsim sweep --shard K/N`), each written as CSV behind one
//! comment line that says which slice of which grid it is, and put back
//! together (`mlsim merge`, `mlsim.merge` in Python): the parts must be
//! the N slices of one grid, each once, each with the rows its slice
//! holds, under one CSV header; the output is exactly what the unsharded
//! sweep writes. Rows are copied as text, streamed, never parsed or held
//! all at once.

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
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

impl PartHeader {
    /// What is wrong with a part of this slice holding `rows` rows.
    pub fn wrong_row_count(&self, rows: u64) -> String {
        format!(
            "{rows} rows, but slice {}/{} holds {} (points {}..{}): a truncated or edited part",
            self.shard.index,
            self.shard.of,
            self.end - self.start,
            self.start,
            self.end
        )
    }
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

/// A part's first line, read and checked; errors start with the path.
pub fn header_of(path: &Path) -> Result<PartHeader, String> {
    let bad = |m: String| format!("{}: {m}", path.display());
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut line = String::new();
    BufReader::new(file)
        .read_line(&mut line)
        .map_err(|e| bad(e.to_string()))?;
    let h: PartHeader = line.trim_end().parse().map_err(bad)?;
    check_range(&h).map_err(|m| bad(format!("line 1: {m}")))?;
    Ok(h)
}

/// Whether a header's points are its slice's.
pub fn check_range(h: &PartHeader) -> Result<(), String> {
    let (start, end) = h.shard.range(h.total);
    if (h.start, h.end) != (start, end) {
        return Err(format!(
            "slice {}/{} of {} points is {start}..{end}, the part says {}..{}",
            h.shard.index, h.shard.of, h.total, h.start, h.end
        ));
    }
    Ok(())
}

/// The CSV parts of one sweep in slice order, checked: one grid, each
/// slice once, none missing. Errors name the file (or the missing slice).
pub fn check_parts(paths: &[PathBuf]) -> Result<Vec<(PartHeader, PathBuf)>, String> {
    check_slices(
        paths
            .iter()
            .map(|p| Ok((header_of(p)?, p.clone())))
            .collect::<Result<_, String>>()?,
    )
}

/// Parts whose headers were read (from a CSV part's first line or a
/// Parquet part's metadata), in slice order, checked: one grid, each
/// slice once, none missing.
pub fn check_slices(
    mut parts: Vec<(PartHeader, PathBuf)>,
) -> Result<Vec<(PartHeader, PathBuf)>, String> {
    let Some((first, first_path)) = parts.first().cloned() else {
        return Err("no parts given".into());
    };
    for (h, p) in &parts {
        if (h.shard.of, h.total, &h.grid) != (first.shard.of, first.total, &first.grid) {
            return Err(format!(
                "{}: a part of another sweep (grid {}, {} slices of {} points), not of {}'s (grid {}, {} slices of {} points)",
                p.display(),
                h.grid,
                h.shard.of,
                h.total,
                first_path.display(),
                first.grid,
                first.shard.of,
                first.total
            ));
        }
    }
    parts.sort_by_key(|(h, _)| h.shard.index);
    for pair in parts.windows(2) {
        if pair[0].0.shard.index == pair[1].0.shard.index {
            return Err(format!(
                "{}: slice {} is also in {}: each part once",
                pair[1].1.display(),
                pair[1].0.shard.index,
                pair[0].1.display()
            ));
        }
    }
    let have: Vec<u64> = parts.iter().map(|(h, _)| h.shard.index).collect();
    if let Some(missing) = (0..first.shard.of).find(|k| !have.contains(k)) {
        return Err(format!(
            "slice {missing}/{} is missing: {} of {} parts given\n  hint: run `mlsim sweep ... --shard {missing}/{}` for it",
            first.shard.of,
            parts.len(),
            first.shard.of,
            first.shard.of
        ));
    }
    Ok(parts)
}

/// Write the checked `parts` (from [`check_parts`]) as one CSV: the
/// header once, every part's rows in slice order.
pub fn write_merged(parts: &[(PartHeader, PathBuf)], out: &mut impl Write) -> std::io::Result<()> {
    let mut csv_header: Option<String> = None;
    for (h, path) in parts {
        copy_rows(path, h, &mut csv_header, out)?;
    }
    out.flush()
}

/// Copy one part's rows after checking its CSV header against the first
/// part's and counting its rows against its slice. Errors name the part.
fn copy_rows(
    path: &Path,
    h: &PartHeader,
    csv_header: &mut Option<String>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let invalid = |m: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {m}", path.display()),
        )
    };
    let mut lines = BufReader::new(std::fs::File::open(path)?).lines();
    lines.next().transpose()?; // the part header, read before
    let header = lines
        .next()
        .transpose()?
        .ok_or_else(|| invalid("line 2: no CSV header".into()))?;
    match csv_header {
        None => {
            writeln!(out, "{header}")?;
            *csv_header = Some(header);
        }
        Some(first) if *first != header => {
            return Err(invalid(format!(
                "line 2: the CSV header differs from the first part's (`{header}`)"
            )));
        }
        Some(_) => {}
    }
    let mut rows = 0u64;
    for line in lines {
        writeln!(out, "{}", line?)?;
        rows += 1;
    }
    if rows != h.end - h.start {
        return Err(invalid(h.wrong_row_count(rows)));
    }
    Ok(())
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
