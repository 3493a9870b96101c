//! SVG text as glyph outlines, so an SVG looks the same on every viewer.
//!
//! plotters' SVG backend writes each string as a `<text>` element naming the
//! family `sans-serif`: its look and width would depend on the fonts the
//! viewer has. [`outline_text`] replaces every such element by the outlines
//! of its glyphs in the bundled DejaVu Sans, laid out the way an SVG renderer
//! with that font installed lays the element out:
//!
//! - the string is the element's character data with XML references decoded
//!   and white space collapsed as SVG does by default (runs of spaces, tabs
//!   and line breaks become one space, leading and trailing ones go);
//! - the em is the element's `font-size`; glyphs advance by their advance
//!   widths plus the font's kerning (its `kern` table, as plotters' PNG text);
//! - `text-anchor` `start`, `middle` or `end` puts the start, middle or end of
//!   the advance width at `x`;
//! - the baseline is at `y` plus `dy` (`em`, `ex` or px; 1ex is the height
//!   of DejaVu Sans' `x`, as browsers use when the font gives no x-height);
//! - `fill` and `opacity` carry over, and `transform` (plotters' rotation)
//!   stays in front of the glyph placement.
//!
//! `font-family`, `font-weight` and `font-style` are not honoured: every
//! string is drawn in DejaVu Sans regular, as plotters' PNG text is (the
//! crate bundles no other face). No shaping is done (no ligatures or
//! contextual forms), which Latin labels do not need.
//!
//! Each distinct glyph becomes one `<path id="g{glyph id}">` in font units
//! (y up) in a `<defs>` block at the start of the document; each string is a
//! `<g>` placing and scaling `<use>` references to them, with the string kept
//! in an `aria-label` so the SVG stays searchable and accessible. The output
//! is a pure function of the input: glyphs are ordered by id and numbers are
//! written with a fixed number of decimals.
//!
//! An element this module does not understand (child elements, a length unit
//! other than px, em or ex, an unknown anchor) is left as it is.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ab_glyph::{Font, FontRef, GlyphId, Outline, OutlineCurve, Point};

/// Decimals of positions in pixels (translations) and of font units (paths,
/// pen positions).
const DECIMALS: usize = 2;
/// Decimals of the pixel-per-font-unit scale (about 0.01): 7 keep the
/// error below 0.01 px across a 960 px wide string.
const SCALE_DECIMALS: usize = 7;

/// Replace every `<text>` element of `svg` by the outlines of its glyphs.
pub(crate) fn outline_text(svg: &str) -> String {
    let Ok(font) = FontRef::try_from_slice(crate::FONT) else {
        // The bundled font is valid; without it the text stays text.
        return svg.to_string();
    };
    let mut outliner = Outliner::new(font);
    let mut body = String::with_capacity(svg.len());
    let mut rest = svg;
    while let Some(start) = find_text_start(rest) {
        body.push_str(&rest[..start]);
        let here = &rest[start..];
        match parse_text(here) {
            Some((element, len)) => {
                match outliner.draw(&element) {
                    Some(group) => body.push_str(&group),
                    None => body.push_str(&here[..len]),
                }
                rest = &here[len..];
            }
            None => {
                body.push_str("<text");
                rest = &here["<text".len()..];
            }
        }
    }
    body.push_str(rest);
    if !outliner.used {
        return body;
    }
    outliner.with_defs(&body)
}

/// Byte offset of the next `<text` start tag (not `<textPath` and the like).
fn find_text_start(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find("<text") {
        let at = from + i;
        match s.as_bytes().get(at + "<text".len()) {
            Some(b' ' | b'\t' | b'\n' | b'\r' | b'>' | b'/') => return Some(at),
            _ => from = at + 1,
        }
    }
    None
}

/// A parsed `<text>` element: attributes (values decoded) and character data
/// (decoded, white space not yet collapsed).
#[derive(Debug)]
struct TextElement {
    attrs: Vec<(String, String)>,
    content: String,
}

impl TextElement {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parse the `<text ...>...</text>` at the start of `s`; returns it and its
/// length in bytes, or `None` when it is malformed or has child elements.
fn parse_text(s: &str) -> Option<(TextElement, usize)> {
    let mut attrs = Vec::new();
    let mut i = "<text".len();
    let b = s.as_bytes();
    loop {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        match b.get(i)? {
            b'>' => {
                i += 1;
                break;
            }
            b'/' if b.get(i + 1) == Some(&b'>') => {
                let element = TextElement {
                    attrs,
                    content: String::new(),
                };
                return Some((element, i + 2));
            }
            _ => {}
        }
        let eq = i + s[i..].find('=')?;
        let name = s[i..eq].trim();
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '>') {
            return None;
        }
        let mut j = eq + 1;
        while b.get(j).is_some_and(u8::is_ascii_whitespace) {
            j += 1;
        }
        let quote = *b.get(j)?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let end = j + 1 + s[j + 1..].find(quote as char)?;
        attrs.push((name.to_string(), decode(&s[j + 1..end])));
        i = end + 1;
    }
    let close = i + s[i..].find("</text>")?;
    let raw = &s[i..close];
    if raw.contains('<') {
        return None;
    }
    let element = TextElement {
        attrs,
        content: decode(raw),
    };
    Some((element, close + "</text>".len()))
}

/// Decode XML character and entity references (the five predefined ones,
/// decimal and hexadecimal); anything else is kept as written.
fn decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let decoded = tail.find(';').and_then(|semi| {
            let c = match &tail[1..semi] {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                r => {
                    let n = if let Some(hex) = r.strip_prefix("#x").or(r.strip_prefix("#X")) {
                        u32::from_str_radix(hex, 16).ok()?
                    } else {
                        r.strip_prefix('#')?.parse().ok()?
                    };
                    char::from_u32(n)?
                }
            };
            Some((c, semi + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &tail[len..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Escape `s` for an attribute value, as plotters does.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// SVG's default white-space handling: every run of XML white space becomes
/// one space, and leading and trailing white space is removed.
fn collapse_whitespace(s: &str) -> String {
    s.split([' ', '\t', '\n', '\r'])
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A length in px: a number, optionally followed by `px`, `em` or `ex`.
fn length(value: &str, em: f64, ex: f64) -> Option<f64> {
    let v = value.trim();
    let (number, unit) = if let Some(n) = v.strip_suffix("em") {
        (n, em)
    } else if let Some(n) = v.strip_suffix("ex") {
        (n, ex)
    } else if let Some(n) = v.strip_suffix("px") {
        (n, 1.0)
    } else {
        (v, 1.0)
    };
    let n: f64 = number.trim().parse().ok()?;
    n.is_finite().then_some(n * unit)
}

/// `v` rounded to `decimals`, without trailing zeros, `-0` written `0`.
fn num(v: f64, decimals: usize) -> String {
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.truncate(s.trim_end_matches('0').trim_end_matches('.').len());
    }
    if s == "-0" {
        s.remove(0);
    }
    s
}

/// Lays out strings and collects the glyphs they use.
struct Outliner {
    font: FontRef<'static>,
    units_per_em: f64,
    /// x-height over the em.
    ex_per_em: f64,
    /// Path data of every glyph drawn, by glyph id.
    glyphs: BTreeMap<u16, String>,
    /// Whether any element was replaced.
    used: bool,
}

impl Outliner {
    fn new(font: FontRef<'static>) -> Self {
        let units_per_em = f64::from(font.units_per_em().unwrap_or(2048.0));
        // DejaVu Sans' OS/2 table (version 1) has no sxHeight, so renderers
        // measure the top of `x`: 1120 of 2048 units.
        let x_top = font
            .outline(font.glyph_id('x'))
            .map_or(0.5 * units_per_em, |o| {
                f64::from(o.bounds.min.y.max(o.bounds.max.y))
            });
        Self {
            font,
            units_per_em,
            ex_per_em: x_top / units_per_em,
            glyphs: BTreeMap::new(),
            used: false,
        }
    }

    /// The `<g>` drawing `element`, or `None` when it cannot be interpreted.
    fn draw(&mut self, element: &TextElement) -> Option<String> {
        let size = length(element.attr("font-size")?, 16.0, 8.0)?;
        if size <= 0.0 {
            return None;
        }
        let (em, ex) = (size, size * self.ex_per_em);
        let coord = |name: &str| element.attr(name).map_or(Some(0.0), |v| length(v, em, ex));
        let (x, y, dx, dy) = (coord("x")?, coord("y")?, coord("dx")?, coord("dy")?);
        let anchor = match element.attr("text-anchor").map(str::trim) {
            None | Some("start") => 0.0,
            Some("middle") => 0.5,
            Some("end") => 1.0,
            Some(_) => return None,
        };
        self.used = true;
        let text = collapse_whitespace(&element.content);
        if text.is_empty() {
            return Some(String::new());
        }

        // Pen positions in font units.
        let mut uses = String::new();
        let mut pen = 0.0f64;
        let mut prev: Option<GlyphId> = None;
        for c in text.chars() {
            let id = self.font.glyph_id(c);
            if let Some(p) = prev {
                pen += f64::from(self.font.kern_unscaled(p, id));
            }
            prev = Some(id);
            if self.glyph(id) {
                let _ = write!(uses, "<use xlink:href=\"#g{}\"", id.0);
                if pen != 0.0 {
                    let _ = write!(uses, " x=\"{}\"", num(pen, DECIMALS));
                }
                uses.push_str("/>");
            }
            pen += f64::from(self.font.h_advance_unscaled(id));
        }

        let scale = size / self.units_per_em;
        let left = x + dx - anchor * pen * scale;
        let baseline = y + dy;
        let mut transform = String::new();
        if let Some(t) = element.attr("transform") {
            transform.push_str(t.trim());
            transform.push(' ');
        }
        let s = num(scale, SCALE_DECIMALS);
        let _ = write!(
            transform,
            "translate({},{}) scale({s},-{s})",
            num(left, DECIMALS),
            num(baseline, DECIMALS)
        );
        let mut g = format!("<g transform=\"{}\"", escape(&transform));
        if let Some(fill) = element.attr("fill") {
            let _ = write!(g, " fill=\"{}\"", escape(fill));
        }
        match element.attr("opacity") {
            Some(o) if o.trim() != "1" => {
                let _ = write!(g, " opacity=\"{}\"", escape(o));
            }
            _ => {}
        }
        let _ = write!(g, " aria-label=\"{}\">{uses}</g>", escape(&text));
        Some(g)
    }

    /// Record glyph `id`'s outline; false when it has none (a space).
    fn glyph(&mut self, id: GlyphId) -> bool {
        if self.glyphs.contains_key(&id.0) {
            return true;
        }
        match self.font.outline(id) {
            Some(outline) => {
                self.glyphs.insert(id.0, path_data(&outline));
                true
            }
            None => false,
        }
    }

    /// `body` with the glyph definitions after the `<svg>` start tag, and the
    /// xlink namespace the references use declared on it.
    fn with_defs(&self, body: &str) -> String {
        let mut defs = String::from("<defs>\n");
        for (id, d) in &self.glyphs {
            let _ = writeln!(defs, "<path id=\"g{id}\" d=\"{d}\"/>");
        }
        defs.push_str("</defs>\n");
        let mut out = String::with_capacity(body.len() + defs.len() + 64);
        let svg_tag = body
            .find("<svg")
            .and_then(|at| body[at..].find('>').map(|end| (at, at + end)));
        match svg_tag {
            Some((at, end)) => {
                let mut end = end;
                let self_closing = end > at && body.as_bytes()[end - 1] == b'/';
                if self_closing {
                    end -= 1;
                }
                out.push_str(&body[..end]);
                if !body[at..end].contains("xmlns:xlink") {
                    out.push_str(" xmlns:xlink=\"http://www.w3.org/1999/xlink\"");
                }
                let mut after = end + usize::from(self_closing) + 1;
                out.push_str(&body[end..after]);
                if body[after..].starts_with('\n') {
                    out.push('\n');
                    after += 1;
                }
                out.push_str(&defs);
                out.push_str(&body[after..]);
            }
            None => {
                out.push_str(&defs);
                out.push_str(body);
            }
        }
        out
    }
}

/// SVG path data of `outline`, in font units (y up).
fn path_data(outline: &Outline) -> String {
    let mut path = Path::default();
    for curve in &outline.curves {
        match *curve {
            OutlineCurve::Line(p0, p1) => path.line(p0, p1),
            OutlineCurve::Quad(p0, c, p) => path.curve(p0, 'Q', &[c, p]),
            OutlineCurve::Cubic(p0, c1, c2, p) => path.curve(p0, 'C', &[c1, c2, p]),
        }
    }
    path.finish()
}

/// Builds compact path data: one command letter per run of equal commands,
/// each contour closed with `Z` (which also draws its closing line).
#[derive(Default)]
struct Path {
    d: String,
    /// Current point and start of the current contour.
    at: Option<(Point, Point)>,
    /// A line back to the contour's start, dropped if the contour ends there.
    closing: Option<Point>,
    /// The last command letter written (`M` counts as none).
    last: Option<char>,
}

impl Path {
    fn line(&mut self, p0: Point, p1: Point) {
        if p0 == p1 {
            return;
        }
        self.begin(p0);
        if self.at.is_some_and(|(_, start)| start == p1) {
            self.closing = Some(p1);
        } else {
            self.command('L', &[p1]);
        }
        self.at = self.at.map(|(_, start)| (p1, start));
    }

    fn curve(&mut self, p0: Point, letter: char, points: &[Point]) {
        self.begin(p0);
        self.command(letter, points);
        let end = points[points.len() - 1];
        self.at = self.at.map(|(_, start)| (end, start));
    }

    /// Start a contour at `p0` unless the current point is there.
    fn begin(&mut self, p0: Point) {
        if let Some(p) = self.closing.take()
            && self.at.is_some_and(|(at, _)| at == p0)
        {
            // The contour goes on from its start point: keep the line.
            self.command('L', &[p]);
            return;
        }
        if self.at.is_some_and(|(at, _)| at == p0) {
            return;
        }
        if self.at.is_some() {
            self.d.push('Z');
        }
        self.d.push('M');
        self.numbers(&[p0]);
        self.last = None;
        self.at = Some((p0, p0));
    }

    fn command(&mut self, letter: char, points: &[Point]) {
        if self.last == Some(letter) {
            self.d.push(' ');
        } else {
            self.d.push(letter);
            self.last = Some(letter);
        }
        self.numbers(points);
    }

    fn numbers(&mut self, points: &[Point]) {
        for (i, p) in points.iter().enumerate() {
            if i > 0 {
                self.d.push(' ');
            }
            let _ = write!(
                self.d,
                "{} {}",
                num(f64::from(p.x), DECIMALS),
                num(f64::from(p.y), DECIMALS)
            );
        }
    }

    fn finish(mut self) -> String {
        self.closing = None;
        if self.at.is_some() {
            self.d.push('Z');
        }
        self.d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::backend::{DrawingBackend, SVGBackend};
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    use plotters::style::{FontTransform, IntoFont, RGBColor, TextStyle};

    /// What plotters writes for one string.
    struct Label {
        text: &'static str,
        at: (i32, i32),
        size: f64,
        h: HPos,
        v: VPos,
        rotate: bool,
    }

    fn label(text: &'static str, h: HPos, v: VPos) -> Label {
        Label {
            text,
            at: (300, 200),
            size: 26.0,
            h,
            v,
            rotate: false,
        }
    }

    /// plotters' SVG for `labels`, text still as `<text>`.
    fn plotters_svg(labels: &[Label]) -> String {
        crate::register_font();
        let mut out = String::new();
        {
            let mut backend = SVGBackend::with_string(&mut out, (960, 640));
            for l in labels {
                let mut style = TextStyle::from(("sans-serif", l.size).into_font())
                    .pos(Pos::new(l.h, l.v))
                    .color(&RGBColor(0, 114, 178));
                if l.rotate {
                    style = style.transform(FontTransform::Rotate270);
                }
                backend.draw_text(l.text, &style, l.at).unwrap();
            }
            backend.present().unwrap();
        }
        out
    }

    /// One outlined string read back: its transform, the placement numbers
    /// and its glyph references (glyph id, pen position in font units).
    #[derive(Debug)]
    struct Group {
        transform: String,
        left: f64,
        baseline: f64,
        scale: f64,
        label: String,
        uses: Vec<(u16, f64)>,
    }

    fn between<'a>(s: &'a str, open: &str, close: &str) -> &'a str {
        let i = s.find(open).unwrap() + open.len();
        &s[i..i + s[i..].find(close).unwrap()]
    }

    fn groups(svg: &str) -> Vec<Group> {
        svg.split("<g transform=\"")
            .skip(1)
            .map(|g| {
                let g = &g[..g.find("</g>").unwrap()];
                let transform = g[..g.find('"').unwrap()].to_string();
                let (left, baseline) = between(&transform, "translate(", ")")
                    .split_once(',')
                    .unwrap();
                let (scale, flipped) = between(&transform, "scale(", ")").split_once(',').unwrap();
                assert_eq!(flipped, format!("-{scale}"));
                let uses = g
                    .split("<use ")
                    .skip(1)
                    .map(|u| {
                        let id = between(u, "\"#g", "\"").parse().unwrap();
                        let x = u
                            .find(" x=\"")
                            .map_or(0.0, |_| between(u, " x=\"", "\"").parse().unwrap());
                        (id, x)
                    })
                    .collect();
                Group {
                    left: left.parse().unwrap(),
                    baseline: baseline.parse().unwrap(),
                    scale: scale.parse().unwrap(),
                    label: between(g, "aria-label=\"", "\"").to_string(),
                    transform,
                    uses,
                }
            })
            .collect()
    }

    fn font() -> FontRef<'static> {
        FontRef::try_from_slice(crate::FONT).unwrap()
    }

    /// Advance width of `text` in px at font size `px`, from the font's
    /// advances and kerning.
    fn width(text: &str, px: f64) -> f64 {
        let f = font();
        let ids: Vec<GlyphId> = text.chars().map(|c| f.glyph_id(c)).collect();
        let advances: f32 = ids.iter().map(|&g| f.h_advance_unscaled(g)).sum();
        let kerning: f32 = ids.windows(2).map(|w| f.kern_unscaled(w[0], w[1])).sum();
        f64::from(advances + kerning) * px / f64::from(f.units_per_em().unwrap())
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.02
    }

    fn chart() -> crate::Chart {
        crate::Chart {
            title: "llama-3-8b decode step".into(),
            x_label: "batch size".into(),
            y_label: "step time, ms".into(),
            log_x: true,
            log_y: false,
            series: vec![crate::Series {
                name: "fp16 & int8".into(),
                points: vec![(1.0, 2.0), (64.0, 9.5)],
                style: crate::Style::Solid,
                color: 0,
            }],
            point_labels: vec![],
        }
    }

    #[test]
    fn a_real_chart_keeps_no_text_element_and_its_strings_in_labels() {
        let svg = crate::svg(&chart()).unwrap();
        assert!(!svg.contains("<text"));
        assert!(svg.contains("aria-label=\"llama-3-8b decode step\""));
        assert!(svg.contains("aria-label=\"fp16 &amp; int8\""));
        assert!(svg.starts_with("<svg "));
        assert!(svg.trim_end().ends_with("</svg>"));
        // Every reference is defined once, every definition is used.
        let defined: Vec<u16> = svg
            .split("<path id=\"g")
            .skip(1)
            .map(|p| p[..p.find('"').unwrap()].parse().unwrap())
            .collect();
        let mut sorted = defined.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(defined, sorted, "glyphs in id order, each once");
        let used: std::collections::BTreeSet<u16> = groups(&svg)
            .iter()
            .flat_map(|g| g.uses.iter().map(|u| u.0))
            .collect();
        assert_eq!(used.into_iter().collect::<Vec<_>>(), defined);
    }

    #[test]
    fn one_reference_per_visible_character() {
        let texts = [
            "Speedup over fp32, square GEMMs on a T4",
            "0.398",
            "a  b\tc",
            " x ",
        ];
        let labels: Vec<Label> = texts
            .iter()
            .map(|t| label(t, HPos::Left, VPos::Top))
            .collect();
        let svg = outline_text(&plotters_svg(&labels));
        let visible = texts
            .iter()
            .flat_map(|t| t.chars())
            .filter(|c| !c.is_whitespace())
            .count();
        assert_eq!(svg.matches("<use ").count(), visible);
        let found: Vec<String> = groups(&svg).into_iter().map(|g| g.label).collect();
        assert_eq!(
            found,
            [
                "Speedup over fp32, square GEMMs on a T4",
                "0.398",
                "a b c",
                "x"
            ]
        );
    }

    #[test]
    fn anchors_put_the_start_middle_or_end_of_the_advance_width_at_x() {
        let text = "AV Type, 0.398";
        let svg = outline_text(&plotters_svg(&[
            label(text, HPos::Left, VPos::Top),
            label(text, HPos::Center, VPos::Top),
            label(text, HPos::Right, VPos::Top),
        ]));
        let size = 26.0 / 1.24; // plotters writes font-size = size / 1.24
        let w = width(text, size);
        let f = font();
        let last = f.glyph_id('8');
        let g = groups(&svg);
        assert_eq!(g.len(), 3);
        for (group, offset) in g.iter().zip([0.0, w / 2.0, w]) {
            assert!(close(group.left, 300.0 - offset), "{group:?}");
            assert!(close(group.scale * 2048.0, size));
            // The last glyph's advance ends at the string's width.
            let (id, pen) = *group.uses.last().unwrap();
            assert_eq!(id, last.0);
            let end = pen + f64::from(f.h_advance_unscaled(last));
            assert!(close(group.left + end * group.scale, 300.0 - offset + w));
        }
        assert!(close(g[2].left + w, 300.0));
    }

    #[test]
    fn the_baseline_follows_dy_in_em_and_ex() {
        let svg = outline_text(&plotters_svg(&[
            label("Top", HPos::Left, VPos::Top),
            label("Center", HPos::Left, VPos::Center),
            label("Bottom", HPos::Left, VPos::Bottom),
        ]));
        let size = 26.0 / 1.24;
        let ex = size * 1120.0 / 2048.0; // DejaVu Sans' x is 1120 units high
        let baselines: Vec<f64> = groups(&svg).iter().map(|g| g.baseline).collect();
        let expected = [200.0 + 0.76 * size, 200.0 + 0.5 * ex, 200.0 - 0.5 * ex];
        for (b, e) in baselines.iter().zip(expected) {
            assert!(close(*b, e), "{baselines:?} vs {expected:?}");
        }
    }

    #[test]
    fn rotation_colour_and_opacity_carry_over() {
        let mut l = label("fp32 runtime / dtype runtime", HPos::Center, VPos::Top);
        l.at = (18, 307);
        l.rotate = true;
        let svg = outline_text(&plotters_svg(&[l]));
        let g = groups(&svg);
        assert!(
            g[0].transform
                .starts_with("rotate(270, 18, 307) translate(")
        );
        assert!(svg.contains("fill=\"#0072B2\""));
        assert!(!svg.contains("opacity="), "opacity 1 is the default");

        let half = "<text x=\"1\" y=\"2\" font-size=\"10\" opacity=\"0.5\">\nx\n</text>";
        assert!(outline_text(half).contains(" opacity=\"0.5\""));
    }

    #[test]
    fn references_decode_to_one_glyph_each() {
        let svg = outline_text(&plotters_svg(&[label("<a&b'\">", HPos::Left, VPos::Top)]));
        let g = groups(&svg);
        let f = font();
        let ids: Vec<u16> = "<a&b'\">".chars().map(|c| f.glyph_id(c).0).collect();
        assert_eq!(g[0].uses.iter().map(|u| u.0).collect::<Vec<_>>(), ids);
        assert_eq!(g[0].label, "&lt;a&amp;b&apos;&quot;&gt;");
        assert_eq!(decode("&#65;&#x42;&nope;&"), "AB&nope;&");
    }

    #[test]
    fn output_is_the_same_on_every_run_and_thread() {
        let input = plotters_svg(&[
            label("Speedup over fp32", HPos::Center, VPos::Top),
            label("0.398", HPos::Right, VPos::Center),
        ]);
        let first = outline_text(&input);
        let others: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4).map(|_| s.spawn(|| outline_text(&input))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(others.iter().all(|o| *o == first));
        assert_eq!(crate::svg(&chart()).unwrap(), crate::svg(&chart()).unwrap());
    }

    #[test]
    fn the_svg_element_declares_xlink_and_defs_come_first() {
        let svg = outline_text(&plotters_svg(&[label("Ab", HPos::Left, VPos::Top)]));
        let first_line = svg.lines().next().unwrap();
        assert!(first_line.contains("xmlns:xlink=\"http://www.w3.org/1999/xlink\""));
        assert_eq!(svg.lines().nth(1), Some("<defs>"));
        // No text, nothing to change.
        let plain = plotters_svg(&[]);
        assert_eq!(outline_text(&plain), plain);
    }

    #[test]
    fn what_cannot_be_read_is_left_as_it_is() {
        for s in [
            "<text x=\"1\" y=\"2\" font-size=\"10\"><tspan>a</tspan></text>",
            "<text x=\"1\" y=\"2\" font-size=\"10\" dy=\"3pt\">a</text>",
            "<text x=\"1\" y=\"2\" font-size=\"10\" text-anchor=\"left\">a</text>",
            "<text x=\"1\" y=\"2\" font-size=\"10\">a",
            "<textPath/>",
        ] {
            assert_eq!(outline_text(s), s);
        }
    }

    #[test]
    fn glyph_paths_are_closed_contours_in_font_units() {
        let f = font();
        let o = f.outline(f.glyph_id('o')).unwrap();
        let d = path_data(&o);
        // Two contours (outside and counter), quadratic curves.
        assert_eq!(d.matches('M').count(), 2);
        assert_eq!(d.matches('Z').count(), 2);
        assert!(d.contains('Q'));
        assert!(d.starts_with('M') && d.ends_with('Z'));
        assert_eq!(num(-0.001, 2), "0");
        assert_eq!(num(1120.0, 2), "1120");
        assert_eq!(num(0.0102381, 7), "0.0102381");
    }
}
