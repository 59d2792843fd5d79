//! Which avatar addresses the timeline may load.
//!
//! An avatar goes into an `<img src>` that every viewer's browser fetches
//! with the viewer's cookies. A same-site path such as
//! `/o/acme/export.ndjson` would make each viewer run an export just by
//! looking, so only two forms are allowed: an `https://` address on another
//! host, and this product's own identicons, `/avatars/<key>.svg`. Ingestion
//! refuses anything else, and rendering checks again, because the log is
//! append-only and rows stored before this rule still exist. An `https://`
//! address naming this very site cannot be told from here (the site's own
//! host is not known to the model); the server refuses any `<img>` fetch of
//! a path that is not an image (`server::http::content_security_policy`).

/// Longest avatar address taken, in bytes.
pub const AVATAR_MAX_BYTES: usize = 2048;
/// Longest identicon key, as the `/avatars/` route accepts.
const AVATAR_KEY_MAX: usize = 128;

/// Whether `url` may be put in an `<img src>`.
pub fn is_allowed_avatar(url: &str) -> bool {
    if url.len() > AVATAR_MAX_BYTES {
        return false;
    }
    if let Some(file) = url.strip_prefix("/avatars/") {
        return file.strip_suffix(".svg").is_some_and(is_avatar_key);
    }
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    // Printable ASCII only: no spaces, controls or backslashes, which
    // browsers read in ways a check like this one would not foresee.
    if !url.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
        return false;
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // A user-info part (`https://a@b`) hides the real host from a reader.
    !host.is_empty() && !host.contains('@') && !host.starts_with(':')
}

/// The avatar to show: the stored one when allowed, otherwise none, so the
/// timeline draws the actor's initials instead.
pub fn displayed_avatar(url: Option<&str>) -> Option<&str> {
    url.filter(|u| is_allowed_avatar(u))
}

/// An identicon key: letters, digits, `_`, `-` and `.`, not starting with a
/// dot, so the path can neither climb (`..`) nor carry a query.
fn is_avatar_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= AVATAR_KEY_MAX
        && !key.starts_with('.')
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_addresses_and_our_identicons_are_allowed() {
        for ok in [
            "https://avatars.example.com/u/42.png",
            "https://cdn.example.com:8443/a?size=64#x",
            "/avatars/usr_01H8.svg",
            "/avatars/alice.example-1.svg",
        ] {
            assert!(is_allowed_avatar(ok), "{ok}");
            assert_eq!(displayed_avatar(Some(ok)), Some(ok));
        }
    }

    #[test]
    fn same_site_paths_and_other_schemes_are_refused() {
        let long = format!("https://example.com/{}", "a".repeat(AVATAR_MAX_BYTES));
        for bad in [
            "/o/acme/export.ndjson",
            "/o/acme/export.csv?action=delete",
            "/auth/logout",
            "/avatars/../o/acme/export.csv",
            "/avatars/a.svg?x=/o/acme/export.csv",
            "/avatars/.svg",
            "/avatars/..svg",
            "/avatars/a/b.svg",
            "/avatars/a.png",
            "//evil.example/a.png",
            "http://example.com/a.png",
            "javascript:alert(1)",
            "data:image/svg+xml,<svg/>",
            "https://",
            "https:///o/acme/export.csv",
            "https://user@evil.example/a.png",
            "https://:443/a.png",
            "https://example.com/a b.png",
            "https://example.com\\@evil/a.png",
            "https://exämple.com/a.png",
            " https://example.com/a.png",
            "",
            long.as_str(),
        ] {
            assert!(!is_allowed_avatar(bad), "{bad}");
            assert_eq!(displayed_avatar(Some(bad)), None, "{bad}");
        }
        assert_eq!(displayed_avatar(None), None);
    }
}
