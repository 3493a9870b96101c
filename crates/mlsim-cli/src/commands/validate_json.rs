//! `mlsim validate --format json` for one file: the report as
//! `serde_json::to_writer_pretty` writes it, byte for byte, with its points
//! (nearly all of a large file's text: a million rows make 245 MB)
//! rendered in parallel a batch at a time instead of on one thread.

use std::io::Write;

use mlsim_calibrate::report::ValidationReport;
use mlsim_calibrate::validate::Point;
use rayon::prelude::*;

/// Points rendered per batch (the memory held at once) and per task.
const BATCH: usize = 1 << 16;
const PIECE: usize = 1 << 10;

/// Where the points go in the report rendered without them: a top-level
/// field (two spaces in), an empty array.
const EMPTY_POINTS: &str = "\n  \"points\": []";

/// Write `report` (its points taken out and written from `points`) as
/// pretty JSON with a trailing newline.
pub(super) fn write_report(
    report: &ValidationReport,
    points: &[Point],
    out: &mut impl Write,
) -> std::io::Result<()> {
    write_report_in(report, points, out, BATCH, PIECE)
}

fn write_report_in(
    report: &ValidationReport,
    points: &[Point],
    out: &mut impl Write,
    batch: usize,
    piece: usize,
) -> std::io::Result<()> {
    debug_assert!(report.points.is_empty(), "the points are given apart");
    let frame = serde_json::to_string_pretty(report)?;
    let at = frame
        .find(EMPTY_POINTS)
        .expect("a report has a top-level points field");
    out.write_all(&frame.as_bytes()[..at])?;
    if points.is_empty() {
        out.write_all(EMPTY_POINTS.as_bytes())?;
    } else {
        out.write_all(b"\n  \"points\": [")?;
        for (b, batch_points) in points.chunks(batch).enumerate() {
            let texts: Vec<std::io::Result<Vec<u8>>> = batch_points
                .par_chunks(piece)
                .enumerate()
                .map(|(j, chunk)| {
                    let (mut text, mut one) = (Vec::new(), Vec::new());
                    for (i, p) in chunk.iter().enumerate() {
                        // As serde_json's pretty formatter: a comma before
                        // every element but the first, each on its line,
                        // four spaces in (the array is a field of the
                        // top-level object).
                        let first = b == 0 && j == 0 && i == 0;
                        text.extend_from_slice(if first { b"\n    " } else { b",\n    " });
                        one.clear();
                        serde_json::to_writer_pretty(&mut one, p)?;
                        for (k, line) in one.split(|&c| c == b'\n').enumerate() {
                            if k > 0 {
                                text.extend_from_slice(b"\n    ");
                            }
                            text.extend_from_slice(line);
                        }
                    }
                    Ok(text)
                })
                .collect();
            for text in texts {
                out.write_all(&text?)?;
            }
        }
        out.write_all(b"\n  ]")?;
    }
    out.write_all(&frame.as_bytes()[at + EMPTY_POINTS.len()..])?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::write_report_in;

    /// The same bytes as serde_json's own pretty writer, for batches and
    /// pieces that cut the points unevenly, and for no points.
    #[test]
    fn the_report_is_serde_jsons_pretty_text() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cases = super::super::validate::load_cases(
            &["dev-epyc-turin-2vcpu".to_string()],
            &[root.join("results/host-amd-epyc-zen5-2vcpu.csv")],
            &crate::SetupArgs::default(),
            false,
        )
        .unwrap();
        let (mut report, _) = cases[0].validate(false).unwrap();
        assert_eq!(report.points.len(), 100);
        let want = serde_json::to_string_pretty(&report).unwrap() + "\n";
        let points = std::mem::take(&mut report.points);
        for (batch, piece) in [(1 << 16, 1 << 10), (7, 3), (1, 1), (100, 100)] {
            let mut got = Vec::new();
            write_report_in(&report, &points, &mut got, batch, piece).unwrap();
            assert!(
                String::from_utf8(got).unwrap() == want,
                "batch {batch}, piece {piece}"
            );
        }
        let mut got = Vec::new();
        write_report_in(&report, &[], &mut got, 7, 3).unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            serde_json::to_string_pretty(&report).unwrap() + "\n"
        );
    }
}
