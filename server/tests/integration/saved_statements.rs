//! The statements written with `sqlx::query!` are type-checked at build time
//! against their saved descriptions in `server/.sqlx`. This holds those
//! descriptions to the schema the migrations make: a migration that renames
//! a column a saved statement uses fails here until
//! `scripts/sqlx-prepare.sh` is run again (and then the build fails where
//! the code no longer fits).

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Column, Executor, PgPool, TypeInfo};

/// `TextArray` (saved) and `TEXT[]` (described) name the same type.
fn type_name(saved_or_described: &str) -> String {
    let lower = saved_or_described.to_ascii_lowercase();
    match lower.strip_suffix("array") {
        Some(element) if !lower.ends_with("[]") => format!("{element}[]"),
        _ => lower,
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn saved_statements_match_the_schema(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let pool = PgPool::connect_with(connect).await.unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".sqlx");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("server/.sqlx exists") {
        let path = entry.unwrap().path();
        let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let sql = saved["query"].as_str().unwrap();
        let described = (&pool)
            .describe(sql)
            .await
            .unwrap_or_else(|err| panic!("{}: no longer prepares: {err}\n{sql}", path.display()));
        let saved = &saved["describe"];
        let columns: Vec<(String, String)> = saved["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap().to_string(), type_name(c["type_info"].as_str().unwrap())))
            .collect();
        let now: Vec<(String, String)> = described
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), type_name(c.type_info().name())))
            .collect();
        assert_eq!(now, columns, "{}: columns changed; run scripts/sqlx-prepare.sh\n{sql}", path.display());
        let nullable: Vec<Option<bool>> =
            saved["nullable"].as_array().unwrap().iter().map(Value::as_bool).collect();
        let now: Vec<Option<bool>> = (0..described.columns().len()).map(|i| described.nullable(i)).collect();
        assert_eq!(now, nullable, "{}: nullability changed; run scripts/sqlx-prepare.sh", path.display());
        let params: Vec<String> = saved["parameters"]["Left"]
            .as_array()
            .map(|p| p.iter().map(|t| type_name(t.as_str().unwrap())).collect())
            .unwrap_or_default();
        let now: Vec<String> = match described.parameters() {
            Some(sqlx::Either::Left(types)) => types.iter().map(|t| type_name(t.name())).collect(),
            _ => Vec::new(),
        };
        assert_eq!(now, params, "{}: parameters changed; run scripts/sqlx-prepare.sh", path.display());
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} saved statements: is server/.sqlx complete?");
}

#[test]
fn saved_and_described_type_names_compare() {
    assert_eq!(type_name("TextArray"), "text[]");
    assert_eq!(type_name("TEXT[]"), "text[]");
    assert_eq!(type_name("Timestamptz"), "timestamptz");
}
