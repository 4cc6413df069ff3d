//! A recording's labelled segments in the formats annotation tools read: Praat TextGrid, ELAN
//! `.eaf` and Audacity label tracks (besides valar's own CSV). Each format gets two tiers,
//! `activation` and `valence`, with one interval per segment (one for the whole file without
//! `--segment`) whose text is the label and its calibrated score (`high 0.91`, `negative 0.34`),
//! `no speech` where the audio holds none, and nothing where it could not be analysed.

use std::fmt::Write as _;
use std::path::Path;

use crate::classify::label::{LabelRow, NO_SPEECH};

/// What `valar label` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportFormat {
    /// valar's CSV: one row per file or segment, all recordings in one table.
    #[default]
    Csv,
    /// Praat TextGrid (long text format), interval tiers `activation` and `valence`.
    Textgrid,
    /// ELAN annotation document (EAF 3.0), tiers `activation` and `valence`, times in ms.
    Eaf,
    /// Audacity label track: start, end and label, tab-separated, one line per segment.
    Audacity,
}

impl crate::choice::Choice for ExportFormat {
    const WHAT: &'static str = "format";
    const ALL: &'static [(&'static str, Self)] =
        &[("csv", Self::Csv), ("textgrid", Self::Textgrid), ("eaf", Self::Eaf), ("audacity", Self::Audacity)];
}
crate::choice_traits!(ExportFormat);

impl ExportFormat {
    /// The file extension of one recording's export.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Textgrid => "TextGrid",
            Self::Eaf => "eaf",
            Self::Audacity => "txt",
        }
    }
}

/// One interval of a tier.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub start: f64,
    pub end: f64,
    pub text: String,
}

/// The `activation` and `valence` tiers of one recording's rows, in time order, covering
/// 0..duration without gaps.
pub fn tiers(rows: &[LabelRow]) -> [Vec<Interval>; 2] {
    let mut act = Vec::with_capacity(rows.len());
    let mut val = Vec::with_capacity(rows.len());
    let mut t = 0.0;
    for r in rows {
        let (start, end) = r.window.unwrap_or((t, t + r.duration_s));
        if end <= start {
            continue;
        }
        let (a, v) = match (&r.prediction, r.no_speech) {
            (Some(p), _) => (
                format!("{} {:.2}", if p.activation_high { "high" } else { "low" }, p.activation_score),
                format!("{} {:.2}", if p.valence_positive { "positive" } else { "negative" }, p.valence_score),
            ),
            (None, true) => (NO_SPEECH.to_string(), NO_SPEECH.to_string()),
            (None, false) => (String::new(), String::new()),
        };
        act.push(Interval { start, end, text: a });
        val.push(Interval { start, end, text: v });
        t = end;
    }
    [act, val]
}

const TIER_NAMES: [&str; 2] = ["activation", "valence"];

/// One recording's export in `format` (`audio` names the recording, for EAF's media link).
/// `None` for [`ExportFormat::Csv`], which the label job writes as one table.
pub fn render(format: ExportFormat, rows: &[LabelRow], audio: &Path) -> Option<String> {
    let tiers = tiers(rows);
    match format {
        ExportFormat::Csv => None,
        ExportFormat::Textgrid => Some(textgrid(&tiers)),
        ExportFormat::Eaf => Some(eaf(&tiers, audio)),
        ExportFormat::Audacity => Some(audacity(&tiers)),
    }
}

fn end_of(tiers: &[Vec<Interval>; 2]) -> f64 {
    tiers[0].last().map_or(0.0, |i| i.end)
}

/// Praat's long text format. Times are written with enough digits to round-trip.
fn textgrid(tiers: &[Vec<Interval>; 2]) -> String {
    let quote = |s: &str| s.replace('"', "\"\"");
    let xmax = end_of(tiers);
    let mut s = String::new();
    let _ = writeln!(s, "File type = \"ooTextFile\"\nObject class = \"TextGrid\"\n");
    let _ = writeln!(s, "xmin = 0\nxmax = {xmax}\ntiers? <exists>\nsize = 2\nitem []:");
    for (k, (name, tier)) in TIER_NAMES.iter().zip(tiers).enumerate() {
        let _ = writeln!(s, "    item [{}]:", k + 1);
        let _ = writeln!(s, "        class = \"IntervalTier\"\n        name = \"{name}\"\n        xmin = 0\n        xmax = {xmax}");
        let _ = writeln!(s, "        intervals: size = {}", tier.len());
        for (i, iv) in tier.iter().enumerate() {
            let _ = writeln!(s, "        intervals [{}]:", i + 1);
            let _ =
                writeln!(s, "            xmin = {}\n            xmax = {}\n            text = \"{}\"", iv.start, iv.end, quote(&iv.text));
        }
    }
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// ELAN's EAF 3.0: one time slot per segment boundary (shared by both tiers), in ms.
fn eaf(tiers: &[Vec<Interval>; 2], audio: &Path) -> String {
    let ms = |t: f64| (t * 1000.0).round() as i64;
    let mut bounds: Vec<i64> = tiers[0].iter().flat_map(|i| [ms(i.start), ms(i.end)]).collect();
    bounds.sort_unstable();
    bounds.dedup();
    let slot = |t: f64| bounds.binary_search(&ms(t)).map_or(0, |i| i + 1);
    let name = audio.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let url = std::path::absolute(audio).map(|p| format!("file://{}", p.display())).unwrap_or_else(|_| name.clone());
    let mime = if name.to_lowercase().ends_with(".wav") { "audio/x-wav" } else { "audio/*" };
    let mut s = String::new();
    let _ = writeln!(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(
        s,
        "<ANNOTATION_DOCUMENT AUTHOR=\"valar\" DATE=\"{}\" FORMAT=\"3.0\" VERSION=\"3.0\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:noNamespaceSchemaLocation=\"http://www.mpi.nl/tools/elan/EAFv3.0.xsd\">",
        super::now_iso()
    );
    let _ = writeln!(s, "    <HEADER MEDIA_FILE=\"\" TIME_UNITS=\"milliseconds\">");
    let _ = writeln!(
        s,
        "        <MEDIA_DESCRIPTOR MEDIA_URL=\"{}\" MIME_TYPE=\"{mime}\" RELATIVE_MEDIA_URL=\"./{}\"/>",
        xml_escape(&url),
        xml_escape(&name)
    );
    let _ = writeln!(s, "    </HEADER>\n    <TIME_ORDER>");
    for (i, t) in bounds.iter().enumerate() {
        let _ = writeln!(s, "        <TIME_SLOT TIME_SLOT_ID=\"ts{}\" TIME_VALUE=\"{t}\"/>", i + 1);
    }
    let _ = writeln!(s, "    </TIME_ORDER>");
    let mut id = 0;
    for (name, tier) in TIER_NAMES.iter().zip(tiers) {
        let _ = writeln!(s, "    <TIER LINGUISTIC_TYPE_REF=\"default-lt\" TIER_ID=\"{name}\">");
        for iv in tier.iter().filter(|iv| ms(iv.end) > ms(iv.start)) {
            id += 1;
            let _ = writeln!(
                s,
                "        <ANNOTATION>\n            <ALIGNABLE_ANNOTATION ANNOTATION_ID=\"a{id}\" TIME_SLOT_REF1=\"ts{}\" TIME_SLOT_REF2=\"ts{}\">\n                <ANNOTATION_VALUE>{}</ANNOTATION_VALUE>\n            </ALIGNABLE_ANNOTATION>\n        </ANNOTATION>",
                slot(iv.start),
                slot(iv.end),
                xml_escape(&iv.text)
            );
        }
        let _ = writeln!(s, "    </TIER>");
    }
    let _ = writeln!(s, "    <LINGUISTIC_TYPE GRAPHIC_REFERENCES=\"false\" LINGUISTIC_TYPE_ID=\"default-lt\" TIME_ALIGNABLE=\"true\"/>");
    let _ = writeln!(s, "</ANNOTATION_DOCUMENT>");
    s
}

/// Audacity's label track: `start<TAB>end<TAB>label`, seconds with six decimals; one track holds
/// both tasks, so the label is `activation, valence` (e.g. `high 0.91, negative 0.34`).
fn audacity(tiers: &[Vec<Interval>; 2]) -> String {
    let mut s = String::new();
    for (a, v) in tiers[0].iter().zip(&tiers[1]) {
        let label = if a.text == v.text { a.text.clone() } else { format!("{}, {}", a.text, v.text) };
        let _ = writeln!(s, "{:.6}\t{:.6}\t{}", a.start, a.end, label.replace(['\t', '\n'], " "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::pipeline::Prediction;

    fn row(a: f64, b: f64, p: Option<(bool, f64, bool, f64)>, no_speech: bool) -> LabelRow {
        LabelRow {
            window: Some((a, b)),
            duration_s: b - a,
            prediction: p.map(|(h, hs, v, vs)| Prediction {
                activation_high: h,
                activation_score: hs,
                valence_positive: v,
                valence_score: vs,
            }),
            voiced_ratio: 0.5,
            error: no_speech.then(|| NO_SPEECH.to_string()),
            functionals: None,
            no_speech,
        }
    }

    fn rows() -> Vec<LabelRow> {
        vec![
            row(0.0, 2.0, Some((true, 0.913, false, 0.341)), false),
            row(2.0, 4.0, None, true),
            row(4.0, 4.25, Some((false, 0.2, true, 0.8)), false),
        ]
    }

    #[test]
    fn tiers_tile_the_recording_with_label_and_score() {
        let [a, v] = tiers(&rows());
        assert_eq!(a.iter().map(|i| i.text.as_str()).collect::<Vec<_>>(), ["high 0.91", "no speech", "low 0.20"]);
        assert_eq!(v[0].text, "negative 0.34");
        assert_eq!((a[2].start, a[2].end), (4.0, 4.25));
    }

    #[test]
    fn audacity_lines_are_tab_separated_seconds() {
        let s = render(ExportFormat::Audacity, &rows(), Path::new("x.wav")).unwrap();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "0.000000\t2.000000\thigh 0.91, negative 0.34");
        assert_eq!(lines[1], "2.000000\t4.000000\tno speech");
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn eaf_shares_time_slots_in_milliseconds() {
        let s = render(ExportFormat::Eaf, &rows(), Path::new("x.wav")).unwrap();
        assert_eq!(s.matches("<TIME_SLOT ").count(), 4, "{s}");
        assert!(s.contains("TIME_VALUE=\"4250\""));
        assert_eq!(s.matches("<ALIGNABLE_ANNOTATION ").count(), 6);
        assert!(s.contains("<ANNOTATION_VALUE>high 0.91</ANNOTATION_VALUE>"));
    }

    #[test]
    fn textgrid_counts_intervals_per_tier() {
        let s = render(ExportFormat::Textgrid, &rows(), Path::new("x.wav")).unwrap();
        assert_eq!(s.matches("intervals: size = 3").count(), 2);
        assert!(s.contains("xmax = 4.25\ntiers? <exists>"));
        assert!(render(ExportFormat::Csv, &rows(), Path::new("x.wav")).is_none());
    }
}
