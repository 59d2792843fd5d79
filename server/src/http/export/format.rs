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
    pub fn write(self, out: &mut Vec<u8>, row: &ExportedRow<'_>) {
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
    let context_and_data =
        [e.ip, e.country, e.user_agent, e.session_id, e.request_id, e.changes, Some(e.metadata)];
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

    /// Read back with the `csv` crate, independent of the writer under test.
    fn parse_csv(text: &str) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.expect("well-formed CSV").iter().map(str::to_string).collect())
            .collect()
    }

    fn sample() -> AuditEvent {
        use app::model::{Actor, ActorKind, Changes, EntityRef, EventContext};
        let at = "2026-01-15T09:00:00.123456Z".parse().unwrap();
        AuditEvent {
            seq: 42,
            id: uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
            org_id: uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a1),
            occurred_at: at,
            received_at: "2026-01-15T09:00:01Z".parse().unwrap(),
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
                name: Some("INV-1, \"draft\"\nsecond line \u{1F600}".into()),
                deleted: true,
            },
            changes: Some(Changes::Initial(
                serde_json::from_str(r#"{"total": "-5", "note": "a,b"}"#).unwrap(),
            )),
            context: EventContext { ip: Some("203.0.113.7".into()), ..Default::default() },
            metadata: serde_json::json!({"plan": "pro"}),
        }
    }

    /// An event with nothing optional: no email, context, changes or name.
    fn bare() -> AuditEvent {
        let mut e = sample();
        e.actor.email = None;
        e.entity.name = None;
        e.entity.deleted = false;
        e.changes = None;
        e.context = Default::default();
        e.metadata = serde_json::json!({});
        e
    }

    /// The row the database would send for `e`, its JSON spelled as jsonb
    /// prints it (spaces after separators, its own key order).
    fn with_row<T>(e: &AuditEvent, f: impl FnOnce(&ExportedRow<'_>) -> T) -> T {
        let jsonb = |v: &serde_json::Value| {
            serde_json::to_string(v).unwrap().replace("\",\"", "\", \"").replace("\":", "\": ")
        };
        let changes = e.changes.as_ref().map(|c| jsonb(&serde_json::to_value(c).unwrap()));
        let metadata = jsonb(&e.metadata);
        let row = ExportedRow {
            id: e.id,
            org_id: e.org_id,
            seq: Some(e.seq),
            occurred_at: e.occurred_at,
            received_at: e.received_at,
            actor_kind: e.actor.kind.as_str(),
            actor_id: &e.actor.id,
            actor_name: &e.actor.name,
            actor_email: e.actor.email.as_deref(),
            actor_avatar: e.actor.avatar.as_deref(),
            action: &e.action,
            entity_type: &e.entity.entity_type,
            entity_id: &e.entity.id,
            entity_name: e.entity.name.as_deref(),
            changes: changes.as_deref(),
            ip: e.context.ip.as_deref(),
            user_agent: e.context.user_agent.as_deref(),
            session_id: e.context.session_id.as_deref(),
            request_id: e.context.request_id.as_deref(),
            country: e.context.country.as_deref(),
            metadata: &metadata,
            entity_deleted: e.entity.deleted,
        };
        f(&row)
    }

    fn written(format: ExportFormat, e: &AuditEvent) -> String {
        let mut out = format.preamble().to_vec();
        with_row(e, |row| format.write(&mut out, row));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_csv_row_reads_back_column_by_column() {
        let rows = parse_csv(&written(ExportFormat::Csv, &sample()));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0], CSV_COLUMNS);
        let row: std::collections::HashMap<&str, &str> =
            CSV_COLUMNS.iter().copied().zip(rows[1].iter().map(String::as_str)).collect();
        assert_eq!(row["id"], "01900000-0000-7000-8000-000000000001");
        assert_eq!(row["seq"], "42");
        assert_eq!(row["org_id"], "01900000-0000-7000-8000-0000000000a1");
        assert_eq!(row["occurred_at"], "2026-01-15T09:00:00.123456Z");
        assert_eq!(row["received_at"], "2026-01-15T09:00:01.000000Z");
        assert_eq!(row["actor_kind"], "user");
        assert_eq!(row["actor_name"], "'=cmd|' /C calc'!A0");
        assert_eq!(row["actor_email"], "alice@example.com");
        assert_eq!(row["actor_avatar"], "");
        assert_eq!(row["entity_name"], "INV-1, \"draft\"\nsecond line \u{1F600}");
        assert_eq!(row["entity_deleted"], "true");
        assert_eq!(row["ip"], "203.0.113.7");
        let changes: serde_json::Value = serde_json::from_str(row["changes"]).unwrap();
        assert_eq!(changes["initial"]["total"], "-5");
        let metadata: serde_json::Value = serde_json::from_str(row["metadata"]).unwrap();
        assert_eq!(metadata, serde_json::json!({"plan": "pro"}));
        let bare = parse_csv(&written(ExportFormat::Csv, &bare()));
        assert_eq!(bare[1].len(), CSV_COLUMNS.len());
        assert_eq!(bare[1][14], "false");
    }

    #[test]
    fn times_are_fixed_width_microseconds_in_utc() {
        let mut out = Vec::new();
        write_time(&mut out, "0001-02-03T04:05:06.000007Z".parse().unwrap());
        write_time(&mut out, "2026-12-31T23:59:59.999999Z".parse().unwrap());
        assert_eq!(String::from_utf8(out).unwrap(), "0001-02-03T04:05:06.000007Z2026-12-31T23:59:59.999999Z");
    }

    /// Every object key of `v`, as a path from the top.
    fn paths(v: &serde_json::Value) -> Vec<String> {
        let mut out = Vec::new();
        if let serde_json::Value::Object(map) = v {
            for (k, v) in map {
                out.push(k.clone());
                out.extend(paths(v).into_iter().map(|p| format!("{k}.{p}")));
            }
        }
        out
    }

    #[test]
    fn an_ndjson_line_is_the_event_as_the_model_serialises_it() {
        for event in [sample(), bare()] {
            let text = written(ExportFormat::Ndjson, &event);
            assert!(text.ends_with('\n') && text.matches('\n').count() == 1, "one line: {text}");
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            // The same keys in the same places, the same ones left out, as
            // the model's own serialisation; the same values once read
            // (exact, unlike CSV: no neutralising).
            assert_eq!(paths(&value), paths(&serde_json::to_value(&event).unwrap()), "{text}");
            assert_eq!(text.matches("\"seq\"").count(), 1, "seq is written once: {text}");
            let back: AuditEvent = serde_json::from_value(value).unwrap();
            assert_eq!(back, event);
        }
    }
}
