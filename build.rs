//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds the migrations at compile
//! time, and cargo does not otherwise know to look at them (a new migration would silently not be applied).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
