//! The two export file formats, written row by row into a buffer.
//!
//! CSV (RFC 4180: comma-separated, CRLF line ends, a header row, fields
//! quoted when they hold a comma, quote or line break, quotes doubled) for
//! people and spreadsheets; NDJSON (one [`app::model::AuditEvent`] JSON object per line,
//! its `seq` included) for programs, exact where CSV has to flatten.
//!
//! Both write straight from the rows as the database sent them: text is
//! copied (escaped or quoted as the format needs), `changes` and `metadata`
//! are the JSON the database keeps, and ids, numbers and times are written
//! digit by digit, so a row costs no allocation.

use std::io::Write;

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::store::export::ExportedRow;

/// A file format an export can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Ndjson,
    /// One JSON array of the NDJSON objects: what opens in any JSON tool,
    /// and an entry's own export.
    Json,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<ExportFormat> {
        match s {
            "csv" => Some(ExportFormat::Csv),
            "ndjson" => Some(ExportFormat::Ndjson),
            "json" => Some(ExportFormat::Json),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Ndjson => "ndjson",
            ExportFormat::Json => "json",
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
            ExportFormat::Json => "application/json",
        }
    }

    /// What opens the file: the CSV header row, the JSON array's bracket;
    /// nothing for NDJSON.
    pub fn preamble(self) -> &'static [u8] {
        match self {
            ExportFormat::Csv => CSV_HEADER.as_bytes(),
            ExportFormat::Ndjson => b"",
            ExportFormat::Json => b"[\n",
        }
    }

    /// What closes a complete file: the JSON array's bracket, so a file cut
    /// short is not valid JSON.
    pub fn epilogue(self) -> &'static [u8] {
        match self {
            ExportFormat::Json => b"]\n",
            _ => b"",
        }
    }

    /// Appends one event to `out`; `first` says whether it opens the file.
    pub fn write(self, out: &mut Vec<u8>, row: &ExportedRow<'_>, first: bool) {
        match self {
            ExportFormat::Csv => write_csv(out, row),
            ExportFormat::Ndjson => write_ndjson(out, row),
            ExportFormat::Json => {
                if !first {
                    out.push(b',');
                }
                write_ndjson(out, row);
            }
        }
    }
}

/// The CSV columns, in order. Every id in full; times in RFC 3339, UTC, to
/// the microsecond (what the store keeps), so they sort as text.
pub const CSV_COLUMNS: [&str; 24] = [
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
    "category",
    "priority",
];

const CSV_HEADER: &str = "id,seq,org_id,occurred_at,received_at,action,actor_kind,actor_id,actor_name,\
                          actor_email,actor_avatar,entity_type,entity_id,entity_name,entity_deleted,ip,\
                          country,user_agent,session_id,request_id,changes,metadata,category,priority\r\n";

fn write_csv(out: &mut Vec<u8>, e: &ExportedRow<'_>) {
    write_uuid(out, e.id);
    out.push(b',');
    if let Some(seq) = e.seq {
        let _ = write!(out, "{seq}");
    }
    out.push(b',');
    write_uuid(out, e.org_id);
    out.push(b',');
    write_time(out, e.occurred_at);
    out.push(b',');
    write_time(out, e.received_at);
    let actor_and_entity = [
        Some(e.action),
        Some(e.actor_kind),
        Some(e.actor_id),
        Some(e.actor_name),
        e.actor_email,
        e.actor_avatar,
        Some(e.entity_type),
        Some(e.entity_id),
        e.entity_name,
    ];
    for cell in actor_and_entity {
        out.push(b',');
        write_cell(out, cell.unwrap_or(""));
    }
    out.extend_from_slice(if e.entity_deleted { b",true" } else { b",false" });
    let context_and_data = [
        e.ip,
        e.country,
        e.user_agent,
        e.session_id,
        e.request_id,
        e.changes,
        Some(e.metadata),
        Some(e.category),
        Some(e.priority),
    ];
    for cell in context_and_data {
        out.push(b',');
        write_cell(out, cell.unwrap_or(""));
    }
    out.extend_from_slice(b"\r\n");
}

/// A UUID in its hyphenated lower-case form.
fn write_uuid(out: &mut Vec<u8>, id: uuid::Uuid) {
    let mut buf = uuid::Uuid::encode_buffer();
    out.extend_from_slice(id.hyphenated().encode_lower(&mut buf).as_bytes());
}

/// RFC 3339 in UTC to the microsecond (what the store keeps), e.g.
/// `2026-01-15T09:00:00.123456Z`: fixed width, so the file sorts as text.
fn write_time(out: &mut Vec<u8>, t: DateTime<Utc>) {
    let digits = |out: &mut Vec<u8>, n: u32, width: usize| {
        let mut buf = [b'0'; 10];
        let mut n = n;
        for slot in buf[..width].iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
        out.extend_from_slice(&buf[..width]);
    };
    let year = t.year();
    if (0..=9999).contains(&year) {
        digits(out, year as u32, 4);
    } else {
        // Outside what RFC 3339 spells; chrono's own form keeps it readable.
        let _ = write!(out, "{year:+05}");
    }
    out.push(b'-');
    digits(out, t.month(), 2);
    out.push(b'-');
    digits(out, t.day(), 2);
    out.push(b'T');
    digits(out, t.hour(), 2);
    out.push(b':');
    digits(out, t.minute(), 2);
    out.push(b':');
    digits(out, t.second(), 2);
    out.push(b'.');
    // A leap second's nanoseconds run past a billion; the store keeps none.
    digits(out, (t.nanosecond() / 1_000).min(999_999), 6);
    out.push(b'Z');
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
    let quote = needs_quotes(value);
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

/// Whether the cell must be quoted: it holds a comma, quote or line break
/// (RFC 4180), or a separator another reader might split on (`;`, tab,
/// `|`) followed, after spaces, by a formula trigger, e.g.
/// `a;=cmd|' /C calc'!A0`. One pass over the bytes (each of these is ASCII,
/// so a byte match is a character match).
fn needs_quotes(value: &str) -> bool {
    value.bytes().enumerate().any(|(i, b)| match b {
        b',' | b'"' | b'\r' | b'\n' => true,
        // At the very start a trigger is `starts_formula`'s to handle.
        b';' | b'\t' | b'|' => i > 0 && value.get(i + 1..).is_some_and(formula_follows),
        _ => false,
    })
}

/// Whether `rest` starts, after spaces, with a formula trigger (other than
/// the tab and carriage return that only count at the start of a cell).
fn formula_follows(rest: &str) -> bool {
    rest.trim_start_matches([' ', '\u{a0}'])
        .starts_with(|c: char| c != '\t' && c != '\r' && is_formula_trigger(c))
}

/// One line: the event as [`app::model::AuditEvent`] serialises it (the
/// same keys, in the same order, absent where the model leaves them out),
/// with `changes` and `metadata` as the JSON text the database keeps.
fn write_ndjson(out: &mut Vec<u8>, e: &ExportedRow<'_>) {
    out.extend_from_slice(b"{\"id\":\"");
    write_uuid(out, e.id);
    out.extend_from_slice(b"\",\"org_id\":\"");
    write_uuid(out, e.org_id);
    let _ = write!(out, "\",\"seq\":{},\"occurred_at\":\"", e.seq.unwrap_or(0));
    write_time(out, e.occurred_at);
    out.extend_from_slice(b"\",\"received_at\":\"");
    write_time(out, e.received_at);
    out.extend_from_slice(b"\",\"actor\":{");
    field(out, "kind", e.actor_kind, false);
    field(out, "id", e.actor_id, true);
    field(out, "name", e.actor_name, true);
    optional(out, "email", e.actor_email);
    optional(out, "avatar", e.actor_avatar);
    out.extend_from_slice(b"},");
    field(out, "action", e.action, false);
    out.extend_from_slice(b",\"entity\":{");
    field(out, "type", e.entity_type, false);
    field(out, "id", e.entity_id, true);
    optional(out, "name", e.entity_name);
    if e.entity_deleted {
        out.extend_from_slice(b",\"deleted\":true");
    }
    out.push(b'}');
    if let Some(changes) = e.changes {
        out.extend_from_slice(b",\"changes\":");
        out.extend_from_slice(changes.as_bytes());
    }
    out.extend_from_slice(b",\"context\":{");
    let mut first = true;
    for (name, value) in [
        ("ip", e.ip),
        ("user_agent", e.user_agent),
        ("session_id", e.session_id),
        ("request_id", e.request_id),
        ("country", e.country),
    ] {
        if let Some(value) = value {
            field(out, name, value, !first);
            first = false;
        }
    }
    out.extend_from_slice(b"},\"metadata\":");
    out.extend_from_slice(e.metadata.as_bytes());
    out.push(b',');
    field(out, "category", e.category, false);
    out.push(b',');
    field(out, "priority", e.priority, false);
    out.extend_from_slice(b"}\n");
}

/// `"name":"value"`, the value escaped as JSON, after a comma if `comma`.
fn field(out: &mut Vec<u8>, name: &str, value: &str, comma: bool) {
    if comma {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

fn optional(out: &mut Vec<u8>, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        field(out, name, value, true);
    }
}

#[cfg(test)]
mod tests;
