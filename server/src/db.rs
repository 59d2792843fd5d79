//! Opening the database: the configured one, or a private embedded cluster.

use std::path::Path;
use std::time::Duration;

use sqlx::Executor;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::embedded_pg::EmbeddedPostgres;

/// The migrations in `server/migrations`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// An open database: an owner pool for migrations and demo loading, and the
/// pool the product itself uses, whose connections act as `audit_app`.
pub struct Database {
    pub admin: PgPool,
    pub app: PgPool,
    embedded: Option<EmbeddedPostgres>,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    Embedded(#[from] crate::embedded_pg::EmbeddedError),
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl Database {
    /// Connects to `database_url`, or when it is `None` starts (or reuses) the
    /// embedded cluster in `data_dir`.
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Database, OpenError> {
        let (url, embedded) = match database_url {
            Some(url) => (url.to_string(), None),
            None => {
                let pg = EmbeddedPostgres::start(data_dir).await?;
                (pg.database_url(), Some(pg))
            }
        };
        let admin = match admin_pool(&url).await {
            Ok(pool) => pool,
            Err(err) => {
                // Do not leave a cluster we started running behind us.
                if let Some(pg) = embedded {
                    pg.stop().await;
                }
                return Err(OpenError::Connect(err));
            }
        };
        // Lazy: its role exists only once migrations have run.
        let app = app_pool_options().connect_lazy_with(admin.connect_options().as_ref().clone());
        Ok(Database { admin, app, embedded })
    }

    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// The embedded cluster's superuser URL, when this database is embedded.
    pub fn embedded_url(&self) -> Option<String> {
        self.embedded.as_ref().map(EmbeddedPostgres::database_url)
    }

    pub async fn migrate(&self) -> Result<(), OpenError> {
        MIGRATOR.run(&self.admin).await?;
        Ok(())
    }

    /// Closes the pools and stops the embedded cluster if this process started it.
    pub async fn close(self) {
        self.app.close().await;
        self.admin.close().await;
        if let Some(pg) = self.embedded {
            pg.stop().await;
        }
    }
}

/// The product's own pool. Each connection switches to the `audit_app` role,
/// which may only SELECT and INSERT audit events, and plans every query with
/// its actual parameters: the best plan for a search depends on the term
/// (rare terms want the trigram index, common ones the time index), which a
/// cached generic plan cannot know.
pub async fn app_pool(options: PgConnectOptions) -> Result<PgPool, sqlx::Error> {
    app_pool_options().connect_with(options).await
}

fn app_pool_options() -> PgPoolOptions {
    PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(5)).after_connect(
        |conn, _meta| {
            Box::pin(async move {
                conn.execute("SET ROLE audit_app; SET plan_cache_mode = force_custom_plan").await?;
                Ok(())
            })
        },
    )
}

async fn admin_pool(url: &str) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
}
