//! Opening the database: the configured one, or a private embedded cluster.

use std::path::Path;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::embedded_pg::EmbeddedPostgres;

/// The migrations in `server/migrations`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// An open (and migrated) database: an owner pool for migrations, demo
/// loading and the checkpointer, and the product's own pools, whose
/// connections log in as `audit_app`.
///
/// The product's connections are split by what they are for, so that no
/// kind of work can take the connections another needs: forty slow searches
/// may fill `reads`, and ingestion (`app`) and sign-in (`sessions`) still
/// get theirs at once. Each read is also bounded in time (a statement
/// timeout) and in number per viewer and org (`app::api::Admission`).
pub struct Database {
    pub admin: PgPool,
    /// Writes: ingestion, the product's own audit events, API keys.
    pub app: PgPool,
    /// Timeline pages, counts, menus, the live tail's heads, exports and
    /// verifications.
    pub reads: PgPool,
    /// Sign-in, sessions and memberships: who is asking.
    pub sessions: PgPool,
    embedded: Option<EmbeddedPostgres>,
}

/// Connections per pool. 12 + 16 + 6 + the owner's 4 and the live tail's
/// listener stay well under PostgreSQL's default of 100, leaving room for
/// a second server process and for psql.
const WRITE_CONNECTIONS: u32 = 12;
const READ_CONNECTIONS: u32 = 16;
const SESSION_CONNECTIONS: u32 = 6;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    Embedded(#[from] crate::embedded_pg::EmbeddedError),
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "cannot log in as the audit_app role: {0} (set AUDIT_APP_PASSWORD to its password, or let the \
         server set it by migrating as a role that may ALTER ROLE audit_app)"
    )]
    AppLogin(#[source] sqlx::Error),
}

impl Database {
    /// Connects to `database_url`, or when it is `None` starts (or reuses) the
    /// embedded cluster in `data_dir`; applies the migrations and prepares
    /// the app role's login.
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
        // The app role can log in only once migrations have run, and its
        // password may need setting; both are the owner's job, done here so
        // every command gets a working app pool.
        let prepared = async {
            MIGRATOR.run(&admin).await?;
            let login = crate::app_login::app_login(admin.connect_options().as_ref())
                .await
                .map_err(OpenError::AppLogin)?;
            Ok::<_, OpenError>((
                app_pool_options(WRITE_CONNECTIONS).connect_lazy_with(login.clone()),
                app_pool_options(READ_CONNECTIONS).connect_lazy_with(login.clone()),
                app_pool_options(SESSION_CONNECTIONS).connect_lazy_with(login),
            ))
        };
        match prepared.await {
            Ok((app, reads, sessions)) => Ok(Database { admin, app, reads, sessions, embedded }),
            Err(err) => {
                admin.close().await;
                if let Some(pg) = embedded {
                    pg.stop().await;
                }
                Err(err)
            }
        }
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
        self.reads.close().await;
        self.sessions.close().await;
        self.admin.close().await;
        if let Some(pg) = self.embedded {
            pg.stop().await;
        }
    }
}

/// The product's own pool, for the database `owner` (the migrating role)
/// names. Its connections log in as `audit_app` (see [`crate::app_login`]),
/// which may only SELECT and INSERT audit events. Nothing is set per
/// session: what a read needs (plan_cache_mode) its transaction sets
/// (store::tenant, migration 0019), so it also holds behind a
/// transaction-mode pooler.
pub async fn app_pool(owner: PgConnectOptions) -> Result<PgPool, sqlx::Error> {
    let login = crate::app_login::app_login(&owner).await?;
    app_pool_options(READ_CONNECTIONS).connect_with(login).await
}

fn app_pool_options(connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(5))
        // By default every acquire pings the connection first: a round trip
        // on every page read and every write group, as long as the work
        // itself at these sizes. A connection used within the last second
        // is alive (one that failed is closed, not returned); an idler is
        // still checked, so after a database restart the stale ones are
        // found and replaced before anyone gets them.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > IDLE_BEFORE_PING {
                    use sqlx::Connection;
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// How long a pooled connection may sit unused and still be handed out
/// without a ping.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

async fn admin_pool(url: &str) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
}
