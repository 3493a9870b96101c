//! Every number in a datasheet preset says where it comes from, and every
//! native path's rate per unit per clock is a power of two or says why not
//! (issue 16's targets; presets/README.md, "Sources").
//!
//! A number is marked when its key's trailing comment, or the comment lines
//! directly above the key, hold a source tag the file's header defines
//! (`#   [DS]  NVIDIA datasheet ...`), the word `estimate`, or the word
//! `derived` followed by its arithmetic. The `[calibration]` record and the
//! original's four chips (`model = "original"`, its own estimates, kept for
//! parity) are not checked.

use std::ops::Range;

use toml_edit::{Document, Item, Table, Value};

/// Where a preset's rule is broken, as `file:line: what`.
fn problems(file: &str, text: &str) -> Vec<String> {
    let doc = Document::parse(text).unwrap_or_else(|e| panic!("{file}: {e}"));
    if doc.get("model").and_then(Item::as_str) == Some("original") {
        return Vec::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    let tags = header_tags(&lines);
    let mut keys = Vec::new();
    numeric_keys(doc.as_table(), "", &mut keys);
    let mut out = Vec::new();
    for (path, span) in &keys {
        let line = line_of(text, span.start);
        if !marked(&comments_of(&lines, line), &tags) {
            out.push(format!(
                "{file}:{}: `{path}` has no source tag, `estimate` or `derived` arithmetic",
                line + 1
            ));
        }
    }
    for row in per_clock_rates(&doc) {
        let Some(span) = row.peak_span.clone() else {
            continue;
        };
        let line = line_of(text, span.start);
        if !row.is_power_of_two() && !comments_of(&lines, line).contains("per-clock:") {
            out.push(format!(
                "{file}:{}: compute.paths.{}: {:.1} FLOP per clock per unit is not within 1% of a \
                 power of two and no `per-clock:` comment says why",
                line + 1,
                row.dtype,
                row.per_clock
            ));
        }
    }
    out
}

/// Tags defined in the header: comment lines `#   [TAG]  ...` before the
/// first line that is neither a comment nor blank.
fn header_tags(lines: &[&str]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.trim())
        .take_while(|l| l.is_empty() || l.starts_with('#'))
        .filter_map(|l| {
            let rest = l.strip_prefix('#')?;
            if !rest.starts_with(char::is_whitespace) {
                return None;
            }
            let tag = rest.trim_start().strip_prefix('[')?.split(']').next()?;
            is_tag(tag).then(|| tag.to_string())
        })
        .collect()
}

fn is_tag(s: &str) -> bool {
    (2..=8).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
}

/// Every key (dotted path, byte span of the key) whose value is or holds a
/// number, outside `[calibration]`.
fn numeric_keys(table: &Table, prefix: &str, out: &mut Vec<(String, Range<usize>)>) {
    for (name, item) in table.iter() {
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        match item {
            Item::Table(t) if path != "calibration" => numeric_keys(t, &path, out),
            Item::ArrayOfTables(a) => {
                for (i, t) in a.iter().enumerate() {
                    numeric_keys(t, &format!("{path}[{i}]"), out);
                }
            }
            Item::Value(v) if holds_number(v) => {
                let (key, _) = table.get_key_value(name).expect("iterated key");
                out.push((path, key.span().expect("parsed documents keep spans")));
            }
            _ => {}
        }
    }
}

fn holds_number(v: &Value) -> bool {
    match v {
        Value::Integer(_) | Value::Float(_) => true,
        Value::Array(a) => a.iter().any(holds_number),
        Value::InlineTable(t) => t.iter().any(|(_, v)| holds_number(v)),
        _ => false,
    }
}

/// Zero-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count()
}

/// The trailing comment of line `i` and the comment lines directly above
/// it, as one text.
fn comments_of(lines: &[&str], i: usize) -> String {
    let mut parts: Vec<&str> = lines[..i]
        .iter()
        .rev()
        .map(|l| l.trim_start())
        .take_while(|l| l.starts_with('#'))
        .collect();
    parts.reverse();
    // Numeric lines hold no strings with `#`, so the first `#` starts the comment.
    if let Some((_, comment)) = lines[i].split_once('#') {
        parts.push(comment);
    }
    parts.join(" ")
}

fn marked(comment: &str, tags: &[String]) -> bool {
    let tagged = comment
        .split('[')
        .skip(1)
        .filter_map(|s| s.split(']').next())
        .any(|t| tags.iter().any(|d| d == t));
    let lower = comment.to_lowercase();
    tagged || has_word(&lower, "estimate") || derived_with_arithmetic(&lower)
}

fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// `derived` followed somewhere by `number operator number`.
fn derived_with_arithmetic(text: &str) -> bool {
    let Some(i) = text.find("derived") else {
        return false;
    };
    let rest: Vec<char> = text[i..].chars().filter(|c| *c != ' ').collect();
    rest.windows(3).any(|w| {
        w[0].is_ascii_digit() && matches!(w[1], 'x' | '*' | '/' | '+' | '-' | '×') && {
            w[2].is_ascii_digit()
        }
    })
}

/// One native path's datasheet rate per unit (SM, CU, core, array) per
/// clock.
struct PerClock {
    dtype: String,
    peak_tflops: f64,
    clock_ghz: f64,
    units: f64,
    per_clock: f64,
    peak_span: Option<Range<usize>>,
}

impl PerClock {
    /// Within 1% of a power of two: datasheets round their peaks
    /// (V100 PCIe: 14 and 112 TFLOPS are 0.9% under 128 and 1024 per clock).
    fn is_power_of_two(&self) -> bool {
        let nearest = self.per_clock.log2().round().exp2();
        (self.per_clock / nearest - 1.0).abs() <= 0.01
    }
}

fn number(item: Option<&Item>) -> Option<f64> {
    let v = item?.as_value()?;
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}

fn per_clock_rates<S>(doc: &Document<S>) -> Vec<PerClock> {
    let Some(compute) = doc.get("compute").and_then(Item::as_table) else {
        return Vec::new();
    };
    let units = number(compute.get("units")).unwrap_or(f64::NAN);
    let boost = number(doc.get("frequency_ghz")).unwrap_or(f64::NAN);
    let Some(paths) = compute.get("paths").and_then(Item::as_table) else {
        return Vec::new();
    };
    paths
        .iter()
        .filter_map(|(dtype, item)| {
            let path = item.as_table()?;
            let peak_tflops = number(path.get("peak_tflops"))?;
            let clock_ghz = number(path.get("peak_clock_ghz")).unwrap_or(boost);
            Some(PerClock {
                dtype: dtype.to_string(),
                peak_tflops,
                clock_ghz,
                units,
                per_clock: peak_tflops * 1e3 / (units * clock_ghz),
                peak_span: path
                    .get_key_value("peak_tflops")
                    .and_then(|(k, _)| k.span()),
            })
        })
        .collect()
}

#[test]
fn every_number_in_a_datasheet_preset_has_a_source_and_rates_per_clock_are_explained() {
    let mut all = Vec::new();
    for p in mlsim_hw::presets() {
        all.extend(problems(p.file, p.text));
    }
    assert!(all.is_empty(), "{}", all.join("\n"));
}

/// The per-clock table of every preset's native paths (run with
/// `--nocapture` to read it); the values are the test's own arithmetic on
/// the files, so it asserts only what the datasheets promise: a rate per
/// unit per clock above zero.
#[test]
fn per_clock_rate_table() {
    println!(
        "{:<26} {:<14} {:>10} {:>7} {:>6} {:>12}  power of two",
        "preset", "path", "TFLOP/s", "GHz", "units", "FLOP/clk/unit"
    );
    for p in mlsim_hw::presets() {
        let doc = Document::parse(p.text).expect("presets parse");
        for r in per_clock_rates(&doc) {
            println!(
                "{:<26} {:<14} {:>10.1} {:>7.3} {:>6} {:>12.1}  {}",
                p.name,
                r.dtype,
                r.peak_tflops,
                r.clock_ghz,
                r.units,
                r.per_clock,
                if r.is_power_of_two() { "yes" } else { "no" }
            );
            assert!(r.per_clock > 0.0 && r.per_clock.is_finite(), "{}", p.name);
        }
    }
}

const GOOD: &str = r#"# A test chip.
#   [DS]  a datasheet
name = "x"
frequency_ghz = 2.0                  # [DS]
# estimate: nobody says
power_limit_w = 300

[compute]
units = 10                           # derived: 5 x 2 [DS]

[compute.paths.fp16]
peak_tflops = 20.48                  # [DS] 1024 x 10 x 2.0 GHz: a power of two

[calibration]
fitted_rate = 3.0
"#;

#[test]
fn the_checker_accepts_marked_numbers_and_power_of_two_rates() {
    assert_eq!(problems("good.toml", GOOD), Vec::<String>::new());
}

#[test]
fn the_checker_names_an_unmarked_number_and_an_unexplained_rate() {
    // An undefined tag, a blank line between comment and key, and a rate of
    // 1536 FLOP per clock per SM.
    let bad = GOOD
        .replace(
            "frequency_ghz = 2.0                  # [DS]",
            "frequency_ghz = 2.0 # [XX]",
        )
        .replace("# estimate: nobody says\n", "# estimate: nobody says\n\n")
        .replace("peak_tflops = 20.48", "peak_tflops = 30.72");
    let found = problems("bad.toml", &bad);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found[0].starts_with("bad.toml:4: `frequency_ghz`"),
        "{}",
        found[0]
    );
    assert!(
        found[1].starts_with("bad.toml:7: `power_limit_w`"),
        "{}",
        found[1]
    );
    assert!(found[2].contains("1536.0 FLOP per clock"), "{}", found[2]);
    // A `per-clock:` note explains it.
    let explained = GOOD.replace(
        "peak_tflops = 20.48                  # [DS]",
        "peak_tflops = 30.72                  # [DS] per-clock: 3 x 512 on this part",
    );
    assert_eq!(problems("ok.toml", &explained), Vec::<String>::new());
}
