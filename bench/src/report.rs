//! The benchmark report: tables printed as they are measured, then written
//! to a Markdown file with the machine and the targets.

use std::fmt::Write;

use super::stats::{Stats, fmt_ms, thousands};

/// One Markdown table.
pub struct Table {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// What the table measures and how, in a sentence or two.
    pub about: String,
}

impl Table {
    pub fn new(title: &str, about: &str, header: &[&str]) -> Table {
        Table {
            title: title.into(),
            about: about.into(),
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// A timing table: a label column, then median, p95, max and runs.
    pub fn timings(title: &str, about: &str, label: &str) -> Table {
        Table::new(title, about, &[label, "median ms", "p95 ms", "max ms", "runs"])
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn timing(&mut self, label: &str, s: Stats) {
        self.row(vec![label.into(), fmt_ms(s.median), fmt_ms(s.p95), fmt_ms(s.max), s.runs.to_string()]);
    }

    pub fn markdown(&self) -> String {
        let mut out = format!("## {}\n\n{}\n\n", self.title, self.about);
        let line = |cells: &[String]| {
            format!("| {} |\n", cells.iter().map(|c| c.replace('|', "\\|")).collect::<Vec<_>>().join(" | "))
        };
        out.push_str(&line(&self.header));
        out.push_str(&line(&self.header.iter().map(|_| "---".to_string()).collect::<Vec<_>>()));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

/// A target of the product and whether this run met it.
pub struct Target {
    pub measure: String,
    pub target: String,
    pub measured: String,
    pub met: bool,
}

#[derive(Default)]
pub struct Report {
    pub tables: Vec<Table>,
    pub targets: Vec<Target>,
}

impl Report {
    /// Keeps `table` and prints it right away, so a long run shows its
    /// figures as it goes.
    pub fn add(&mut self, table: Table) {
        println!("\n{}", table.markdown());
        self.tables.push(table);
    }

    pub fn target(&mut self, measure: &str, target: &str, measured: String, met: bool) {
        println!("target: {measure}: {measured} (target {target}) {}", if met { "met" } else { "NOT met" });
        self.targets.push(Target { measure: measure.into(), target: target.into(), measured, met });
    }

    fn targets_table(&self) -> Table {
        let mut table = Table::new(
            "Targets",
            "The product's targets for a 2-core machine at 10M events, against this run.",
            &["measure", "target", "this run", "met"],
        );
        for t in &self.targets {
            table.row(vec![
                t.measure.clone(),
                t.target.clone(),
                t.measured.clone(),
                if t.met { "yes" } else { "**no**" }.into(),
            ]);
        }
        table
    }

    /// The whole document: how it was made, on what, the targets, then
    /// every table.
    pub fn document(&self, command: &str, dataset: &str, machine: &str) -> String {
        let mut out = String::from("# Benchmarks\n\n");
        let _ = writeln!(
            out,
            "Written by `{command}` (see the README). Every figure below comes from that one run.\n"
        );
        let _ = writeln!(out, "- **Machine:** {machine}");
        let _ = writeln!(out, "- **Dataset:** {dataset}\n");
        out.push_str(&self.targets_table().markdown());
        for table in &self.tables {
            out.push('\n');
            out.push_str(&table.markdown());
        }
        out
    }
}

/// "2 CPUs (model), 24 GiB memory, Linux 6.x, PostgreSQL 16.x".
pub fn machine(postgres: &str) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split(':').nth(1)))
        .map(str::trim)
        .unwrap_or("unknown CPU");
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cpus} CPUs ({model}), {:.1} GiB memory, Linux {}, {postgres}",
        mem_kib as f64 / 1024.0 / 1024.0,
        kernel.trim()
    )
}

/// "1,234,567 rows/s".
pub fn per_second(count: u64, secs: f64) -> String {
    thousands((count as f64 / secs.max(1e-9)).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_markdown_with_escaped_cells() {
        let mut t = Table::timings("Paging", "First pages.", "query");
        t.timing("a|b", Stats { median: 1.0, p95: 2.5, max: 3.0, runs: 7 });
        let md = t.markdown();
        assert!(md.starts_with("## Paging\n\nFirst pages.\n\n"));
        assert!(
            md.contains("| query | median ms | p95 ms | max ms | runs |\n| --- | --- | --- | --- | --- |\n")
        );
        assert!(md.contains("| a\\|b | 1.00 | 2.50 | 3.00 | 7 |\n"));
    }

    #[test]
    fn the_document_lists_targets_first_and_marks_misses() {
        let mut r = Report::default();
        r.target("first page p95", "≤ 10 ms", "4.00 ms".into(), true);
        r.target("bundle", "≤ 150 KB", "615 KB".into(), false);
        r.tables.push(Table::new("Export", "x", &["format"]));
        let doc = r.document("audit-timeline-bench", "10 events", "a machine");
        let targets = doc.find("## Targets").unwrap();
        assert!(targets < doc.find("## Export").unwrap());
        assert!(doc.contains("| first page p95 | ≤ 10 ms | 4.00 ms | yes |"));
        assert!(doc.contains("| bundle | ≤ 150 KB | 615 KB | **no** |"));
    }
}
