//! Activities: what someone does next, on which record, and the sessions
//! that people sign in and out of.

use super::*;

impl Generator {
    pub(super) fn perform(&mut self, activity: Activity, who: &Who) -> Outcome {
        let category = activity.category;
        let want = match activity.effect {
            Effect::Create | Effect::Login | Effect::Logout | Effect::LoginFailed | Effect::RevokeSession => {
                None
            }
            Effect::Delete => Some(Want::Deletable),
            Effect::Restore => Some(Want::Closed),
            Effect::Close(..) | Effect::RoleChange => Some(Want::Closable),
            _ => Some(Want::Open),
        };
        let index = match want {
            None => None,
            Some(want) => match self.find(category, want) {
                Some(i) => Some(i),
                // Nothing to act on yet: someone makes one instead.
                None if creation_verb(category).is_some() => return self.create(category),
                None => {
                    let i = self.find(category, Want::Open).expect("fixed categories always have records");
                    return self.update(category, i);
                }
            },
        };
        let i = index.unwrap_or(0);
        let actor_name = who.actor.name.clone();

        let mut outcome = match activity.effect {
            Effect::Create => return self.create(category),
            Effect::Update => return self.update(category, i),
            Effect::Export | Effect::ShareFile | Effect::Resend => {
                self.touch(activity.effect, category, i, who)
            }
            Effect::Login | Effect::Logout | Effect::LoginFailed | Effect::RevokeSession => {
                unreachable!("sessions are handled before records")
            }
            _ => self.change(activity.effect, category, i, &actor_name),
        };
        outcome.verb = activity.verb;
        outcome
    }

    /// An action that changes the record: its state, and with it the diff
    /// (or, for a delete, the last snapshot).
    pub(super) fn change(
        &mut self,
        effect: Effect,
        category: Category,
        i: usize,
        actor_name: &str,
    ) -> Outcome {
        match effect {
            Effect::Delete => {
                let record = self.pools[category.index()].swap_remove(i);
                Outcome {
                    category,
                    verb: "",
                    id: record.id,
                    name: record.name,
                    changes: Some(Changes::Snapshot(record.state)),
                    metadata: Map::new(),
                }
            }
            Effect::Close(status, stamp) => {
                let (mut o, tree) = self.with_record(category, i, |g, state, closed| {
                    let mut tree = ChangeTree::new();
                    set(&mut tree, state, STATUS, status.into());
                    let now = g.timestamp();
                    set(&mut tree, state, stamp, now);
                    *closed = true;
                    tree
                });
                o.changes = Self::diff(tree);
                o
            }
            Effect::Restore => {
                let (mut o, tree) = self.with_record(category, i, |_, state, closed| {
                    let mut tree = ChangeTree::new();
                    set(&mut tree, state, STATUS, "active".into());
                    for stamp in ["archived_at", "cancelled_at", "revoked_at", "voided_at"] {
                        unset(&mut tree, state, stamp);
                    }
                    *closed = false;
                    tree
                });
                o.changes = Self::diff(tree);
                o
            }
            Effect::Assign(field) => {
                let (mut o, tree) = self.with_record(category, i, |g, state, _| {
                    let mut tree = ChangeTree::new();
                    let new = g.value(Gen::Member, state.get(field), state);
                    set(&mut tree, state, field, new);
                    tree
                });
                o.changes = Self::diff(tree);
                o
            }
            Effect::RoleChange => {
                let (mut o, tree) = self.with_record(category, i, |g, state, _| {
                    let mut tree = ChangeTree::new();
                    let roles = Gen::Choice(&["admin", "developer", "member"]);
                    let new = g.value(roles, state.get("role"), state);
                    set(&mut tree, state, "role", new);
                    tree
                });
                o.changes = Self::diff(tree);
                o
            }
            Effect::Send => {
                let (mut o, (tree, recipient, reminder)) = self.with_record(category, i, |g, state, _| {
                    let mut tree = ChangeTree::new();
                    let client = state.get("client").and_then(Value::as_str).unwrap_or("").to_string();
                    let recipient = email_at("accounts", &client);
                    let draft = state.get(STATUS).and_then(Value::as_str) == Some("draft");
                    if draft {
                        set(&mut tree, state, STATUS, "sent".into());
                        let now = g.timestamp();
                        set(&mut tree, state, "sent_at", now);
                    }
                    (tree, recipient, !draft)
                });
                o.changes = Self::diff(tree);
                o.metadata.insert("recipient".into(), recipient.into());
                if reminder {
                    o.metadata.insert("reminder".into(), true.into());
                }
                o
            }
            Effect::Approve(by_field) => {
                let (mut o, tree) = self.with_record(category, i, |_, state, _| {
                    let mut tree = ChangeTree::new();
                    if state.get(STATUS).and_then(Value::as_str) != Some("approved") {
                        set(&mut tree, state, STATUS, "approved".into());
                        set(&mut tree, state, by_field, actor_name.into());
                    }
                    tree
                });
                o.changes = Self::diff(tree);
                o
            }
            Effect::RequestRevision => {
                let (mut o, tree) = self.with_record(category, i, |g, state, _| {
                    let mut tree = ChangeTree::new();
                    set(&mut tree, state, STATUS, "revision_requested".into());
                    let note = g.value(Gen::Choice(REVISION_NOTES), state.get("revision_note"), state);
                    set(&mut tree, state, "revision_note", note);
                    set(&mut tree, state, "reviewer", actor_name.into());
                    tree
                });
                o.changes = Self::diff(tree);
                o
            }
            Effect::Verify => {
                let (mut o, (tree, result)) = self.with_record(category, i, |g, state, _| {
                    let mut tree = ChangeTree::new();
                    let verified = state.get(STATUS).and_then(Value::as_str) == Some("verified");
                    let passes = verified || g.rng.chance(0.8);
                    if !verified {
                        set(&mut tree, state, STATUS, if passes { "verified" } else { "failed" }.into());
                        if passes {
                            let now = g.timestamp();
                            set(&mut tree, state, "verified_at", now);
                        }
                    }
                    (tree, if passes { "ok" } else { "txt_record_not_found" })
                });
                o.changes = Self::diff(tree);
                o.metadata.insert("check".into(), "dns".into());
                o.metadata.insert("result".into(), result.into());
                o
            }
            Effect::Sync => {
                let (mut o, (tree, items)) = self.with_record(category, i, |g, state, _| {
                    let mut tree = ChangeTree::new();
                    match category {
                        Category::Payment => {
                            let now = g.timestamp();
                            set(&mut tree, state, "last_synced_at", now);
                            if state.get(STATUS).and_then(Value::as_str) == Some("pending") {
                                let to = if g.rng.chance(0.85) { "succeeded" } else { "failed" };
                                set(&mut tree, state, STATUS, to.into());
                            }
                        }
                        Category::PaymentAccount => {
                            let now = g.timestamp();
                            set(&mut tree, state, "last_synced_at", now);
                            let balance = g.value(Gen::Money(0, 250_000), None, state);
                            set(&mut tree, state, "balance", balance);
                        }
                        _ => {
                            if g.rng.chance(0.5) {
                                let today = g.date(0);
                                set(&mut tree, state, "last_contacted_at", today);
                            }
                        }
                    }
                    (tree, g.rng.range(1, 40))
                });
                o.changes = Self::diff(tree);
                o.metadata.insert("items".into(), items.into());
                o
            }
            _ => unreachable!("change is only asked for state changes"),
        }
    }

    /// An action on the record that leaves it as it was (an export, a share,
    /// a resend): only its details differ.
    pub(super) fn touch(&mut self, effect: Effect, category: Category, i: usize, who: &Who) -> Outcome {
        match effect {
            Effect::Export => {
                let (mut o, ()) = self.with_record(category, i, |_, _, _| ());
                if who.job == Some(job::NIGHTLY_BACKUP) {
                    let day = self.date(0);
                    let day = day.as_str().unwrap_or_default();
                    o.metadata.insert(
                        "destination".into(),
                        format!("backups/{day}/{}.json.gz", category.as_str()).into(),
                    );
                } else {
                    let format = *self.rng.pick(&["csv", "xlsx", "pdf"]);
                    o.metadata.insert("format".into(), format.into());
                    o.metadata.insert("rows".into(), self.rng.range(1, 2_500).into());
                }
                o
            }
            Effect::ShareFile => {
                let (mut o, ()) = self.with_record(category, i, |_, _, _| ());
                let grantee = self.value(Gen::AnyEmail, None, &Map::new());
                o.metadata.insert("grantee".into(), grantee);
                o.metadata.insert("permission".into(), (*self.rng.pick(&["view", "comment", "edit"])).into());
                o
            }
            Effect::Resend => {
                let (mut o, ()) = self.with_record(category, i, |_, _, _| ());
                o.metadata.insert("attempt".into(), self.rng.range(2, 4).into());
                o
            }
            _ => unreachable!("touch is only asked for actions that change nothing"),
        }
    }

    pub(super) fn session_outcome(&self, verb: &'static str, id: String, name: &str) -> Outcome {
        Outcome {
            category: Category::Session,
            verb,
            id,
            name: name.to_string(),
            changes: None,
            metadata: Map::new(),
        }
    }

    pub(super) fn login(&mut self, who: &mut Who) -> Outcome {
        let (p, d) = (who.person.expect("person"), who.device.expect("device"));
        let session = record_id("sess", self.now.div_euclid(1000), &mut self.rng);
        let device = &mut self.cast.people[p].devices[d];
        device.session = Some(session.clone());
        let label = device.label();
        who.context.session_id = Some(session.clone());
        let mut o = self.session_outcome("login", session, label);
        let method = *self.rng.pick(&["password", "password", "google_sso", "passkey", "magic_link"]);
        o.metadata.insert("method".into(), method.into());
        if method == "password" {
            o.metadata.insert("mfa".into(), self.rng.chance(0.6).into());
        }
        o
    }

    pub(super) fn sign_out(&mut self, p: usize, d: usize, verb: &'static str) -> Outcome {
        let device = &mut self.cast.people[p].devices[d];
        let session = device.session.take().expect("signed in");
        let label = device.label();
        self.session_outcome(verb, session, label)
    }

    /// A wrong password from the member's own browser, or someone else
    /// trying their account from far away with a script.
    pub(super) fn login_failed(&mut self, who: &mut Who) -> Outcome {
        who.context.session_id = None;
        let attack = self.rng.chance(0.3);
        if attack {
            let (country, prefixes) = *self.rng.pick(UNUSUAL_NETWORKS);
            let prefix = *self.rng.pick(prefixes);
            who.context.ip = Some(ip_in(prefix, &mut self.rng));
            who.context.country = Some(country.to_string());
            if self.rng.chance(0.6) {
                who.context.user_agent = Some((*self.rng.pick(SCRIPT_AGENTS)).to_string());
            }
        }
        let attempt = record_id("sess", self.now.div_euclid(1000), &mut self.rng);
        let mut o = self.session_outcome("login_failed", attempt, "Failed sign-in");
        let reason = if attack {
            *self.rng.pick(&["invalid_password", "invalid_password", "account_locked"])
        } else {
            *self.rng.pick(&["invalid_password", "invalid_password", "mfa_code_invalid", "mfa_code_expired"])
        };
        o.metadata.insert("reason".into(), reason.into());
        o.metadata.insert("attempt".into(), self.rng.range(1, if attack { 12 } else { 3 }).into());
        o
    }

    /// An admin (or the cleanup job) ends someone's session.
    pub(super) fn revoke_session(&mut self, who: &Who) -> Option<Outcome> {
        for _ in 0..8 {
            let p = self.rng.below(self.cast.people.len());
            let devices = &self.cast.people[p].devices;
            let d = self.rng.below(devices.len());
            // Never the session making this request.
            if devices[d].session.is_some() && who.context.session_id != devices[d].session {
                let mut o = self.sign_out(p, d, "revoke");
                let reason = if who.job.is_some() { "expired" } else { "admin_action" };
                o.metadata.insert("reason".into(), reason.into());
                return Some(o);
            }
        }
        None
    }

    // ---- Events -------------------------------------------------------
}
