//! The operator's commands beside `serve`: verifying chains, adding people,
//! the first-owner setup link, and where the signing key comes from.

use std::path::Path;

use anyhow::Context;
use app::model::{NewAuditEvent, Role};
use server::auth::users;
use server::chain::{ChainSigner, TrustedKeys, signing};
use server::{Database, self_audit, store};

/// Nobody can sign in yet: print a one-time link to create the first owner,
/// and the command that does the same.
pub async fn print_setup(db: &Database, url: &str) -> anyhow::Result<()> {
    let Some(token) = server::auth::issue_setup_token(&db.admin).await? else { return Ok(()) };
    println!(
        "\nNo one can sign in yet. Create the first owner (this link works once, for {} hours):\n  \
         {url}/setup?token={token}\nor from a shell:\n  AUDIT_USER_PASSWORD='…' audit-timeline user add \
         --email you@example.com --name 'Your Name' --org your-org --role owner\n",
        server::auth::setup::SETUP_TTL.num_hours()
    );
    Ok(())
}

/// The signing key: AUDIT_SIGNING_KEY, or the key file in `<data dir>/keys/`
/// (made private to this OS user, and moved there from where older versions
/// kept it).
pub fn load_signer(db: &Database, data_dir: &Path) -> anyhow::Result<ChainSigner> {
    let from_env = std::env::var_os(signing::SIGNING_KEY_ENV).is_some();
    let key_file = signing::prepare_key_file(data_dir)?;
    if !from_env && db.is_embedded() && !server::embedded_pg::runs_as_other_user() {
        tracing::warn!(
            key_file = %key_file.display(),
            "the embedded PostgreSQL runs as this same OS user, so a database superuser could read the \
             signing key (pg_read_file) and sign a rewritten chain; run the server as root (the cluster \
             then runs as 'postgres'), give the key in AUDIT_SIGNING_KEY, or use your own DATABASE_URL"
        );
    }
    Ok(ChainSigner::load(&key_file)?)
}

/// The server's own key (when there is one) and the operator's list.
pub fn trusted_keys(listed: Option<&str>, own: Option<&ChainSigner>) -> anyhow::Result<TrustedKeys> {
    let mut keys: Vec<_> = own.map(ChainSigner::verifying_key).into_iter().collect();
    if let Some(text) = listed {
        keys.extend(signing::parse_public_keys(text, "AUDIT_TRUSTED_KEYS")?);
    }
    Ok(keys.into())
}

/// Verifies chains. Checkpoints must carry the signature of a key this
/// process trusts: its own (AUDIT_SIGNING_KEY or the key file) or one of
/// AUDIT_TRUSTED_KEYS; keys found only in the database could have been
/// planted there by whoever changed the events. With neither at hand, it
/// says so and falls back to the keys recorded in the database.
pub async fn verify(
    db: &Database,
    data_dir: &Path,
    listed: Option<&str>,
    org_slug: Option<&str>,
) -> anyhow::Result<()> {
    let key_file = signing::key_file(data_dir);
    let legacy = data_dir.join("signing.key");
    let own = if std::env::var_os(signing::SIGNING_KEY_ENV).is_some() || key_file.exists() || legacy.exists()
    {
        Some(load_signer(db, data_dir)?)
    } else {
        None
    };
    let trusted = trusted_keys(listed, own.as_ref())?;
    if trusted.is_empty() {
        eprintln!(
            "no signing key in {} and no AUDIT_TRUSTED_KEYS: trusting the keys recorded in the database",
            data_dir.display()
        );
    }
    let orgs = orgs_named(db, org_slug).await?;
    let mut broken = 0;
    for org in orgs {
        let report = if trusted.is_empty() {
            server::chain::verify_org(&db.app, org.id).await?
        } else {
            server::chain::verify_org_trusting(&db.app, org.id, &trusted).await?
        };
        println!("{} ({}): {report}", org.name, org.slug);
        broken += usize::from(!report.is_ok());
    }
    anyhow::ensure!(broken == 0, "{broken} chain(s) broken");
    Ok(())
}

pub async fn add_user(
    db: &Database,
    email: &str,
    name: &str,
    org_slug: &str,
    role: Role,
) -> anyhow::Result<()> {
    let password = match std::env::var("AUDIT_USER_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprintln!("Password for {email} (one line on stdin):");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    anyhow::ensure!(password.chars().count() >= 10, "the password must have at least 10 characters");
    let org = match store::find_org(&db.admin, org_slug).await? {
        Some(org) => org,
        None => {
            store::ensure_org(&db.admin, uuid::Uuid::now_v7(), org_slug, org_slug).await?;
            store::find_org(&db.admin, org_slug).await?.context("org just created")?
        }
    };
    let hash = tokio::task::spawn_blocking(move || server::auth::hash_password(&password)).await?;
    let user = users::ensure_user(&db.admin, email, name, &hash).await?;
    users::set_membership(&db.admin, org.id, user, role).await?;
    // Who may read the log is itself in the log.
    store::insert_events(&db.app, &[user_added(org.id, user, email, role)]).await?;
    println!("{email} is {} of {} (/o/{})", role.label(), org.name, org.slug);
    Ok(())
}

/// The audit event of `user add`: the person, the role, who ran it.
fn user_added(org_id: uuid::Uuid, user_id: uuid::Uuid, email: &str, role: Role) -> NewAuditEvent {
    let entity = self_audit::entity("user", user_id, email.trim().to_lowercase());
    NewAuditEvent {
        metadata: serde_json::json!({ "role": role.as_str(), "via": "cli" }),
        ..self_audit::event(org_id, store::cli_actor(), "user.add", entity)
    }
}

/// `recount`: every org's (or one org's) rollups recounted and repaired.
pub async fn recount(db: &Database, org_slug: Option<&str>) -> anyhow::Result<()> {
    let orgs = orgs_named(db, org_slug).await?;
    let mut drifted = 0;
    for org in orgs {
        let r = store::rollups::recount_org(&db.admin, org.id).await?;
        if r.drifted_rows == 0 && r.drifted_actor_rows == 0 && !r.total_drifted {
            println!("{}: {} events, rollups exact", org.slug, r.events);
        } else {
            drifted += 1;
            println!(
                "{}: {} events; {} rollup rows, {} per-person rows{} had drifted and were repaired",
                org.slug,
                r.events,
                r.drifted_rows,
                r.drifted_actor_rows,
                if r.total_drifted { " and the total" } else { "" }
            );
        }
    }
    if drifted > 0 {
        anyhow::bail!("{drifted} org(s) had drifted rollups (now repaired)");
    }
    Ok(())
}

/// The org with slug `org_slug`, or every org when none is named.
async fn orgs_named(db: &Database, org_slug: Option<&str>) -> anyhow::Result<Vec<store::Org>> {
    Ok(match org_slug {
        Some(slug) => vec![
            store::find_org(&db.admin, slug).await?.with_context(|| format!("no org with slug '{slug}'"))?,
        ],
        None => store::all_orgs(&db.admin).await?,
    })
}
