//! What a person reads for a filter's terms.

use super::action_type;

/// `api_key` -> `API key`, `share_grant` -> `Share grant`.
pub fn entity_type_label(entity_type: &str) -> String {
    let words: Vec<String> = entity_type
        .split('_')
        .filter(|w| !w.is_empty())
        .enumerate()
        .map(|(i, w)| match w {
            "api" | "ip" | "mfa" | "sso" | "crm" => w.to_ascii_uppercase(),
            _ if i == 0 => {
                let mut c = w.chars();
                c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
            }
            _ => w.to_string(),
        })
        .collect();
    words.join(" ")
}

/// What a person reads for an action term: `Delete`, `invoice.update`.
pub fn action_label(term: &str) -> String {
    match action_type(term) {
        Some(t) => t.label.to_string(),
        None if !term.contains('.') => entity_type_label(term),
        None => term.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_as_words() {
        assert_eq!(entity_type_label("api_key"), "API key");
        assert_eq!(entity_type_label("share_grant"), "Share grant");
        assert_eq!(action_label("login_failed"), "Login failed");
        assert_eq!(action_label("approve"), "Approve");
        assert_eq!(action_label("invoice.*"), "invoice.*");
    }
}
