//! Percent-encoding for the URLs the product builds (filter links, record
//! pages, sign-in redirects), with `percent-encoding`'s escaping and one
//! named set per use.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters is escaped: safe in a
/// path segment and in any query value.
pub const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A filter value in the query string also keeps the `,` between list
/// values and the `*` `:` of patterns and zones readable in the address bar.
pub const FILTER_VALUE: &AsciiSet = &COMPONENT.remove(b',').remove(b'*').remove(b':');

pub fn encode(s: &str, set: &'static AsciiSet) -> String {
    utf8_percent_encode(s, set).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_named_characters_stay_unescaped() {
        assert_eq!(encode("inv 1/2?&=é~", COMPONENT), "inv%201%2F2%3F%26%3D%C3%A9~");
        assert_eq!(encode("a,b*:c d", FILTER_VALUE), "a,b*:c%20d");
        assert_eq!(encode("a,b*:c", COMPONENT), "a%2Cb%2A%3Ac");
    }
}
