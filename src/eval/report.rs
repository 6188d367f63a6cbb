//! The evaluation report: `medbridge eval` results (one JSON file per evaluation set × system)
//! gathered into a per-set table (Markdown) and a grouped bar chart (SVG).
//!
//! Each result file is what `medbridge eval --set NAME --system NAME --out FILE` writes: the
//! labels say which row of the table it is, `metrics` holds the numbers. Sets and systems keep
//! the order in which they first appear in the input, so the caller decides the layout.
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::eval::Metrics;
use crate::{Error, Result};

/// One evaluation: a query set against a pool, by one system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportEntry {
    pub set: String,
    pub system: String,
    pub metrics: Metrics,
    /// The result file it came from.
    pub source: PathBuf,
}

/// A table column: its title and how to read it from the metrics.
type Column = (&'static str, fn(&Metrics) -> f64);

/// The metrics the table shows.
const COLUMNS: [Column; 6] = [
    ("MRR@10", |m| m.mrr_at_10),
    ("R@1", |m| m.recall_at_1),
    ("R@3", |m| m.recall_at_3),
    ("R@5", |m| m.recall_at_5),
    ("R@10", |m| m.recall_at_10),
    ("MAP@10", |m| m.map_at_10),
];

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub entries: Vec<ReportEntry>,
}

impl Report {
    /// Read result files in the given order; a file without `set`/`system` labels or `metrics`
    /// is an error naming the file and the missing field, as is a (set, system) pair seen twice.
    pub fn load(paths: &[PathBuf]) -> Result<Report> {
        let mut report = Report::default();
        for p in paths {
            let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
            let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| Error::parse(p, e.line(), e.to_string()))?;
            let label = |k: &str| -> Result<String> {
                v.get(k).and_then(|s| s.as_str()).map(str::to_string).ok_or_else(|| {
                    Error::Format(format!(
                        "{}: no \"{k}\" label (write results with `medbridge eval --set NAME --system NAME`)",
                        p.display()
                    ))
                })
            };
            let metrics: Metrics = serde_json::from_value(v.get("metrics").cloned().unwrap_or_default())
                .map_err(|e| Error::Format(format!("{}: field \"metrics\": {e}", p.display())))?;
            report.push(ReportEntry { set: label("set")?, system: label("system")?, metrics, source: p.clone() })?;
        }
        Ok(report)
    }

    pub fn push(&mut self, e: ReportEntry) -> Result<()> {
        if let Some(old) = self.entries.iter().find(|o| o.set == e.set && o.system == e.system) {
            return Err(Error::Format(format!(
                "{} and {} are both results of {:?} on {:?}: remove one",
                old.source.display(),
                e.source.display(),
                e.system,
                e.set
            )));
        }
        self.entries.push(e);
        Ok(())
    }

    /// Sets in order of first appearance.
    pub fn sets(&self) -> Vec<&str> {
        first_seen(self.entries.iter().map(|e| e.set.as_str()))
    }

    /// Systems in order of first appearance.
    pub fn systems(&self) -> Vec<&str> {
        first_seen(self.entries.iter().map(|e| e.system.as_str()))
    }

    pub fn get(&self, set: &str, system: &str) -> Option<&Metrics> {
        self.entries.iter().find(|e| e.set == set && e.system == system).map(|e| &e.metrics)
    }

    /// Markdown: a summary (MRR@10 and R@5, set × system) then the full table, numbers ×100;
    /// the best value of each set and column is bold.
    pub fn markdown(&self) -> String {
        let (sets, systems) = (self.sets(), self.systems());
        let mut s = String::new();
        let pct = |x: f64| format!("{:.2}", 100.0 * x);
        for (title, col) in [("MRR@10", 0usize), ("R@5", 3)] {
            let _ = writeln!(s, "### {title} (×100)\n");
            let _ = writeln!(s, "| set | {} |", systems.join(" | "));
            let _ = writeln!(s, "|---|{}", "---:|".repeat(systems.len()));
            for set in &sets {
                let vals: Vec<Option<f64>> = systems.iter().map(|sy| self.get(set, sy).map(|m| COLUMNS[col].1(m))).collect();
                let best = vals.iter().flatten().cloned().fold(f64::NEG_INFINITY, f64::max);
                let cells: Vec<String> = vals.iter().map(|v| v.map_or("–".into(), |x| bold_if(pct(x), x == best))).collect();
                let _ = writeln!(s, "| {set} | {} |", cells.join(" | "));
            }
            s.push('\n');
        }
        let _ = writeln!(s, "### All metrics (×100)\n");
        let _ = writeln!(s, "| set | system | queries | {} |", COLUMNS.iter().map(|c| c.0).collect::<Vec<_>>().join(" | "));
        let _ = writeln!(s, "|---|---|---:|{}", "---:|".repeat(COLUMNS.len()));
        for set in &sets {
            let rows: Vec<(&str, &Metrics)> = systems.iter().filter_map(|sy| self.get(set, sy).map(|m| (*sy, m))).collect();
            let best: Vec<f64> = COLUMNS.iter().map(|c| rows.iter().map(|r| c.1(r.1)).fold(f64::NEG_INFINITY, f64::max)).collect();
            for (i, (sy, m)) in rows.iter().enumerate() {
                let cells: Vec<String> = COLUMNS.iter().zip(&best).map(|(c, &b)| bold_if(pct(c.1(m)), c.1(m) == b)).collect();
                let _ = writeln!(s, "| {} | {sy} | {} | {} |", if i == 0 { set } else { "" }, m.queries, cells.join(" | "));
            }
        }
        s
    }

    /// A grouped bar chart, one panel per metric in `metrics` (indices into the table's columns:
    /// 0 = MRR@10, 3 = R@5), a group per set and a bar per system.
    pub fn svg(&self, metrics: &[usize]) -> String {
        let (sets, systems) = (self.sets(), self.systems());
        const PALETTE: [&str; 8] = ["#9aa5b1", "#e0a458", "#3d7ab8", "#2a9d5c", "#b5476b", "#6c5b9e", "#c97b2a", "#444"];
        const CHAR_W: f64 = 6.2; // ~ width of a character at font-size 11
        let (bar_w, gap, panel_h, left) = (14.0, 18.0, 220.0, 48.0);
        let group_w = bar_w * systems.len() as f64 + gap;
        // set names hang below the bars at 35° to the right: room below and to the right
        let longest = sets.iter().map(|s| s.chars().count()).max().unwrap_or(0) as f64 * CHAR_W;
        let (label_h, label_w) = (longest * 0.574 + 20.0, longest * 0.819);
        let legend_h = 16.0 * systems.len() as f64 + 10.0;
        let legend_w = systems.iter().map(|s| s.chars().count()).max().unwrap_or(0) as f64 * CHAR_W + 30.0;
        let block_h = 24.0 + panel_h + label_h; // title, panel, set names
        let plot_w = left + group_w * sets.len() as f64;
        let width = (plot_w + (label_w - group_w / 2.0).max(20.0)).max(left + legend_w);
        let height = legend_h + block_h * metrics.len() as f64 + 10.0;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="11">"#
        );
        let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
        for (i, sy) in systems.iter().enumerate() {
            let y = 8.0 + 16.0 * i as f64;
            let _ = writeln!(s, r#"<rect x="{left}" y="{y:.1}" width="10" height="10" fill="{}"/>"#, PALETTE[i % PALETTE.len()]);
            let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}">{}</text>"#, left + 16.0, y + 9.0, xml(sy));
        }
        for (p, &col) in metrics.iter().enumerate() {
            let title_y = legend_h + p as f64 * block_h + 16.0;
            let base = title_y + 8.0 + panel_h;
            let _ = writeln!(s, r#"<text x="{left}" y="{title_y:.1}" font-weight="bold">{}</text>"#, COLUMNS[col].0);
            for tick in 0..=5 {
                let v = tick as f64 * 0.2;
                let y = base - v * panel_h;
                let _ = writeln!(s, r##"<line x1="{left}" x2="{plot_w:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/>"##);
                let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{v:.1}</text>"#, left - 4.0, y + 4.0);
            }
            for (g, set) in sets.iter().enumerate() {
                let gx = left + gap / 2.0 + g as f64 * group_w;
                for (i, sy) in systems.iter().enumerate() {
                    if let Some(m) = self.get(set, sy) {
                        let v = COLUMNS[col].1(m).clamp(0.0, 1.0);
                        let h = v * panel_h;
                        let _ = writeln!(
                            s,
                            r#"<rect x="{:.1}" y="{:.1}" width="{bar_w}" height="{h:.1}" fill="{}"><title>{} · {}: {} {:.2}</title></rect>"#,
                            gx + i as f64 * bar_w,
                            base - h,
                            PALETTE[i % PALETTE.len()],
                            xml(set),
                            xml(sy),
                            COLUMNS[col].0,
                            100.0 * v
                        );
                    }
                }
                let cx = gx + bar_w * systems.len() as f64 / 2.0;
                let ly = base + 12.0;
                let _ = writeln!(s, r#"<text x="{cx:.1}" y="{ly:.1}" transform="rotate(35 {cx:.1} {ly:.1})">{}</text>"#, xml(set));
            }
        }
        s.push_str("</svg>\n");
        s
    }

    /// Write report.md, report.svg and report.json into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        if self.entries.is_empty() {
            return Err(Error::Invalid("no results to report".into()));
        }
        let mut md = String::from("# MedBridge evaluation report\n\nMetrics ×100; bold = best of the row's set. Plot: report.svg.\n\n");
        md.push_str(&self.markdown());
        let files = [
            ("report.md", md.into_bytes()),
            ("report.svg", self.svg(&[0, 3]).into_bytes()),
            ("report.json", serde_json::to_vec_pretty(&self.entries).map_err(|e| Error::Format(e.to_string()))?),
        ];
        let mut written = vec![];
        for (name, bytes) in files {
            let p = dir.join(name);
            crate::io::write_atomic(&p, &bytes)?;
            written.push(p);
        }
        Ok(written)
    }
}

fn first_seen<'a>(it: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    it.filter(|s| seen.insert(*s)).collect()
}

fn bold_if(s: String, bold: bool) -> String {
    if bold {
        format!("**{s}**")
    } else {
        s
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(mrr: f64, r5: f64) -> Metrics {
        Metrics { queries: 10, mrr_at_10: mrr, recall_at_5: r5, ..Default::default() }
    }

    fn write(dir: &Path, name: &str, v: serde_json::Value) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
        p
    }

    #[test]
    fn table_keeps_input_order_and_marks_the_best() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            write(dir.path(), "a.json", serde_json::json!({"set": "CodiEsp", "system": "BM25", "metrics": m(0.05, 0.08)})),
            write(dir.path(), "b.json", serde_json::json!({"set": "CodiEsp", "system": "fine-tuned", "metrics": m(0.30, 0.40)})),
            write(dir.path(), "c.json", serde_json::json!({"set": "Casi es", "system": "BM25", "metrics": m(0.54, 0.66)})),
        ];
        let r = Report::load(&files).unwrap();
        assert_eq!(r.sets(), ["CodiEsp", "Casi es"]);
        assert_eq!(r.systems(), ["BM25", "fine-tuned"]);
        let md = r.markdown();
        assert!(md.contains("| CodiEsp | 5.00 | **30.00** |"), "{md}");
        assert!(md.contains("| Casi es | **54.00** | – |"), "{md}");
        let svg = r.svg(&[0, 3]);
        // 3 entries × 2 panels, bar height proportional to the value (panel 220 px)
        assert_eq!(svg.matches("<rect x=").count(), 2 + 6, "{svg}"); // legend + bars
        assert!(svg.contains(r#"width="14" height="66.0""#), "{svg}"); // 0.30 × 220
        assert!(svg.contains(r#"height="145.2""#), "{svg}"); // 0.66 × 220
        let written = r.write(&dir.path().join("out")).unwrap();
        assert_eq!(written.len(), 3);
        let back: Vec<ReportEntry> = serde_json::from_slice(&std::fs::read(&written[2]).unwrap()).unwrap();
        assert_eq!(back, r.entries);
    }

    #[test]
    fn bad_result_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let unlabeled = write(dir.path(), "old.json", serde_json::json!({"metrics": m(0.1, 0.2)}));
        let e = Report::load(std::slice::from_ref(&unlabeled)).unwrap_err().to_string();
        assert!(e.contains("old.json") && e.contains("\"set\""), "{e}");
        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, b"{\"set\": \"x\",\n oops").unwrap();
        let e = Report::load(&[broken]).unwrap_err().to_string();
        assert!(e.contains("broken.json:2"), "{e}");
        let bad_metrics = write(dir.path(), "bad.json", serde_json::json!({"set": "s", "system": "y", "metrics": {"queries": "ten"}}));
        let e = Report::load(&[bad_metrics]).unwrap_err().to_string();
        assert!(e.contains("bad.json") && e.contains("metrics"), "{e}");
        let a = write(dir.path(), "a.json", serde_json::json!({"set": "s", "system": "y", "metrics": m(0.1, 0.2)}));
        let b = write(dir.path(), "b.json", serde_json::json!({"set": "s", "system": "y", "metrics": m(0.1, 0.2)}));
        let e = Report::load(&[a, b]).unwrap_err().to_string();
        assert!(e.contains("a.json") && e.contains("b.json"), "{e}");
        assert!(Report::default().write(&dir.path().join("none")).is_err());
    }
}
