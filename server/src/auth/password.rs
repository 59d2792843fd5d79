use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

/// An argon2id hash (PHC string) of `password` with a fresh random salt.
/// Deliberately slow (tens of ms): call from a blocking thread.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::encode_b64(&crate::random::bytes::<16>()).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 accepts any password")
        .to_string()
}

/// Whether `password` matches `hash`; a malformed hash matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_and_are_salted() {
        let a = super::hash_password("correct horse");
        let b = super::hash_password("correct horse");
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(super::verify_password("correct horse", &a));
        assert!(!super::verify_password("Correct horse", &a));
        assert!(!super::verify_password("x", "not a hash"));
    }
}
