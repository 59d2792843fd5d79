// The migrations are compiled into the binary by `sqlx::migrate!`, which does
// not notice a newly added file by itself: rebuild when the folder changes.
//
// `sqlx::query!` statements are checked against the saved descriptions in
// `.sqlx` (scripts/sqlx-prepare.sh writes them), never against whatever
// DATABASE_URL happens to name while building (the tests set one to a bare
// cluster). `SQLX_OFFLINE=false` in the environment turns this off, which
// only the prepare script does.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=.sqlx");
    println!("cargo:rerun-if-env-changed=SQLX_OFFLINE");
    if std::env::var_os("SQLX_OFFLINE").is_none() {
        println!("cargo:rustc-env=SQLX_OFFLINE=true");
    }
}
