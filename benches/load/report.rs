//! The one results table: printed as text when the run ends and written as Markdown (to paste
//! into the README).

use std::fmt::Write as _;
use std::path::Path;

/// One line of the table. `None` prints as `—` (not measured, or not meaningful there).
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub scenario: String,
    pub rps: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub sql_per_request: Option<f64>,
    pub cpu_ms_per_request: Option<f64>,
    pub db_cpu_ms_per_request: Option<f64>,
    pub peak_rss_kib: Option<u64>,
    /// API requests/s divided by the raw-SQL baseline's.
    pub ratio_to_raw: Option<f64>,
    pub notes: String,
}

const HEADERS: [&str; 10] = [
    "scenario",
    "req/s",
    "p50 ms",
    "p99 ms",
    "SQL/req",
    "server CPU ms/req",
    "DB CPU ms/req",
    "peak RSS",
    "÷ raw SQL",
    "notes",
];

fn num(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(x) if !x.is_finite() => "—".into(),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}

pub fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

impl Row {
    fn cells(&self) -> [String; 10] {
        [
            self.scenario.clone(),
            num(self.rps),
            num(self.p50_ms),
            num(self.p99_ms),
            num(self.sql_per_request),
            num(self.cpu_ms_per_request),
            num(self.db_cpu_ms_per_request),
            self.peak_rss_kib.map(mib).unwrap_or_else(|| "—".into()),
            self.ratio_to_raw.map(|r| format!("{r:.2}")).unwrap_or_else(|| "—".into()),
            self.notes.clone(),
        ]
    }
}

/// Aligned columns for the terminal.
pub fn text(rows: &[Row]) -> String {
    let cells: Vec<[String; 10]> = rows.iter().map(Row::cells).collect();
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            let pad = w.saturating_sub(c.chars().count());
            // Text columns left-aligned, numbers right-aligned.
            if i == 0 || i == 9 {
                let _ = write!(s, "{c}{}  ", " ".repeat(pad));
            } else {
                let _ = write!(s, "{}{c}  ", " ".repeat(pad));
            }
        }
        s.trim_end().to_owned()
    };
    let mut out = line(&HEADERS.map(String::from));
    out.push('\n');
    out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
    for row in &cells {
        out.push('\n');
        out.push_str(&line(row));
    }
    out.push('\n');
    out
}

/// A Markdown table.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = format!("| {} |\n", HEADERS.join(" | "));
    let align: Vec<&str> = (0..HEADERS.len()).map(|i| if i == 0 || i == 9 { "---" } else { "---:" }).collect();
    out.push_str(&format!("| {} |\n", align.join(" | ")));
    for row in rows {
        let cells = row.cells().map(|c| c.replace('|', "\\|"));
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

pub fn write_markdown(path: &Path, preamble: &str, rows: &[Row]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, format!("{preamble}\n\n{}", markdown(rows)))
}
