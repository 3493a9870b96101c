//! Output helpers: aligned text tables, CSV and JSON, number formatting.

use std::io::Write;

use clap::ValueEnum;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned tables for people.
    Table,
    /// JSON for scripts (documented in README.md).
    Json,
    /// CSV for spreadsheets and dataframes.
    Csv,
}

/// A text table: left-aligned first column, right-aligned others.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Self {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    pub fn render(&self) -> String {
        let cols = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, cell) in cells.iter().enumerate().take(cols) {
                let pad = widths[i] - cell.chars().count();
                if i > 0 {
                    s.push_str("  ");
                }
                if i == 0 {
                    s.push_str(cell);
                    s.push_str(&" ".repeat(pad));
                } else {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(cell);
                }
            }
            s.trim_end().to_string() + "\n"
        };
        let mut out = line(&self.headers);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&line(&rule));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

/// `x` with `sig` significant digits, switching to scientific notation
/// outside [1e-4, 1e7).
pub fn sig(x: f64, sig: usize) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let mag = x.abs().log10().floor() as i32;
    if !(-4..7).contains(&mag) {
        return format!("{:.*e}", sig.saturating_sub(1), x);
    }
    let decimals = (sig as i32 - 1 - mag).max(0) as usize;
    format!("{x:.decimals$}")
}

/// A count in engineering units: 1.23 G, 45.6 M.
pub fn eng(x: f64) -> String {
    let units = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    for (scale, unit) in units {
        if x.abs() >= scale {
            return format!("{} {unit}", sig(x / scale, 4));
        }
    }
    sig(x, 4)
}

/// Write CSV records (header first) to stdout.
pub fn write_csv(headers: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    write_csv_rows(headers, rows.iter().cloned())
}

/// [`write_csv`] for rows made one at a time: a large result is written
/// without a second copy of every row in memory.
pub fn write_csv_rows(
    headers: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> anyhow::Result<()> {
    // csv's writer keeps its own buffer over the line-buffered stdout.
    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
    w.write_record(headers)?;
    for row in rows {
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

/// Pretty JSON to stdout, with a trailing newline.
pub fn write_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    // Stdout is line-buffered: one system call per line of pretty JSON
    // without a buffer of its own.
    let mut w = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut w, value)?;
    writeln!(w)?;
    w.flush()?;
    Ok(())
}

/// A float for CSV: shortest round-trip representation, empty for
/// non-finite values.
pub fn csv_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits() {
        assert_eq!(sig(0.0952345065, 4), "0.09523");
        assert_eq!(sig(1234.5678, 4), "1235");
        assert_eq!(sig(2.5e-6, 3), "2.50e-6");
        assert_eq!(eng(17_179_869_184.0), "17.18 G");
    }

    #[test]
    fn table_aligns() {
        let mut t = Table::new(["a", "bb"]);
        t.row(["xyz", "1"]);
        assert_eq!(t.render(), "a    bb\n---  --\nxyz   1\n");
    }
}
