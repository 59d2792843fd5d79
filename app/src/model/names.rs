//! The shapes of the names an event carries, one rule each, the same as the
//! `audit_events` CHECK constraints: the API's validator, the filter's
//! values and the store all ask here.

/// `^[a-z][a-z0-9_]*$`: an entity type (`invoice`, `api_key`), or one word
/// of an action.
pub fn is_snake_word(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `resource.verb`, dotted lower snake_case: the `audit_events.action`
/// CHECK, `^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`.
pub fn is_action(s: &str) -> bool {
    let mut parts = 0;
    for part in s.split('.') {
        if !is_snake_word(part) {
            return false;
        }
        parts += 1;
    }
    parts >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_check_constraints() {
        assert!(is_snake_word("api_key") && is_snake_word("v2"));
        for bad in ["", "ApiKey", "_x", "1x", "a-b", "a.b", "é"] {
            assert!(!is_snake_word(bad), "{bad}");
        }
        assert!(is_action("invoice.update") && is_action("a.b.c"));
        for bad in ["invoice", "invoice.", ".update", "invoice..update", "Invoice.update", "invoice.*"] {
            assert!(!is_action(bad), "{bad}");
        }
    }
}
