use serde::{Deserialize, Serialize};

/// A member's role in an org. The View Audit Log permission comes with
/// Owner, Admin and Developer; Members work in the product but cannot read
/// its audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Developer,
    Member,
    /// Whoever holds a viewer token: reads the token's scope of the log,
    /// nothing else. Never stored as a membership.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Developer, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Developer => "developer",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Developer => "Developer",
            Role::Member => "Member",
            Role::Viewer => "Embedded viewer",
        }
    }

    /// The View Audit Log permission.
    pub fn can_view_audit_log(self) -> bool {
        !matches!(self, Role::Member)
    }
}

/// An org as the viewer's org menu shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRef {
    pub slug: String,
    pub name: String,
}

/// Who is looking, in which org, and with what role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Viewer {
    pub name: String,
    pub email: String,
    pub org: OrgRef,
    pub role: Role,
    /// Every org the viewer belongs to, for switching.
    pub orgs: Vec<OrgRef>,
    /// What this viewer may see of the org's log at most: empty for members,
    /// narrowed for an embedded timeline. Applied on the server to every
    /// read, on top of whatever filter the page asks for.
    #[serde(default)]
    pub scope: super::TimelineFilter,
}

/// A sign-in-able demo account, listed on the login page in demo mode only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoAccount {
    pub name: String,
    pub email: String,
    pub role: Role,
    pub org: String,
}
