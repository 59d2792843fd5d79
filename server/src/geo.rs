//! Where an IP address probably is, by country, from a local table: no
//! network call ever. The table is the IPFire Location Database as Debian
//! ships it for tor (`tor-geoipdb`: `geoip` and `geoip6`, CSV ranges,
//! CC BY-SA 4.0); `scripts/setup.sh` fetches it. Without it, events show
//! only the country their sender gave.
//!
//! Loaded once per process into sorted range tables (about 660,000 ranges,
//! 15 MB); a lookup is a binary search.

use std::net::IpAddr;
use std::path::Path;
use std::sync::OnceLock;

/// Ranges of addresses and their country, sorted by start.
#[derive(Debug, Default)]
pub struct GeoTable {
    v4: Vec<(u32, u32, [u8; 2])>,
    v6: Vec<(u128, u128, [u8; 2])>,
}

static TABLE: OnceLock<GeoTable> = OnceLock::new();

impl GeoTable {
    /// Reads `geoip` (IPv4 as integers: `16777216,16777471,AU`) and
    /// `geoip6` (IPv6 as text: `2001:2::,2001:2:0:ffff:…,JP`) from `dir`.
    /// Lines that do not parse are skipped: a damaged line costs one range.
    pub fn load(dir: &Path) -> std::io::Result<GeoTable> {
        let v4_text = std::fs::read_to_string(dir.join("geoip"))?;
        let v6_text = std::fs::read_to_string(dir.join("geoip6"))?;
        Ok(GeoTable::parse(&v4_text, &v6_text))
    }

    pub fn parse(v4_text: &str, v6_text: &str) -> GeoTable {
        let mut v4: Vec<(u32, u32, [u8; 2])> =
            ranges(v4_text).filter_map(|(a, b, c)| Some((a.parse().ok()?, b.parse().ok()?, c))).collect();
        let mut v6: Vec<(u128, u128, [u8; 2])> = ranges(v6_text)
            .filter_map(|(a, b, c)| {
                let (a, b): (std::net::Ipv6Addr, std::net::Ipv6Addr) = (a.parse().ok()?, b.parse().ok()?);
                Some((a.into(), b.into(), c))
            })
            .collect();
        v4.sort_unstable();
        v6.sort_unstable();
        GeoTable { v4, v6 }
    }

    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The country code of the range holding `ip`, if any.
    pub fn country(&self, ip: IpAddr) -> Option<[u8; 2]> {
        match ip {
            IpAddr::V4(v4) => find(&self.v4, u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => find(&self.v4, u32::from(v4)),
                None => find(&self.v6, u128::from(v6)),
            },
        }
    }
}

fn ranges(text: &str) -> impl Iterator<Item = (&str, &str, [u8; 2])> {
    text.lines().filter(|l| !l.starts_with('#')).filter_map(|line| {
        let mut parts = line.trim().split(',');
        let (start, end, code) = (parts.next()?, parts.next()?, parts.next()?.as_bytes());
        match code {
            [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Some((start, end, [*a, *b])),
            _ => None,
        }
    })
}

fn find<T: Ord + Copy>(table: &[(T, T, [u8; 2])], ip: T) -> Option<[u8; 2]> {
    let at = table.partition_point(|(start, _, _)| *start <= ip).checked_sub(1)?;
    let (_, end, code) = table.get(at)?;
    (ip <= *end).then_some(*code)
}

/// Makes `table` the process's table; the first call wins.
pub fn install(table: GeoTable) {
    let _ = TABLE.set(table);
}

/// The estimated country (ISO 3166-1 alpha-2) of an address as stored
/// (`host(ip)`), when a table is installed and holds it.
pub fn estimate(ip: &str) -> Option<String> {
    let table = TABLE.get()?;
    let code = table.country(ip.parse().ok()?)?;
    Some(String::from_utf8_lossy(&code).into_owned())
}

/// Where the table is looked for: `AUDIT_GEOIP_DIR`, then where Debian's
/// `tor-geoipdb` package installs it.
pub fn default_dirs() -> Vec<std::path::PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("AUDIT_GEOIP_DIR").filter(|d| !d.is_empty()) {
        dirs.push(dir.into());
    }
    dirs.push("/usr/share/tor".into());
    dirs
}

/// Loads the first table found in `dirs` off the async threads and
/// installs it; says in the log what it found.
pub async fn load_in_background(dirs: Vec<std::path::PathBuf>) {
    let found = tokio::task::spawn_blocking(move || {
        dirs.iter()
            .find_map(|dir| GeoTable::load(dir).ok().filter(|t| !t.is_empty()).map(|t| (dir.clone(), t)))
    })
    .await;
    match found {
        Ok(Some((dir, table))) => {
            tracing::info!(ranges = table.len(), dir = %dir.display(), "IP locations loaded");
            install(table);
        }
        _ => tracing::info!(
            "no IP location table (set AUDIT_GEOIP_DIR, or run scripts/setup.sh); \
             entries show only the country their sender gave"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: &str = "# a comment\n16777216,16777471,AU\n134744064,134744319,US\n1359103232,1359103487,GB\n\
                      9,oops,ZZ\n20,30,zz\n";
    const V6: &str = "# comment\n2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,US\n2001:2::,2001:2:0:ffff:ffff:ffff:ffff:ffff,JP\n";

    #[test]
    fn addresses_fall_in_their_ranges_and_nowhere_else() {
        let t = GeoTable::parse(V4, V6);
        assert_eq!(t.len(), 5, "the damaged and lower-case lines are skipped");
        let at = |ip: &str| t.country(ip.parse().unwrap()).map(|c| String::from_utf8(c.to_vec()).unwrap());
        assert_eq!(at("8.8.8.8").as_deref(), Some("US"));
        assert_eq!(at("1.0.0.0").as_deref(), Some("AU"));
        assert_eq!(at("1.0.0.255").as_deref(), Some("AU"));
        assert_eq!(at("1.0.1.0"), None);
        assert_eq!(at("81.2.69.142").as_deref(), Some("GB"));
        assert_eq!(at("0.0.0.1"), None);
        assert_eq!(at("255.255.255.255"), None);
        assert_eq!(at("2001:4860:4860::8888").as_deref(), Some("US"));
        assert_eq!(at("2001:2::1").as_deref(), Some("JP"));
        assert_eq!(at("::ffff:8.8.8.8").as_deref(), Some("US"), "a mapped IPv4 address reads as IPv4");
        assert_eq!(at("::1"), None);
    }

    #[test]
    fn garbage_never_panics() {
        let t = GeoTable::parse("x\n,,\n1,2,USA\n\u{0}", "::,zz,US\n");
        assert!(t.is_empty());
        assert_eq!(estimate("not an address"), None);
    }
}
