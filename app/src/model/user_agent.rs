//! User-agent strings in words: "Chrome 131 on Windows", "curl 8.4".
//!
//! A small, hand-written reading of the strings real clients send, enough
//! for an investigator to recognise a browser, a script or a crawler at a
//! glance. The raw string is always kept next to it, so a wrong guess costs
//! nothing; anything not recognised is shown as it was sent. Deliberately no
//! regex and no UA database: this runs in the browser bundle.

/// What kind of client sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    Browser,
    /// Crawlers, link expanders and monitors.
    Bot,
    /// HTTP libraries and command-line tools.
    Tool,
}

/// A recognised client: its name, version and, for browsers, the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAgent {
    pub kind: ClientKind,
    pub name: String,
    pub version: Option<String>,
    pub os: Option<&'static str>,
}

impl UserAgent {
    /// "Chrome 131 on Windows", "Googlebot 2.1", "curl 8.4".
    pub fn in_words(&self) -> String {
        let mut out = self.name.clone();
        if let Some(v) = &self.version {
            out.push(' ');
            out.push_str(v);
        }
        if let Some(os) = self.os {
            out.push_str(" on ");
            out.push_str(os);
        }
        out
    }
}

/// The user agent in words, or the raw string (trimmed) when it is not one
/// this reader knows; "Unknown" when it is empty.
pub fn describe_user_agent(raw: &str) -> String {
    let raw = raw.trim();
    if raw.is_empty() {
        return "Unknown".to_string();
    }
    parse_user_agent(raw).map(|ua| ua.in_words()).unwrap_or_else(|| raw.to_string())
}

/// Reads a user-agent string; `None` when it is not recognised.
pub fn parse_user_agent(raw: &str) -> Option<UserAgent> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let tokens = product_tokens(raw);
    // Crawlers first: many of them also claim to be Chrome or Safari.
    if let Some(bot) = bot(raw, &tokens) {
        return Some(bot);
    }
    if raw.starts_with("Mozilla/") || raw.starts_with("Opera/") {
        return browser(raw, &tokens);
    }
    // Scripts and tools lead with their own `name/version`.
    let (name, version) = tokens.first()?;
    let version = version.map(major_minor);
    if name.is_empty() || version.is_none() {
        return None;
    }
    Some(UserAgent { kind: ClientKind::Tool, name: name.to_string(), version, os: None })
}

/// `name/version` pairs (and bare names) outside parentheses, in order.
fn product_tokens(raw: &str) -> Vec<(&str, Option<&str>)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = None;
    let bytes = raw.as_bytes();
    fn push<'a>(raw: &'a str, from: usize, to: usize, out: &mut Vec<(&'a str, Option<&'a str>)>) {
        let token = raw[from..to].trim_matches(|c: char| c == ';' || c == ',');
        if token.is_empty() {
            return;
        }
        match token.split_once('/') {
            Some((name, version)) => out.push((name, Some(version))),
            None => out.push((token, None)),
        }
    }
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' => {
                if let Some(s) = start.take() {
                    push(raw, s, i, &mut out);
                }
                depth += 1;
            }
            b')' => depth = depth.saturating_sub(1),
            b' ' | b'\t' if depth == 0 => {
                if let Some(s) = start.take() {
                    push(raw, s, i, &mut out);
                }
            }
            _ if depth == 0 && start.is_none() => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        push(raw, s, raw.len(), &mut out);
    }
    out
}

/// The text inside the first parentheses: the platform of a browser UA.
fn platform(raw: &str) -> &str {
    raw.split_once('(').and_then(|(_, rest)| rest.split_once(')')).map(|(inside, _)| inside).unwrap_or("")
}

fn bot(raw: &str, tokens: &[(&str, Option<&str>)]) -> Option<UserAgent> {
    const MARKS: [&str; 4] = ["bot", "crawler", "spider", "slurp"];
    let is_bot_name = |name: &str| {
        let lower = name.to_ascii_lowercase();
        MARKS.iter().any(|m| lower.contains(m))
    };
    let make = |name: &str, version: Option<&str>| UserAgent {
        kind: ClientKind::Bot,
        name: name.to_string(),
        version: version.map(major_minor).filter(|v| !v.is_empty()),
        os: None,
    };
    // `Googlebot/2.1` inside the platform comment, or as a product token.
    for part in platform(raw).split(';').map(str::trim) {
        let (name, version) = part.split_once('/').map_or((part, None), |(n, v)| (n, Some(v)));
        if !name.contains(' ') && !name.starts_with('+') && is_bot_name(name) {
            return Some(make(name, version));
        }
    }
    for (i, (name, version)) in tokens.iter().enumerate() {
        if is_bot_name(name) {
            // `Slackbot 1.0`: a version as the next bare token.
            let version = version.or_else(|| {
                tokens
                    .get(i + 1)
                    .filter(|(next, v)| v.is_none() && next.starts_with(|c: char| c.is_ascii_digit()))
                    .map(|(next, _)| *next)
            });
            return Some(make(name, version));
        }
    }
    None
}

fn browser(raw: &str, tokens: &[(&str, Option<&str>)]) -> Option<UserAgent> {
    let find = |names: &[&str]| -> Option<&str> {
        tokens.iter().find(|(n, v)| v.is_some() && names.contains(n)).and_then(|(_, v)| *v)
    };
    let named = |name: &str, version: Option<&str>| (name.to_string(), version.map(major));
    // Order matters: Edge and Opera also say Chrome and Safari; Chrome also
    // says Safari.
    let (name, version) = if let Some(v) = find(&["Edg", "EdgA", "EdgiOS", "Edge"]) {
        named("Edge", Some(v))
    } else if let Some(v) = find(&["OPR", "OPiOS", "OPT"]) {
        named("Opera", Some(v))
    } else if raw.starts_with("Opera/") {
        named("Opera", find(&["Version"]).or_else(|| find(&["Opera"])))
    } else if let Some(v) = find(&["SamsungBrowser"]) {
        named("Samsung Internet", Some(v))
    } else if let Some(v) = find(&["Firefox", "FxiOS"]) {
        named("Firefox", Some(v))
    } else if let Some(v) = find(&["CriOS", "Chrome"]) {
        named("Chrome", Some(v))
    } else if let Some(v) = find(&["Chromium"]) {
        named("Chromium", Some(v))
    } else if find(&["Safari"]).is_some() || find(&["AppleWebKit"]).is_some() {
        named("Safari", find(&["Version"]))
    } else if raw.contains("Trident/") || raw.contains("MSIE ") {
        let msie = platform(raw).split(';').map(str::trim).find_map(|p| p.strip_prefix("MSIE "));
        let rv = platform(raw).split(';').map(str::trim).find_map(|p| p.strip_prefix("rv:"));
        named("Internet Explorer", msie.or(rv))
    } else {
        return None;
    };
    Some(UserAgent { kind: ClientKind::Browser, name, version, os: os(raw) })
}

fn os(raw: &str) -> Option<&'static str> {
    let p = platform(raw);
    // iOS and Android before macOS and Linux: their platforms mention both
    // ("like Mac OS X", "Linux; Android 14").
    if p.contains("iPad") {
        Some("iPadOS")
    } else if p.contains("iPhone") || p.contains("iPod") {
        Some("iOS")
    } else if p.contains("Android") {
        Some("Android")
    } else if p.contains("CrOS") {
        Some("ChromeOS")
    } else if p.contains("Windows") {
        Some("Windows")
    } else if p.contains("Macintosh") || p.contains("Mac OS X") {
        Some("macOS")
    } else if p.contains("Linux") || p.contains("X11") {
        Some("Linux")
    } else {
        None
    }
}

/// `131.0.6778.86` -> `131`.
fn major(version: &str) -> String {
    version.split('.').next().unwrap_or(version).to_string()
}

/// `8.4.0` -> `8.4`; `2.0` stays `2.0`; `7` stays `7`.
fn major_minor(version: &str) -> String {
    let version = version.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.')).next().unwrap_or("");
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) if !b.is_empty() => format!("{a}.{b}"),
        (Some(a), _) => a.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(raw: &str) -> String {
        describe_user_agent(raw)
    }

    #[test]
    fn desktop_browsers() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome 131 on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                "Chrome 126 on macOS",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
                "Chrome 130 on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
                "Edge 131 on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge 131 on macOS",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox 133 on macOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
                "Firefox 127 on Windows",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
                "Firefox 127 on Linux",
            ),
            (
                "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox 133 on Linux",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                "Safari 17 on macOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/116.0.0.0",
                "Opera 116 on Windows",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
                "Opera 115 on Linux",
            ),
            ("Opera/9.80 (Windows NT 6.1; U; en) Presto/2.12.388 Version/12.18", "Opera 12 on Windows"),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome 131 on ChromeOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
                "Internet Explorer 11 on Windows",
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(words(raw), expected, "{raw}");
        }
    }

    #[test]
    fn mobile_browsers() {
        let cases = [
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari 17 on iOS",
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari 17 on iPadOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
                "Chrome 131 on iOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
                "Firefox 133 on iOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/131.2903.79 Mobile/15E148 Safari/605.1.15",
                "Edge 131 on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
                "Chrome 126 on Android",
            ),
            (
                "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
                "Firefox 133 on Android",
            ),
            (
                "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0",
                "Edge 131 on Android",
            ),
            (
                "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36 OPR/86.0.0.0",
                "Opera 86 on Android",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
                "Samsung Internet 26 on Android",
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(words(raw), expected, "{raw}");
        }
    }

    #[test]
    fn scripts_and_tools_keep_major_and_minor() {
        let cases = [
            ("curl/8.4.0", "curl 8.4"),
            ("curl/8.7.1", "curl 8.7"),
            ("python-requests/2.32.3", "python-requests 2.32"),
            ("Go-http-client/2.0", "Go-http-client 2.0"),
            ("Go-http-client/1.1", "Go-http-client 1.1"),
            ("PostmanRuntime/7.36.0", "PostmanRuntime 7.36"),
            ("Wget/1.21.4", "Wget 1.21"),
            ("okhttp/4.12.0", "okhttp 4.12"),
            ("acme-deploy/2.4 (github-actions)", "acme-deploy 2.4"),
            ("Intuit-QuickBooks-Sync/3.1", "Intuit-QuickBooks-Sync 3.1"),
        ];
        for (raw, expected) in cases {
            assert_eq!(words(raw), expected, "{raw}");
            assert_eq!(parse_user_agent(raw).unwrap().kind, ClientKind::Tool, "{raw}");
        }
    }

    #[test]
    fn crawlers_are_named_even_when_they_claim_a_browser() {
        let cases = [
            ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot 2.1"),
            (
                "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/131.0.6778.69 Safari/537.36",
                "Googlebot 2.1",
            ),
            ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bingbot 2.0"),
            ("Slackbot 1.0", "Slackbot 1.0"),
            ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "Slackbot-LinkExpanding 1.0"),
            ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "AhrefsBot 7.0"),
        ];
        for (raw, expected) in cases {
            assert_eq!(words(raw), expected, "{raw}");
            assert_eq!(parse_user_agent(raw).unwrap().kind, ClientKind::Bot, "{raw}");
        }
    }

    #[test]
    fn unknown_and_empty_are_shown_as_they_came() {
        assert_eq!(words(""), "Unknown");
        assert_eq!(words("   "), "Unknown");
        assert_eq!(words("Zapier"), "Zapier");
        assert_eq!(words("  my custom client  "), "my custom client");
        assert_eq!(words("Mozilla/5.0 (compatible)"), "Mozilla/5.0 (compatible)");
        assert_eq!(parse_user_agent("Zapier"), None);
        assert_eq!(parse_user_agent("(((;"), None);
        assert_eq!(parse_user_agent("/"), None);
    }
}
