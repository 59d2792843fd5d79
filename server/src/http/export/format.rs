//! The two export file formats, written row by row into a buffer.
//!
//! CSV (RFC 4180: comma-separated, CRLF line ends, a header row, fields
//! quoted when they hold a comma, quote or line break, quotes doubled) for
//! people and spreadsheets; NDJSON (one [`app::model::AuditEvent`] JSON object per line,
//! its `seq` included) for programs, exact where CSV has to flatten.

use chrono::SecondsFormat;

use crate::store::export::ExportedEvent;

/// A file format an export can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Ndjson,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<ExportFormat> {
        match s {
            "csv" => Some(ExportFormat::Csv),
            "ndjson" => Some(ExportFormat::Ndjson),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Ndjson => "ndjson",
        }
    }

    /// The file name extension, same as the query value.
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    pub fn content_type(self) -> &'static str {
        match self {
            // `header=present` (RFC 4180 §3) tells a reader the first line
            // names the columns.
            ExportFormat::Csv => "text/csv; charset=utf-8; header=present",
            ExportFormat::Ndjson => "application/x-ndjson",
        }
    }

    /// What opens the file: the CSV header row; nothing for NDJSON.
    pub fn preamble(self) -> &'static [u8] {
        match self {
            ExportFormat::Csv => CSV_HEADER.as_bytes(),
            ExportFormat::Ndjson => b"",
        }
    }

    /// Appends one event to `out`.
    pub fn write(self, out: &mut Vec<u8>, row: &ExportedEvent) {
        match self {
            ExportFormat::Csv => write_csv(out, row),
            ExportFormat::Ndjson => write_ndjson(out, row),
        }
    }
}

/// The CSV columns, in order. Every id in full; times in RFC 3339, UTC, to
/// the microsecond (what the store keeps), so they sort as text.
pub const CSV_COLUMNS: [&str; 22] = [
    "id",
    "seq",
    "org_id",
    "occurred_at",
    "received_at",
    "action",
    "actor_kind",
    "actor_id",
    "actor_name",
    "actor_email",
    "actor_avatar",
    "entity_type",
    "entity_id",
    "entity_name",
    "entity_deleted",
    "ip",
    "country",
    "user_agent",
    "session_id",
    "request_id",
    "changes",
    "metadata",
];

const CSV_HEADER: &str = "id,seq,org_id,occurred_at,received_at,action,actor_kind,actor_id,actor_name,\
                          actor_email,actor_avatar,entity_type,entity_id,entity_name,entity_deleted,ip,\
                          country,user_agent,session_id,request_id,changes,metadata\r\n";

fn write_csv(out: &mut Vec<u8>, row: &ExportedEvent) {
    let e = &row.event;
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let changes =
        e.changes.as_ref().map(|c| serde_json::to_string(c).unwrap_or_default()).unwrap_or_default();
    let metadata = if e.metadata.is_null() { String::new() } else { e.metadata.to_string() };
    let cells: [String; 22] = [
        e.id.to_string(),
        row.seq.map(|s| s.to_string()).unwrap_or_default(),
        e.org_id.to_string(),
        time(e.occurred_at),
        time(e.received_at),
        e.action.clone(),
        e.actor.kind.as_str().to_string(),
        e.actor.id.clone(),
        e.actor.name.clone(),
        opt(&e.actor.email),
        opt(&e.actor.avatar),
        e.entity.entity_type.clone(),
        e.entity.id.clone(),
        opt(&e.entity.name),
        e.entity.deleted.to_string(),
        opt(&e.context.ip),
        opt(&e.context.country),
        opt(&e.context.user_agent),
        opt(&e.context.session_id),
        opt(&e.context.request_id),
        changes,
        metadata,
    ];
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_cell(out, cell);
    }
    out.extend_from_slice(b"\r\n");
}

/// One CSV field: neutralised against formula injection, then quoted when
/// RFC 4180 requires it (or when quoting is what keeps a formula out).
pub fn write_cell(out: &mut Vec<u8>, value: &str) {
    let neutralise = starts_formula(value);
    // A cell is quoted when RFC 4180 needs it, and also when a separator
    // some reader might split on (`;` in many European spreadsheets, tab,
    // `|`) is followed by a formula: quoted, the reader keeps the cell
    // whole whatever its separator, so the formula never starts a cell of
    // its own. Its text is kept as sent; only a leading formula gets the
    // apostrophe, which is all a spreadsheet reads as "this is text".
    let quote = value.contains([',', '"', '\r', '\n']) || separator_then_formula(value);
    if quote {
        out.push(b'"');
    }
    if neutralise {
        out.push(b'\'');
    }
    if quote {
        for part in value.split_inclusive('"') {
            out.extend_from_slice(part.as_bytes());
            if part.ends_with('"') {
                out.push(b'"');
            }
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(value.as_bytes());
    }
}

/// What makes a spreadsheet read a cell as a formula (OWASP "CSV
/// Injection"): = + - @, and tab or carriage return, which some strip
/// before looking. The full-width forms are included because East Asian
/// input methods type them and some spreadsheets fold them to ASCII.
fn is_formula_trigger(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r' | '\u{FF1D}' | '\u{FF0B}' | '\u{FF0D}' | '\u{FF20}')
}

/// Whether the cell starts a formula, also after leading spaces or line
/// breaks, which spreadsheets skip when they import with trimming on.
fn starts_formula(value: &str) -> bool {
    value.starts_with(is_formula_trigger) || value.trim_start().starts_with(is_formula_trigger)
}

/// Whether a separator or line break inside the cell is followed (after
/// spaces) by a formula trigger, e.g. `a;=cmd|' /C calc'!A0`.
fn separator_then_formula(value: &str) -> bool {
    // At the very start a trigger is `starts_formula`'s to handle.
    value.match_indices([',', ';', '\t', '|', '\r', '\n']).filter(|(i, _)| *i > 0).any(|(i, sep)| {
        value.get(i + sep.len()..).is_some_and(|rest| {
            rest.trim_start_matches([' ', '\u{a0}'])
                .starts_with(|c: char| c != '\t' && c != '\r' && is_formula_trigger(c))
        })
    })
}

fn write_ndjson(out: &mut Vec<u8>, row: &ExportedEvent) {
    // Serialising a model of plain strings, numbers and JSON values into a
    // Vec cannot fail; should it ever, the line is left out rather than
    // half written.
    let start = out.len();
    // The event carries its chain position (`seq`) itself, so a line is the
    // timeline's model exactly as it serialises.
    if serde_json::to_writer(&mut *out, &row.event).is_err() {
        out.truncate(start);
        return;
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::AuditEvent;

    fn cell(v: &str) -> String {
        let mut out = Vec::new();
        write_cell(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_cells_are_written_as_they_are() {
        assert_eq!(cell("invoice.update"), "invoice.update");
        assert_eq!(cell(""), "");
        assert_eq!(cell("Zoë Ångström"), "Zoë Ångström");
        assert_eq!(cell("2001:db8::1"), "2001:db8::1");
        assert_eq!(cell("a=b+c-d@e"), "a=b+c-d@e", "only a leading sign is a formula");
    }

    #[test]
    fn rfc_4180_quoting() {
        assert_eq!(cell("Smith, Jane"), "\"Smith, Jane\"");
        assert_eq!(cell(r#"say "hi""#), r#""say ""hi""""#);
        assert_eq!(cell("\""), "\"\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("two\r\nlines"), "\"two\r\nlines\"");
        assert_eq!(cell(r#"{"a":1,"b":"x"}"#), r#""{""a"":1,""b"":""x""}""#);
    }

    #[test]
    fn formula_triggers_are_neutralised() {
        assert_eq!(cell("=1+2"), "'=1+2");
        assert_eq!(cell("+44 20 7946 0000"), "'+44 20 7946 0000");
        assert_eq!(cell("-2"), "'-2");
        assert_eq!(cell("@SUM(A1:A2)"), "'@SUM(A1:A2)");
        assert_eq!(cell("\t=1"), "'\t=1");
        assert_eq!(cell("\r=1"), "\"'\r=1\"");
        // After leading whitespace or line breaks, which trimming readers skip.
        assert_eq!(cell("  =1+1"), "'  =1+1");
        assert_eq!(cell("\u{a0}@SUM(A1)"), "'\u{a0}@SUM(A1)");
        assert_eq!(cell("\n=cmd|' /C calc'!A0"), "\"'\n=cmd|' /C calc'!A0\"");
        assert_eq!(cell("\r\n+1"), "\"'\r\n+1\"");
        assert_eq!(cell("\u{FF1D}1+1"), "'\u{FF1D}1+1");
        // Neutralised and quoted: the apostrophe goes inside the quotes.
        assert_eq!(
            cell(r#"=HYPERLINK("http://x.example","a, b")"#),
            r#""'=HYPERLINK(""http://x.example"",""a, b"")""#
        );
    }

    #[test]
    fn a_separator_before_a_formula_keeps_the_cell_whole() {
        // Quoted, so a reader splitting on `;`, tab or `|` still sees one cell
        // that starts with `a`, never one that starts with `=`.
        assert_eq!(cell("a;=1+1"), "\"a;=1+1\"");
        assert_eq!(cell("a; @SUM(A1)"), "\"a; @SUM(A1)\"");
        assert_eq!(cell("a\t=1"), "\"a\t=1\"");
        assert_eq!(cell("a|-2+3"), "\"a|-2+3\"");
        assert_eq!(cell("x,=1"), "\"x,=1\"");
        // Separators followed by anything else are plain text, as before.
        assert_eq!(cell("a;b"), "a;b");
        assert_eq!(cell("a|b c"), "a|b c");
        assert_eq!(cell("1;2;3"), "1;2;3");
        // Every such cell reads back exactly as sent.
        for value in ["a;=1+1", "  =1+1", "\n=cmd", "a\t=1", "x,=1"] {
            let mut out = Vec::new();
            write_cell(&mut out, value);
            let text = String::from_utf8(out).unwrap();
            let back = &parse_csv(&format!("{text}\r\n"))[0][0];
            let back = back.strip_prefix('\'').filter(|_| starts_formula(value)).unwrap_or(back);
            assert_eq!(back, value, "{text:?}");
        }
    }

    /// A strict RFC 4180 reader, independent of the writer under test.
    fn parse_csv(text: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        let mut row = Vec::new();
        let mut field = String::new();
        let mut chars = text.chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') if field.is_empty() => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut field)),
                (false, '\r') if chars.peek() == Some(&'\n') => {
                    chars.next();
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                (false, c) => field.push(c),
            }
        }
        assert!(!quoted && field.is_empty() && row.is_empty(), "the text ends with a complete row");
        rows
    }

    fn sample() -> ExportedEvent {
        use app::model::{Actor, ActorKind, Changes, EntityRef, EventContext};
        let at = "2026-01-15T09:00:00.123456Z".parse().unwrap();
        ExportedEvent {
            seq: Some(42),
            event: AuditEvent {
                seq: 42,
                id: uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
                org_id: uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a1),
                occurred_at: at,
                received_at: at,
                actor: Actor {
                    kind: ActorKind::User,
                    id: "usr_1".into(),
                    name: "=cmd|' /C calc'!A0".into(),
                    email: Some("alice@example.com".into()),
                    avatar: None,
                },
                action: "invoice.update".into(),
                entity: EntityRef {
                    entity_type: "invoice".into(),
                    id: "inv_1".into(),
                    name: Some("INV-1, \"draft\"\nsecond line".into()),
                    deleted: true,
                },
                changes: Some(Changes::Initial(
                    serde_json::from_str(r#"{"total": "-5", "note": "a,b"}"#).unwrap(),
                )),
                context: EventContext { ip: Some("203.0.113.7".into()), ..Default::default() },
                metadata: serde_json::json!({"plan": "pro"}),
            },
        }
    }

    #[test]
    fn a_csv_row_reads_back_column_by_column() {
        let mut out = ExportFormat::Csv.preamble().to_vec();
        ExportFormat::Csv.write(&mut out, &sample());
        let rows = parse_csv(std::str::from_utf8(&out).unwrap());
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0], CSV_COLUMNS);
        let row: std::collections::HashMap<&str, &str> =
            CSV_COLUMNS.iter().copied().zip(rows[1].iter().map(String::as_str)).collect();
        assert_eq!(row["id"], "01900000-0000-7000-8000-000000000001");
        assert_eq!(row["seq"], "42");
        assert_eq!(row["occurred_at"], "2026-01-15T09:00:00.123456Z");
        assert_eq!(row["actor_name"], "'=cmd|' /C calc'!A0");
        assert_eq!(row["actor_avatar"], "");
        assert_eq!(row["entity_name"], "INV-1, \"draft\"\nsecond line");
        assert_eq!(row["entity_deleted"], "true");
        let changes: serde_json::Value = serde_json::from_str(row["changes"]).unwrap();
        assert_eq!(changes["initial"]["total"], "-5");
        assert_eq!(row["metadata"], r#"{"plan":"pro"}"#);
    }

    #[test]
    fn an_ndjson_line_is_the_event_and_its_seq() {
        let mut out = Vec::new();
        ExportFormat::Ndjson.write(&mut out, &sample());
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with('\n') && text.matches('\n').count() == 1, "one line: {text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["seq"], 42);
        assert_eq!(text.matches("\"seq\"").count(), 1, "seq is written once: {text}");
        let back: AuditEvent = serde_json::from_value(value).unwrap();
        assert_eq!(back, sample().event, "exact, unlike CSV: no neutralising");
    }
}
