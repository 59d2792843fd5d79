//! PostgreSQL settings for the embedded cluster, sized to the machine it
//! runs on and passed on the command line at every start (so a cluster made
//! by an older version, or moved to a bigger machine, is sized again).
//!
//! PostgreSQL's defaults are made for a machine of the 2000s (128 MB of
//! buffers, a checkpoint every 1 GB of WAL). An audit log is an append-heavy
//! table with nine indexes, one of them a trigram GIN whose posting lists
//! every org shares: at ten million events those indexes are gigabytes, and
//! with the defaults each batch evicts the index pages the next one needs
//! and each checkpoint makes the first write to every page log a full 8 kB
//! image of it. These are the settings the benchmark measured
//! (docs/benchmarks.md); the README gives the same advice for an external
//! database.

/// One `-c name=value` setting.
pub type Setting = (&'static str, String);

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// The settings for a machine with `memory` bytes of RAM; `lz4` says whether
/// the binaries were built with it.
pub fn settings(memory: u64, lz4: bool) -> Vec<Setting> {
    // A quarter of memory for PostgreSQL's own cache (the usual advice: the
    // OS page cache holds the rest of the working set, and double caching
    // past that only wastes memory), at least the default, at most 8 GB,
    // past which the gain in hit rate costs more in buffer management than
    // it saves.
    let shared_buffers = (memory / 4).clamp(128 * MIB, 8 * GIB);
    // What the planner may assume the OS caches: what is not ours or the
    // server's, about three quarters.
    let effective_cache = (memory / 4 * 3).max(shared_buffers);
    // Index builds (migrations on a large log) and VACUUM, which also
    // merges the trigram index's pending list: an eighth of the buffers,
    // 64 MB to 1 GB.
    let maintenance = (shared_buffers / 8).clamp(64 * MIB, GIB);
    vec![
        ("shared_buffers", mb(shared_buffers)),
        ("effective_cache_size", mb(effective_cache)),
        ("maintenance_work_mem", mb(maintenance)),
        // Checkpoints by time, not by WAL volume: with the default 1 GB a
        // sustained batch load checkpoints every minute or so, and every
        // checkpoint restarts the full-page images. A 15-minute spread
        // bounds crash recovery to a few minutes of replay at the cost of
        // up to this much disk for WAL.
        ("max_wal_size", "8GB".to_string()),
        ("min_wal_size", "1GB".to_string()),
        ("checkpoint_timeout", "15min".to_string()),
        ("checkpoint_completion_target", "0.9".to_string()),
        // The full-page images that remain, compressed: lz4 costs little
        // CPU and roughly halves their volume.
        ("wal_compression", if lz4 { "lz4" } else { "off" }.to_string()),
    ]
}

/// The machine's memory in bytes, from /proc/meminfo; `None` elsewhere.
pub fn machine_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Whether `pg_config` beside the server binaries says they were built with
/// lz4 (a setting the binaries lack would stop the server from starting).
pub fn has_lz4(bin_dir: &std::path::Path) -> bool {
    std::process::Command::new(bin_dir.join("pg_config"))
        .arg("--configure")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("--with-lz4"))
}

/// The settings as `pg_ctl -o` options.
pub fn as_options(settings: &[Setting]) -> String {
    settings.iter().map(|(name, value)| format!(" -c {name}={value}")).collect()
}

fn mb(bytes: u64) -> String {
    format!("{}MB", bytes / MIB)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(settings: &[Setting], name: &str) -> String {
        settings.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap()
    }

    #[test]
    fn buffers_are_a_quarter_of_memory_within_bounds() {
        assert_eq!(get(&settings(24 * GIB, true), "shared_buffers"), "6144MB");
        assert_eq!(get(&settings(24 * GIB, true), "effective_cache_size"), "18432MB");
        assert_eq!(get(&settings(256 * MIB, true), "shared_buffers"), "128MB");
        assert_eq!(get(&settings(256 * GIB, true), "shared_buffers"), "8192MB");
        assert_eq!(get(&settings(256 * GIB, true), "maintenance_work_mem"), "1024MB");
    }

    #[test]
    fn wal_compression_only_with_lz4() {
        assert_eq!(get(&settings(GIB, true), "wal_compression"), "lz4");
        assert_eq!(get(&settings(GIB, false), "wal_compression"), "off");
    }

    #[test]
    fn options_are_one_flag_per_setting() {
        let options = as_options(&[("a", "1".into()), ("b", "2MB".into())]);
        assert_eq!(options, " -c a=1 -c b=2MB");
    }
}
