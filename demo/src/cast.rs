//! Who acts in the demo: the org's members with their devices and sessions,
//! and the non-human actors (background jobs, API keys, integrations).

use app::model::{Actor, ActorKind};

use super::DemoOrg;
use super::ids::{email_local, record_id};
use super::rng::{Rng, cumulative, fnv1a, mix};
use super::words::{BROWSERS, COUNTRY_NETWORKS, MEMBER_NAMES};

pub const TEAM_SIZE: usize = 25;

/// One browser a member signs in from. It keeps its address and browser for
/// the whole demo; only the session changes with each sign-in.
#[derive(Debug, Clone)]
pub struct Device {
    pub browser: usize,
    pub ip: String,
    pub country: &'static str,
    /// The signed-in session, `None` after a logout or revocation.
    pub session: Option<String>,
}

impl Device {
    pub fn label(&self) -> &'static str {
        BROWSERS[self.browser].0
    }

    pub fn user_agent(&self) -> &'static str {
        BROWSERS[self.browser].1
    }
}

#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub name: &'static str,
    pub email: String,
    pub role: &'static str,
    pub actor: Actor,
    pub devices: Vec<Device>,
}

impl Person {
    pub fn is_admin(&self) -> bool {
        matches!(self.role, "owner" | "admin")
    }
}

/// A background process, API key or integration, with where it calls from.
#[derive(Debug, Clone)]
pub struct Robot {
    pub actor: Actor,
    pub ip: String,
    pub user_agent: Option<&'static str>,
    pub country: Option<&'static str>,
}

/// Background jobs of the product itself; the actor's name is the process.
pub const JOBS: &[&str] = &[
    "recurring-invoices",
    "email-sync",
    "bank-sync",
    "nightly-backup",
    "dunning",
    "session-cleanup",
    "form-intake",
];

/// Indexes into [`JOBS`], for the activity table.
pub mod job {
    pub const RECURRING_INVOICES: usize = 0;
    pub const EMAIL_SYNC: usize = 1;
    pub const BANK_SYNC: usize = 2;
    pub const NIGHTLY_BACKUP: usize = 3;
    pub const DUNNING: usize = 4;
    pub const SESSION_CLEANUP: usize = 5;
    pub const FORM_INTAKE: usize = 6;
}

/// (name, user agent, address prefix, country).
pub const API_KEY_ACTORS: &[(&str, &str, &str, &str)] = &[
    ("CI deploy key", "acme-deploy/2.4 (github-actions)", "34.89.121", "DE"),
    ("Zapier automation key", "Zapier", "54.86.50", "US"),
];

/// (id, name, user agent, address prefix).
pub const INTEGRATIONS: &[(&str, &str, &str, &str)] = &[
    ("int_slack", "Slack", "Slackbot 1.0", "52.27.10"),
    ("int_quickbooks", "QuickBooks", "Intuit-QuickBooks-Sync/3.1", "199.16.140"),
];

pub mod integration {
    pub const SLACK: usize = 0;
    pub const QUICKBOOKS: usize = 1;
}

/// Where the org's people mostly live (weights sum to 100).
const HOME_COUNTRIES: &[(usize, u32)] = &[(0, 40), (2, 15), (3, 10), (4, 10), (1, 10), (5, 8), (6, 7)];

#[derive(Debug, Clone)]
pub struct Cast {
    pub people: Vec<Person>,
    /// Cumulative activity weights: some people do far more than others.
    pub activity: Vec<u32>,
    /// The same, restricted to owners and admins (team and security work).
    pub admin_activity: Vec<u32>,
    pub jobs: Vec<Robot>,
    pub api_keys: Vec<Robot>,
    pub integrations: Vec<Robot>,
}

/// Roughly when the org was founded; member and key ids carry this time.
const FOUNDED_MILLIS: i64 = 1_672_531_200_000; // 2023-01-01

pub fn ip_in(prefix: &str, rng: &mut Rng) -> String {
    format!("{prefix}.{}", rng.range(2, 254))
}

impl Cast {
    /// Depends on the org only, so sign-in and the generator agree on who
    /// the members are whatever seed the events use.
    pub fn new(org: &DemoOrg) -> Cast {
        let mut rng = Rng::new(mix(fnv1a(org.id.as_bytes()), 0xCA57));
        let domain = format!("{}.example", org.slug);

        let mut names: Vec<&'static str> = MEMBER_NAMES.to_vec();
        if org.slug != "acme" {
            // Fisher–Yates, so other orgs have other teams.
            for i in (1..names.len()).rev() {
                let j = rng.below(i + 1);
                names.swap(i, j);
            }
        }
        names.truncate(TEAM_SIZE);

        let home_weights = cumulative(HOME_COUNTRIES.iter().map(|(_, w)| *w));
        let people: Vec<Person> = names
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let role = match i {
                    0 => "owner",
                    1..=3 => "admin",
                    4..=9 => "developer",
                    _ => "member",
                };
                let id = record_id("usr", FOUNDED_MILLIS + i as i64 * 86_400_000 * 9, &mut rng);
                let email = format!("{}@{}", email_local(name), domain);
                let actor = Actor {
                    kind: ActorKind::User,
                    id: id.clone(),
                    name: name.to_string(),
                    email: Some(email.clone()),
                    avatar: Some(format!("/avatars/{id}.svg")),
                };
                // The first few people cover every home country, so every
                // demo shows sign-ins from all of them.
                let home = match HOME_COUNTRIES.get(i) {
                    Some(&(network, _)) => network,
                    None => HOME_COUNTRIES[rng.weighted(&home_weights)].0,
                };
                let devices = devices(home, &mut rng);
                Person { id, name, email, role, actor, devices }
            })
            .collect();

        let weights: Vec<u32> =
            people.iter().map(|_| 1 + rng.below(10) as u32 * rng.below(4) as u32).collect();
        let activity = cumulative(weights.iter().copied());
        let admin_activity =
            cumulative(people.iter().zip(&weights).map(|(p, w)| if p.is_admin() { *w } else { 0 }));

        let jobs = JOBS
            .iter()
            .enumerate()
            .map(|(i, job)| Robot {
                actor: Actor {
                    kind: ActorKind::System,
                    id: format!("system:{job}"),
                    name: (*job).to_string(),
                    email: None,
                    avatar: None,
                },
                ip: format!("10.0.0.{}", 5 + i),
                user_agent: None,
                country: None,
            })
            .collect();
        let api_keys = API_KEY_ACTORS
            .iter()
            .enumerate()
            .map(|(i, (name, agent, prefix, country))| Robot {
                actor: Actor {
                    kind: ActorKind::ApiKey,
                    id: record_id("key", FOUNDED_MILLIS + 30_000_000_000 * (i as i64 + 1), &mut rng),
                    name: (*name).to_string(),
                    email: None,
                    avatar: None,
                },
                ip: ip_in(prefix, &mut rng),
                user_agent: Some(agent),
                country: Some(country),
            })
            .collect();
        let integrations = INTEGRATIONS
            .iter()
            .map(|(id, name, agent, prefix)| Robot {
                actor: Actor {
                    kind: ActorKind::Integration,
                    id: (*id).to_string(),
                    name: (*name).to_string(),
                    email: None,
                    avatar: None,
                },
                ip: ip_in(prefix, &mut rng),
                user_agent: Some(agent),
                country: Some("US"),
            })
            .collect();

        Cast { people, activity, admin_activity, jobs, api_keys, integrations }
    }
}

/// A desk browser at home, usually a phone, sometimes a laptop abroad.
fn devices(home: usize, rng: &mut Rng) -> Vec<Device> {
    let at = |rng: &mut Rng, network: usize, browser: usize| {
        let (country, prefixes) = COUNTRY_NETWORKS[network];
        let prefix: &'static str = prefixes[rng.below(prefixes.len())];
        Device { browser, ip: ip_in(prefix, rng), country, session: None }
    };
    const DESKTOPS: &[usize] = &[0, 1, 2, 3, 5, 7];
    const PHONES: &[usize] = &[4, 6];
    let desk = *rng.pick(DESKTOPS);
    let mut out = vec![at(rng, home, desk)];
    if rng.chance(0.7) {
        let phone = *rng.pick(PHONES);
        out.push(at(rng, home, phone));
    }
    if rng.chance(0.3) {
        let abroad = rng.below(COUNTRY_NETWORKS.len());
        let laptop = *rng.pick(DESKTOPS);
        out.push(at(rng, abroad, laptop));
    }
    out
}
