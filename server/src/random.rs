//! Secrets from the operating system's random source: session tokens,
//! passwords of the embedded cluster, signing keys. One place, so every
//! secret comes from the same audited source.

/// Fills `buf` from the OS random source.
pub fn fill(buf: &mut [u8]) -> std::io::Result<()> {
    getrandom::fill(buf).map_err(|e| std::io::Error::other(e.to_string()))
}

/// `N` random bytes. The OS random source failing is not something a server
/// can carry on from, so this panics then.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    fill(&mut buf).expect("the OS random source is available");
    buf
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
