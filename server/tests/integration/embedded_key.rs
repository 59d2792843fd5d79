//! The signing key is out of the embedded cluster's reach: started the way
//! `serve` starts it, the cluster's superuser cannot `pg_read_file` the key,
//! and the cluster's OS user can read nothing in the key directory.

use server::chain::ChainSigner;
use server::chain::signing::{KEY_DIR, prepare_key_file};
use server::embedded_pg::{EmbeddedPostgres, runs_as_other_user};
use sqlx::Connection;

#[tokio::test]
async fn the_embedded_superuser_cannot_read_the_signing_key() {
    if !runs_as_other_user() {
        // Not root: the cluster runs as this same OS user and can read what
        // the server can; `serve` says so in its log (and the README).
        eprintln!("skipped: the embedded cluster would run as this OS user");
        return;
    }
    // Under /var/tmp: the cluster's user must reach the data directory.
    let dir = std::path::PathBuf::from(format!("/var/tmp/audit-key-test-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    // A key from an older version, at the former place: moved in first.
    std::fs::write(dir.join("signing.key"), hex::encode([7u8; 32])).unwrap();
    let key_file = prepare_key_file(&dir).unwrap();
    let signer = ChainSigner::load_or_create_file(&key_file).unwrap();
    assert_eq!(signer.key_id(), ChainSigner::from_seed([7; 32]).key_id());

    // Starting the cluster hands the data directory to its user, but not
    // the key directory.
    let pg = EmbeddedPostgres::start(&dir).await.unwrap();
    let url = pg.database_url();
    let data_dir = dir.clone();
    // Spawned, so a failed assertion still stops the cluster below.
    let outcome = async move {
        let dir = data_dir;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let superuser: bool =
            sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert!(superuser);
        let canonical = key_file.canonicalize().unwrap();
        for path in [canonical.clone(), canonical.parent().unwrap().to_path_buf()] {
            let read = sqlx::query_scalar::<_, String>("SELECT pg_read_file($1)")
                .bind(path.to_string_lossy().to_string())
                .fetch_one(&mut conn)
                .await;
            let err = read.expect_err("the cluster must not read the key");
            assert!(err.to_string().contains("Permission denied"), "{}: {err}", path.display());
        }
        let listed = sqlx::query_scalar::<_, String>("SELECT pg_ls_dir($1)")
            .bind(canonical.parent().unwrap().to_string_lossy().to_string())
            .fetch_all(&mut conn)
            .await;
        assert!(listed.is_err(), "the key directory cannot even be listed");
        // The key stays the server's after the cluster took the rest.
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::metadata(&key_file).unwrap();
        assert_eq!((meta.uid(), meta.permissions().mode() & 0o777), (0, 0o600));
        let meta = std::fs::metadata(dir.join(KEY_DIR)).unwrap();
        assert_eq!((meta.uid(), meta.permissions().mode() & 0o777), (0, 0o700));
        conn.close().await.unwrap();
    };
    let result = tokio::spawn(outcome).await;
    pg.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    result.unwrap();
}
