//! Reading a cookie from a request. Eight lines here rather than
//! axum-extra's `CookieJar`, which would bring the `cookie` and `time`
//! crates into the build for two lookups by name; the cookies this server
//! sets are written where they are set (session, embed), each with its
//! attributes spelled out.

use axum::http::{HeaderMap, header};

/// The value of cookie `name`, from every `Cookie` header of the request.
pub fn value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn finds_a_cookie_by_exact_name_in_any_header() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; atl_session_x=2"));
        headers.append(header::COOKIE, HeaderValue::from_static("atl_session=abc"));
        assert_eq!(value(&headers, "atl_session"), Some("abc"));
        assert_eq!(value(&headers, "a"), Some("1"));
        assert_eq!(value(&headers, "b"), None);
    }
}
