//! Migrations: the two backends have the same versions and names; applying them twice changes nothing;
//! readiness reports a database whose migrations are missing.

use std::collections::BTreeSet;
use std::path::Path;

use snp::store;

use crate::helpers::{TestApp, fresh_sqlite_database, test_settings};

fn migration_names(folder: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(folder);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().to_string())
        .collect()
}

#[test]
fn sqlite_and_postgres_migrations_have_the_same_versions_and_names() {
    let sqlite = migration_names("sqlite");
    let postgres = migration_names("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
    for name in &sqlite {
        let (version, rest) = name.split_once('_').expect("NNNN_name.sql");
        assert!(version.len() == 4 && version.chars().all(|c| c.is_ascii_digit()), "{name}");
        assert!(rest.ends_with(".sql"), "{name}");
    }
}

crate::on_both_databases!(migrating_twice_changes_nothing);

async fn migrating_twice_changes_nothing(app: TestApp) {
    app.practice(serde_json::json!({})).await;
    app.store.migrate().await.expect("second migration run");
    app.store.check_ready().await.expect("ready");
    assert!(!app.store.is_empty().await.unwrap(), "data survived");
}

#[tokio::test]
async fn an_unmigrated_database_is_not_ready() {
    let (url, _database) = fresh_sqlite_database();
    let store = store::connect(&test_settings(&url).database).await.unwrap();
    assert!(store.check_ready().await.is_err());
    store.migrate().await.unwrap();
    assert!(store.check_ready().await.is_ok());
}
