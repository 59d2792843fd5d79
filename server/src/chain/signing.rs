//! The server's checkpoint signing key.
//!
//! An Ed25519 key whose secret half stays out of the database: a superuser
//! who rewrites a chain cannot sign a checkpoint for the rewrite. It comes
//! from `AUDIT_SIGNING_KEY` (a 32-byte seed, hex or base64) or from a key
//! file, created with mode 0600 on first start. Its public half is
//! registered in `signing_keys` under its key id: the first 16 hex
//! characters of SHA-256(public key).

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

    /// Records the public key in `signing_keys`, so checkpoints signed with
    /// it can be verified from the database alone. Idempotent.
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
