// The migrations are compiled into the binary by `sqlx::migrate!`, which does
// not notice a newly added file by itself: rebuild when the folder changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
