//! One event of a request, field by field: every problem noted with its
//! path, the event built only when there was none.

use super::*;

pub(super) fn earliest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub(super) struct EventChecker {
    pub(super) org_id: Uuid,
    pub(super) now: DateTime<Utc>,
    pub(super) earliest: DateTime<Utc>,
    pub(super) latest: DateTime<Utc>,
}

impl EventChecker {
    pub(super) fn event(&self, r: &mut Report, path: &Path<'_>, value: Value) -> Option<NewAuditEvent> {
        let mut map = object(r, path, value)?;
        let before = r.errors.len();
        let occurred_at = self.occurred_at(r, &path.key("occurred_at"), map.remove("occurred_at"));
        let actor = actor(r, &path.key("actor"), map.remove("actor"));
        let action = {
            let p = path.key("action");
            required_text(r, &p, map.remove("action"), limits::MAX_ACTION_CHARS).filter(|a| {
                let ok = is_action(a);
                if !ok {
                    r.add(&p, "not a dotted lower snake_case action like `invoice.update`");
                }
                ok
            })
        };
        let entity = entity(r, &path.key("entity"), map.remove("entity"));
        let changes = {
            let (p, value) = (path.key("changes"), map.remove("changes"));
            if let Some(doc) = &value {
                document_limits(r, &p, doc, 1);
            }
            changes(r, &p, value)
        };
        let context = context(r, &path.key("context"), map.remove("context"));
        let metadata = {
            let (p, value) = (path.key("metadata"), map.remove("metadata"));
            if let Some(doc) = &value {
                document_limits(r, &p, doc, 1);
            }
            metadata(r, &p, value)
        };
        let external_id =
            optional_text(r, &path.key("external_id"), map.remove("external_id"), limits::MAX_ID_CHARS);
        unknown_fields(r, path, map);
        if r.errors.len() != before {
            return None;
        }
        let event = NewAuditEvent {
            id: Uuid::now_v7(),
            org_id: self.org_id,
            external_id,
            occurred_at: occurred_at?,
            actor: actor?,
            action: action?,
            entity: entity?,
            changes: changes?,
            context: context?,
            metadata: metadata?,
        };
        // Last, on an event otherwise valid: its size as the store counts it.
        let bytes = limits::event_bytes(&event);
        if bytes > limits::MAX_EVENT_BYTES {
            r.too_large = true;
            r.add(path, limits::event_size_problem(bytes));
            return None;
        }
        Some(event)
    }

    fn occurred_at(&self, r: &mut Report, path: &Path<'_>, value: Option<Value>) -> Option<DateTime<Utc>> {
        let text = match value {
            None | Some(Value::Null) => {
                r.add(path, "required (an RFC 3339 timestamp such as 2026-01-15T09:00:00Z)");
                return None;
            }
            Some(Value::String(s)) => s,
            Some(other) => {
                r.add(path, format!("expected an RFC 3339 timestamp string, got {}", kind(&other)));
                return None;
            }
        };
        let Ok(at) = DateTime::parse_from_rfc3339(text.trim()) else {
            r.add(path, "not an RFC 3339 timestamp (such as 2026-01-15T09:00:00Z)");
            return None;
        };
        // The lower bound is on the date as written, in its own offset, so
        // that "from the year 2000" is a rule a pattern can state.
        let written = at.naive_local();
        let at = at.with_timezone(&Utc);
        if at > self.latest {
            let hours = (self.latest - self.now).num_hours();
            r.add(
                path,
                format!(
                    "more than {hours} hours in the future (server time is {}); check the sender's clock",
                    self.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            );
            return None;
        }
        if written < self.earliest.naive_utc() {
            r.add(path, "before 2000-01-01; check the sender's clock and the unit (seconds, not days)");
            return None;
        }
        Some(at)
    }
}

fn actor(r: &mut Report, path: &Path<'_>, value: Option<Value>) -> Option<Actor> {
    let mut map = required_object(r, path, value)?;
    let kind = {
        let p = path.key("kind");
        required_text(r, &p, map.remove("kind"), 20).and_then(|k| {
            let parsed = ActorKind::parse(&k);
            if parsed.is_none() {
                r.add(&p, "expected one of user, system, api_key, integration");
            }
            parsed
        })
    };
    let id = required_text(r, &path.key("id"), map.remove("id"), limits::MAX_ID_CHARS);
    let name = required_text(r, &path.key("name"), map.remove("name"), limits::MAX_NAME_CHARS);
    let email = optional_text(r, &path.key("email"), map.remove("email"), limits::MAX_EMAIL_CHARS);
    let avatar = {
        let p = path.key("avatar");
        optional_text(r, &p, map.remove("avatar"), limits::MAX_URL_CHARS).and_then(|url| {
            // Every viewer's browser fetches it with their cookies: another
            // host over https, or one of our identicons, never any other
            // path of this site (see `app::model::is_allowed_avatar`).
            let ok = app::model::is_allowed_avatar(&url);
            if !ok {
                r.add(&p, "expected an https:// URL or /avatars/<key>.svg");
            }
            ok.then_some(url)
        })
    };
    unknown_fields(r, path, map);
    Some(Actor { kind: kind?, id: id?, name: name?, email, avatar })
}

fn entity(r: &mut Report, path: &Path<'_>, value: Option<Value>) -> Option<EntityRef> {
    let mut map = required_object(r, path, value)?;
    let entity_type = {
        let p = path.key("type");
        required_text(r, &p, map.remove("type"), limits::MAX_TYPE_CHARS).filter(|t| {
            let ok = is_snake_word(t);
            if !ok {
                r.add(&p, "not a lower snake_case type like `invoice` or `api_key`");
            }
            ok
        })
    };
    let id = required_text(r, &path.key("id"), map.remove("id"), limits::MAX_ID_CHARS);
    let name = optional_text(r, &path.key("name"), map.remove("name"), limits::MAX_ENTITY_NAME_CHARS);
    unknown_fields(r, path, map);
    Some(EntityRef { entity_type: entity_type?, id: id?, name, deleted: false })
}

/// `Some(None)`: absent, fine. `None`: invalid, reported.
fn changes(r: &mut Report, path: &Path<'_>, value: Option<Value>) -> Option<Option<Changes>> {
    let Some(map) = optional_object(r, path, value, "an object with one of diff, snapshot or initial")?
    else {
        return Some(None);
    };
    if map.len() != 1 {
        r.add(path, "expected exactly one of diff, snapshot or initial");
        return None;
    }
    let (kind_name, inner) = map.into_iter().next()?;
    let p = path.key(&kind_name);
    match kind_name.as_str() {
        "diff" => {
            let tree = object(r, &p, inner)?;
            diff_tree(r, &p, tree).map(|t| Some(Changes::Diff(t)))
        }
        "snapshot" | "initial" => {
            let fields = object(r, &p, inner)?;
            let before = r.errors.len();
            for (key, value) in &fields {
                storable_json(r, &p.key(key), key, value);
            }
            (r.errors.len() == before).then_some(Some(if kind_name == "snapshot" {
                Changes::Snapshot(fields)
            } else {
                Changes::Initial(fields)
            }))
        }
        _ => {
            r.add(&p, "unknown kind of change; expected diff, snapshot or initial");
            None
        }
    }
}

/// A diff: field -> `{"old": …, "new": …}` (either may be absent, not both)
/// or `{"fields": {…}}` for a nested object. Strict, unlike the untagged
/// serde form, which would read `{"typo": 1}` as a change with neither side.
fn diff_tree(r: &mut Report, path: &Path<'_>, map: Map<String, Value>) -> Option<ChangeTree> {
    let before = r.errors.len();
    let mut tree = ChangeTree::new();
    for (key, value) in map {
        let p = path.key(&key);
        if key.contains('\0') {
            r.add(path, "a field name contains a NUL character, which cannot be stored");
            continue;
        }
        let Some(mut node) = object(r, &p, value) else { continue };
        if let Some(fields) = node.remove("fields") {
            unknown_fields_with(r, &p, node, "a nested change has only `fields`");
            let pf = p.key("fields");
            if let Some(fields) = object(r, &pf, fields)
                && let Some(fields) = diff_tree(r, &pf, fields)
            {
                tree.insert(key, ChangeNode::Nested { fields });
            }
            continue;
        }
        let old = node.remove("old");
        let new = node.remove("new");
        unknown_fields_with(r, &p, node, "a changed value has `old` and/or `new`");
        if old.is_none() && new.is_none() {
            r.add(&p, "expected `old` and/or `new` (or `fields` for a nested object)");
            continue;
        }
        for (side, v) in [("old", &old), ("new", &new)] {
            if let Some(v) = v {
                storable_json(r, &p.key(side), side, v);
            }
        }
        tree.insert(key, ChangeNode::Value { old, new });
    }
    (r.errors.len() == before).then_some(tree)
}

fn context(r: &mut Report, path: &Path<'_>, value: Option<Value>) -> Option<EventContext> {
    let Some(mut map) = optional_object(r, path, value, "an object")? else {
        return Some(EventContext::default());
    };
    let before = r.errors.len();
    let ip = {
        let p = path.key("ip");
        optional_text(r, &p, map.remove("ip"), 100).and_then(|ip| match ip.trim().parse::<IpAddr>() {
            // Canonical form: what PostgreSQL's inet prints back.
            Ok(addr) => Some(addr.to_string()),
            Err(_) => {
                r.add(&p, "not an IP address");
                None
            }
        })
    };
    let user_agent =
        optional_text(r, &path.key("user_agent"), map.remove("user_agent"), limits::MAX_USER_AGENT_CHARS);
    let session_id =
        optional_text(r, &path.key("session_id"), map.remove("session_id"), limits::MAX_ID_CHARS);
    let request_id =
        optional_text(r, &path.key("request_id"), map.remove("request_id"), limits::MAX_ID_CHARS);
    let country = {
        let p = path.key("country");
        optional_text(r, &p, map.remove("country"), 100).and_then(|c| {
            let ok = c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic());
            if !ok {
                r.add(&p, "not a two-letter country code (ISO 3166-1 alpha-2, such as GB)");
            }
            ok.then(|| c.to_ascii_uppercase())
        })
    };
    unknown_fields(r, path, map);
    (r.errors.len() == before).then_some(EventContext { ip, user_agent, session_id, request_id, country })
}

fn metadata(r: &mut Report, path: &Path<'_>, value: Option<Value>) -> Option<Value> {
    let Some(map) = optional_object(r, path, value, "an object")? else {
        return Some(Value::Object(Map::new()));
    };
    let before = r.errors.len();
    for (key, value) in &map {
        storable_json(r, &path.key(key), key, value);
    }
    (r.errors.len() == before).then_some(Value::Object(map))
}
