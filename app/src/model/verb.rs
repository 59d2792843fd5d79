/// The verb of a dotted action: `invoice.update` -> `update`.
pub fn action_verb(action: &str) -> &str {
    action.rsplit('.').next().unwrap_or(action)
}

/// How an action's badge is drawn. The badge always shows the action's text
/// and a glyph too, so colour is never the only signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Green: something came into being.
    Create,
    /// Blue: something changed hands or values.
    Update,
    /// Red: something was removed or withdrawn.
    Delete,
    /// Grey: every other verb (login, send, invite, export, ...).
    Neutral,
}

impl Tone {
    pub fn of_action(action: &str) -> Tone {
        match action_verb(action) {
            "create" => Tone::Create,
            "update" | "assign" | "share" => Tone::Update,
            "delete" | "revoke" | "cancel" => Tone::Delete,
            _ => Tone::Neutral,
        }
    }

    pub fn css_class(self) -> &'static str {
        match self {
            Tone::Create => "badge tone-create",
            Tone::Update => "badge tone-update",
            Tone::Delete => "badge tone-delete",
            Tone::Neutral => "badge tone-neutral",
        }
    }

    pub fn glyph(self) -> &'static str {
        match self {
            Tone::Create => "+",
            Tone::Update => "~",
            Tone::Delete => "−",
            Tone::Neutral => "•",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_pick_their_tone() {
        assert_eq!(Tone::of_action("invoice.create"), Tone::Create);
        assert_eq!(Tone::of_action("task.assign"), Tone::Update);
        assert_eq!(Tone::of_action("share_grant.share"), Tone::Update);
        assert_eq!(Tone::of_action("api_key.revoke"), Tone::Delete);
        assert_eq!(Tone::of_action("quote.cancel"), Tone::Delete);
        assert_eq!(Tone::of_action("user.login_failed"), Tone::Neutral);
        assert_eq!(Tone::of_action("member.invite"), Tone::Neutral);
        assert_eq!(action_verb("org.settings.update"), "update");
    }
}
