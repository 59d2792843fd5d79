//! The server's checkpoint signing key.
//!
//! An Ed25519 key whose secret half stays out of the database: a superuser
//! who rewrites a chain cannot sign a checkpoint for the rewrite. It comes
//! from `AUDIT_SIGNING_KEY` (a 32-byte seed, hex or base64) or from a key
//! file, created with mode 0600 on first start. Its public half is
//! registered in `signing_keys` under its key id: the first 16 hex
//! characters of SHA-256(public key), through the owner connection (the app
//! role may not add keys). Verification never trusts that table: it trusts
//! the server's own key and the public keys the operator lists
//! ([`parse_public_keys`], `AUDIT_TRUSTED_KEYS`).
//!
//! The key file lives in `<data dir>/keys/`, a directory of the server's OS
//! user with mode 0700, the file 0600: when the server runs as root, the
//! embedded PostgreSQL runs as the `postgres` user, which can then neither
//! list nor read it, so not even a database superuser's `pg_read_file`
//! reaches it. The cluster's own files (`pgdata/`) sit beside it, never
//! around it.

use std::fmt;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// The environment variable that, when set, holds the signing key's seed.
pub const SIGNING_KEY_ENV: &str = "AUDIT_SIGNING_KEY";

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("{source_name} is not a 32-byte Ed25519 seed in hex or base64")]
    BadSeed { source_name: String },
    #[error("{source_name}: key {index} is not an Ed25519 public key in hex (64 digits)")]
    BadPublicKey { source_name: String, index: usize },
    #[error("cannot use the signing key file {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Signs checkpoints. Cheap to clone; `Debug` shows only the key id.
#[derive(Clone)]
pub struct ChainSigner {
    key: SigningKey,
    key_id: String,
}

impl fmt::Debug for ChainSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainSigner").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl ChainSigner {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let key_id = key_id(&key.verifying_key());
        ChainSigner { key, key_id }
    }

    /// The key from `AUDIT_SIGNING_KEY` when it is set, else from
    /// `key_file` (e.g. `<data_dir>/signing.key`), which is created with a
    /// fresh random key if it does not exist.
    pub fn load(key_file: &Path) -> Result<Self, SignerError> {
        match std::env::var(SIGNING_KEY_ENV) {
            Ok(text) => Ok(Self::from_seed(parse_seed(&text, SIGNING_KEY_ENV)?)),
            Err(_) => Self::load_or_create_file(key_file),
        }
    }

    /// The key in `path` (its seed in hex), creating the file with a fresh
    /// random key, readable by its owner only, if it does not exist.
    pub fn load_or_create_file(path: &Path) -> Result<Self, SignerError> {
        let file_error = |source| SignerError::File { path: path.to_path_buf(), source };
        match std::fs::read_to_string(path) {
            Ok(text) => return Ok(Self::from_seed(parse_seed(&text, &path.display().to_string())?)),
            Err(err) if err.kind() == ErrorKind::NotFound => {}
            Err(err) => return Err(file_error(err)),
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(file_error)?;
        }
        let seed = random_seed().map_err(file_error)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                file.write_all(format!("{}\n", hex::encode(seed)).as_bytes()).map_err(file_error)?;
                file.sync_all().map_err(file_error)?;
                tracing::info!(path = %path.display(), "created a new checkpoint signing key");
                Ok(Self::from_seed(seed))
            }
            // Another process created it first: use theirs.
            Err(err) if err.kind() == ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path).map_err(file_error)?;
                Ok(Self::from_seed(parse_seed(&text, &path.display().to_string())?))
            }
            Err(err) => Err(file_error(err)),
        }
    }

    /// First 16 hex characters of SHA-256(public key).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// The public key in hex, as `AUDIT_TRUSTED_KEYS` takes it.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.verifying_key().as_bytes())
    }

    /// Records the public key in `signing_keys` (a checkpoint names its key
    /// by id, and the table says which ids exist). Idempotent. Give it the
    /// owner's pool: the app role may not add keys.
    pub async fn register(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO signing_keys (key_id, public_key) VALUES ($1, $2) ON CONFLICT (key_id) DO NOTHING",
        )
        .bind(&self.key_id)
        .bind(self.verifying_key().as_bytes().as_slice())
        .execute(pool)
        .await?;
        Ok(())
    }
}

/// The key file under `data_dir`: `<data_dir>/keys/signing.key`.
pub fn key_file(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_DIR).join("signing.key")
}

/// The directory of the key file, inside the data directory; the embedded
/// cluster's setup leaves it to the server's user.
pub const KEY_DIR: &str = "keys";

/// Makes `<data_dir>/keys/` private to this process's OS user (created mode
/// 0700, or its owner and mode corrected), moves a key file left at the
/// former place (`<data_dir>/signing.key`, which the embedded cluster's
/// user owned) into it, and corrects the key file's owner and mode (0600).
/// Returns the key file's path.
pub fn prepare_key_file(data_dir: &Path) -> Result<PathBuf, SignerError> {
    let path = key_file(data_dir);
    let dir = data_dir.join(KEY_DIR);
    let file_error = |p: &Path| {
        let p = p.to_path_buf();
        move |source| SignerError::File { path: p, source }
    };
    std::fs::create_dir_all(&dir).map_err(file_error(&dir))?;
    make_private(&dir, 0o700).map_err(file_error(&dir))?;
    let legacy = data_dir.join("signing.key");
    if legacy.is_file() && !path.exists() {
        std::fs::rename(&legacy, &path).map_err(file_error(&legacy))?;
        tracing::warn!(
            from = %legacy.display(), to = %path.display(),
            "moved the signing key out of reach of the database's OS user; it was readable by it before, \
             so consider a new key (move the file away; list the old public key in AUDIT_TRUSTED_KEYS)"
        );
    }
    if path.exists() {
        make_private(&path, 0o600).map_err(file_error(&path))?;
    }
    Ok(path)
}

/// Gives `path` to this process's user with `mode`, if it is not so already.
#[cfg(unix)]
fn make_private(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Err(std::io::Error::other("is a symbolic link; give the real path"));
    }
    // SAFETY: geteuid and getegid have no preconditions and cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if meta.uid() != uid {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
        tracing::warn!(path = %path.display(), "the signing key belonged to another OS user; took it back");
    }
    if meta.mode() & 0o777 != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// Public keys whose checkpoints verification trusts besides the server's
/// own: 64 hex digits each (an Ed25519 public key), separated by commas or
/// whitespace. `source_name` names where they came from in errors.
pub fn parse_public_keys(text: &str, source_name: &str) -> Result<Vec<VerifyingKey>, SignerError> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .enumerate()
        .map(|(i, t)| {
            let bad = || SignerError::BadPublicKey { source_name: source_name.to_string(), index: i + 1 };
            let bytes = hex::decode(t).map_err(|_| bad())?;
            let bytes = <[u8; 32]>::try_from(bytes).map_err(|_| bad())?;
            VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
        })
        .collect()
}

/// The id a public key is registered under.
pub fn key_id(public_key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(public_key.as_bytes())[..8])
}

/// A 32-byte seed from hex (64 digits) or base64 (standard or URL-safe,
/// padded or not); surrounding whitespace is ignored.
pub fn parse_seed(text: &str, source_name: &str) -> Result<[u8; 32], SignerError> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).ok()
    } else {
        let engines = [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::STANDARD_NO_PAD,
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        engines.iter().find_map(|e| e.decode(text).ok())
    };
    bytes
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| SignerError::BadSeed { source_name: source_name.to_string() })
}

fn random_seed() -> std::io::Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    crate::random::fill(&mut seed)?;
    Ok(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_from_hex_and_base64_and_nothing_else() {
        let seed: [u8; 32] = std::array::from_fn(|i| i as u8 * 7);
        let hex_text = hex::encode(seed);
        let b64 = base64::engine::general_purpose::STANDARD.encode(seed);
        assert_eq!(parse_seed(&hex_text, "t").unwrap(), seed);
        assert_eq!(parse_seed(&format!("  {}\n", hex_text.to_uppercase()), "t").unwrap(), seed);
        assert_eq!(parse_seed(&b64, "t").unwrap(), seed);
        assert_eq!(parse_seed(b64.trim_end_matches('='), "t").unwrap(), seed);
        for bad in ["", "abcd", &hex_text[..62], "not base64 at all!"] {
            assert!(parse_seed(bad, "t").is_err(), "{bad:?}");
        }
        let err = parse_seed("s3cr3t-but-malformed", "AUDIT_SIGNING_KEY").unwrap_err().to_string();
        assert!(err.contains("AUDIT_SIGNING_KEY") && !err.contains("s3cr3t"), "never echo the secret: {err}");
    }

    #[test]
    fn key_ids_are_16_hex_characters_of_the_public_key_hash() {
        let signer = ChainSigner::from_seed([7; 32]);
        let id = signer.key_id();
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(id, &hex::encode(Sha256::digest(signer.verifying_key().as_bytes()))[..16]);
        assert_ne!(ChainSigner::from_seed([8; 32]).key_id(), id);
        assert!(!format!("{signer:?}").contains("key:"), "Debug hides the secret");
    }

    #[test]
    fn trusted_public_keys_parse_from_hex_lists_and_bad_ones_are_named() {
        let a = ChainSigner::from_seed([1; 32]);
        let b = ChainSigner::from_seed([2; 32]);
        let text = format!(" {}, {}\n", a.public_key_hex(), b.public_key_hex());
        let keys = parse_public_keys(&text, "AUDIT_TRUSTED_KEYS").unwrap();
        assert_eq!(keys, [a.verifying_key(), b.verifying_key()]);
        assert!(parse_public_keys("", "t").unwrap().is_empty());
        let err =
            parse_public_keys(&format!("{},abcd", a.public_key_hex()), "AUDIT_TRUSTED_KEYS").unwrap_err();
        assert_eq!(
            err.to_string(),
            "AUDIT_TRUSTED_KEYS: key 2 is not an Ed25519 public key in hex (64 digits)"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_key_directory_is_private_and_a_key_at_the_former_place_moves_into_it() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let data = std::env::temp_dir().join(format!("audit-keys-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&data).unwrap();
        // Where older versions kept it, readable by others.
        let legacy = data.join("signing.key");
        std::fs::write(&legacy, format!("{}\n", hex::encode([5u8; 32]))).unwrap();
        std::fs::set_permissions(&legacy, std::fs::Permissions::from_mode(0o644)).unwrap();
        let path = prepare_key_file(&data).unwrap();
        assert_eq!(path, data.join("keys").join("signing.key"));
        assert!(!legacy.exists());
        assert_eq!(mode(&data.join("keys")), 0o700);
        assert_eq!(mode(&path), 0o600);
        let signer = ChainSigner::load_or_create_file(&path).unwrap();
        assert_eq!(signer.key_id(), ChainSigner::from_seed([5; 32]).key_id());
        // A loosened directory is tightened again on the next start.
        std::fs::set_permissions(data.join("keys"), std::fs::Permissions::from_mode(0o755)).unwrap();
        prepare_key_file(&data).unwrap();
        assert_eq!(mode(&data.join("keys")), 0o700);
        std::fs::remove_dir_all(&data).unwrap();
    }

    #[test]
    fn a_key_file_is_created_private_once_and_then_reused() {
        let dir = std::env::temp_dir().join(format!("audit-signing-{}", uuid::Uuid::now_v7()));
        let path = dir.join("nested").join("signing.key");
        let first = ChainSigner::load_or_create_file(&path).unwrap();
        let again = ChainSigner::load_or_create_file(&path).unwrap();
        assert_eq!(first.key_id(), again.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        std::fs::write(&path, "garbage").unwrap();
        assert!(matches!(ChainSigner::load_or_create_file(&path), Err(SignerError::BadSeed { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
