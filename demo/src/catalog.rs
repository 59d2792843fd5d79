//! What the demo org keeps records of: the 21 entity categories, the fields
//! each record has and how they change, and which actions happen how often.

use super::cast::{integration, job};
use super::words::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Client,
    Project,
    Lead,
    Contact,
    File,
    Invoice,
    Quote,
    Payment,
    PaymentAccount,
    Expense,
    Task,
    Submission,
    Member,
    Role,
    Invitation,
    Settings,
    Branding,
    Domain,
    ApiKey,
    ShareGrant,
    Session,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Client => "client",
            Category::Project => "project",
            Category::Lead => "lead",
            Category::Contact => "contact",
            Category::File => "file",
            Category::Invoice => "invoice",
            Category::Quote => "quote",
            Category::Payment => "payment",
            Category::PaymentAccount => "payment_account",
            Category::Expense => "expense",
            Category::Task => "task",
            Category::Submission => "submission",
            Category::Member => "member",
            Category::Role => "role",
            Category::Invitation => "invitation",
            Category::Settings => "settings",
            Category::Branding => "branding",
            Category::Domain => "domain",
            Category::ApiKey => "api_key",
            Category::ShareGrant => "share_grant",
            Category::Session => "session",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// How a field's values are made up.
#[derive(Debug, Clone, Copy)]
pub enum Gen {
    Choice(&'static [&'static str]),
    IntChoice(&'static [i64]),
    /// Whole currency units; values get pennies.
    Money(u32, u32),
    Int(i64, i64),
    Bool,
    /// A fixed boolean (e.g. `builtin: false` for roles made in the demo).
    Flag(bool),
    Const(&'static str),
    /// A calendar date this many days from the event, `YYYY-MM-DD`.
    Date(i32, i32),
    /// The event's own time, RFC 3339.
    Now,
    /// A few sentences; updates change a few words, add or drop a sentence.
    Paragraph,
    Company,
    Person,
    /// A person's email from sibling fields: (name field, company field).
    PersonEmail(&'static str, &'static str),
    /// A role address (`accounts@…`) at the company named in a sibling field.
    CompanyEmail(&'static str),
    /// Someone outside the org.
    AnyEmail,
    Phone,
    /// A team member's name.
    Member,
    /// `{street, city, postcode, country}`, kept coherent when it changes.
    Address,
    Color,
    FileName,
    /// The MIME type of the file name in a sibling field.
    MimeOf(&'static str),
    ProjectName,
    TaskTitle,
    Expense,
    ExpenseVendor(&'static str),
    PaymentAccountName,
    ProviderOf(&'static str),
    ClientRef,
    ProjectRef,
    InvoiceRef,
    PaymentAccountRef,
    /// A project or file being shared.
    ShareableRef,
    /// `{a}{sep}{b}` from two sibling fields, for display names.
    Join(&'static str, &'static str, &'static str),
    OrgDomain,
    TaxId,
    PoNumber,
    /// Numbered documents: `INV-0042`. The counter is per category.
    Number(&'static str),
    Secret(Secret),
    Tags(&'static [&'static str]),
    Nested(&'static [Field]),
}

/// Fake credentials. A later redaction step replaces values of fields with
/// these names, so the demo must contain them to show that it works.
#[derive(Debug, Clone, Copy)]
pub enum Secret {
    Password,
    StripeKey,
    Webhook,
    ApiKey,
    Totp,
    SlackToken,
    OAuthClient,
    DomainToken,
    LinkToken,
    KeyPrefix,
}

#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// Set at creation, never changed.
    Fixed,
    /// Always present; picked for updates with this weight (0: only
    /// changed by a dedicated verb such as `assign`).
    Edit(u8),
    /// Present at creation with this percentage; updates add, change or
    /// remove it.
    Optional(u8, u8),
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub generator: Gen,
    pub mode: Mode,
}

const fn f(name: &'static str, generator: Gen, mode: Mode) -> Field {
    Field { name, generator, mode }
}

use Gen as G;
use Mode::{Edit as E, Fixed as X, Optional as O};

const CURRENCIES: &[&str] = &["GBP", "EUR", "USD"];
const PERMISSION_LEVELS: &[&str] = &["none", "read", "write", "admin"];

const CLIENT: &[Field] = &[
    f("name", G::Company, E(1)),
    f("status", G::Choice(&["active", "on_hold", "prospect"]), E(4)),
    f("industry", G::Choice(INDUSTRIES), E(1)),
    f("email", G::CompanyEmail("name"), E(2)),
    f("phone", G::Phone, E(2)),
    f("billing", G::Address, E(4)),
    f("payment_terms", G::Choice(&["due_on_receipt", "net_15", "net_30", "net_45", "net_60"]), E(2)),
    f("account_manager", G::Member, E(2)),
    f("tax_id", G::TaxId, O(1, 60)),
    f("notes", G::Paragraph, O(3, 50)),
];

const PROJECT_SETTINGS: &[Field] = &[
    f("visibility", G::Choice(&["private", "team", "client_portal"]), E(3)),
    f("billable", G::Bool, E(2)),
    f("time_tracking", G::Bool, E(1)),
    f("hourly_rate", G::Money(60, 220), E(2)),
];

const PROJECT: &[Field] = &[
    f("name", G::ProjectName, E(1)),
    f("client", G::ClientRef, E(1)),
    f("status", G::Choice(&["planning", "active", "on_hold", "completed"]), E(4)),
    f("budget", G::Money(2_000, 120_000), E(3)),
    f("currency", G::Choice(CURRENCIES), X),
    f("start_date", G::Date(-60, 0), E(1)),
    f("due_date", G::Date(14, 180), E(3)),
    f("owner", G::Member, E(2)),
    f("description", G::Paragraph, E(3)),
    f("settings", G::Nested(PROJECT_SETTINGS), E(3)),
    f("tags", G::Tags(PROJECT_TAGS), O(1, 50)),
];

const LEAD: &[Field] = &[
    f("name", G::Person, E(1)),
    f("company", G::Company, E(1)),
    f("email", G::PersonEmail("name", "company"), E(1)),
    f("phone", G::Phone, O(1, 60)),
    f(
        "source",
        G::Choice(&["website", "referral", "linkedin", "conference", "cold_outreach", "partner"]),
        E(1),
    ),
    f(
        "status",
        G::Choice(&["new", "contacted", "qualified", "proposal_sent", "negotiation", "won", "lost"]),
        E(5),
    ),
    f("estimated_value", G::Money(1_000, 80_000), E(3)),
    f("owner", G::Member, E(0)),
    f("next_follow_up", G::Date(1, 30), O(2, 50)),
    f("notes", G::Paragraph, O(3, 60)),
];

const CONTACT: &[Field] = &[
    f("name", G::Person, E(1)),
    f("client", G::ClientRef, E(1)),
    f("email", G::PersonEmail("name", "client"), E(2)),
    f("phone", G::Phone, E(2)),
    f("title", G::Choice(JOB_TITLES), E(2)),
    f("address", G::Address, O(2, 60)),
    f("newsletter_opt_in", G::Bool, E(1)),
    f("last_contacted_at", G::Date(-30, 0), O(1, 30)),
    f("notes", G::Paragraph, O(2, 40)),
];

const FILE: &[Field] = &[
    f("name", G::FileName, E(2)),
    f("mime_type", G::MimeOf("name"), X),
    f("size_bytes", G::Int(12_000, 48_000_000), E(1)),
    f("folder", G::Choice(FOLDERS), E(2)),
    f("visibility", G::Choice(&["private", "team", "client"]), E(2)),
    f("project", G::ProjectRef, O(1, 70)),
    f("description", G::Paragraph, O(2, 40)),
];

const INVOICE: &[Field] = &[
    f("number", G::Number("INV-"), X),
    f("client", G::ClientRef, E(1)),
    f("status", G::Choice(&["draft", "sent", "paid", "overdue", "partially_paid"]), E(5)),
    f("total", G::Money(150, 25_000), E(4)),
    f("currency", G::Choice(CURRENCIES), E(1)),
    f("tax_rate", G::IntChoice(&[0, 5, 19, 20, 21]), E(1)),
    f("line_items", G::Int(1, 12), E(2)),
    f("issue_date", G::Date(-10, 0), E(1)),
    f("due_date", G::Date(7, 45), E(3)),
    f("billing", G::Address, E(3)),
    f("po_number", G::PoNumber, O(2, 40)),
    f("notes", G::Paragraph, O(3, 50)),
];

const QUOTE: &[Field] = &[
    f("number", G::Number("QT-"), X),
    f("client", G::ClientRef, E(1)),
    f("title", G::ProjectName, E(1)),
    f("status", G::Choice(&["draft", "sent", "accepted", "declined"]), E(4)),
    f("total", G::Money(500, 60_000), E(4)),
    f("currency", G::Choice(CURRENCIES), E(1)),
    f("valid_until", G::Date(14, 60), E(3)),
    f("discount_percent", G::IntChoice(&[5, 10, 15, 20]), O(2, 30)),
    f("notes", G::Paragraph, O(3, 60)),
];

const PAYMENT: &[Field] = &[
    f("reference", G::Number("PAY-"), X),
    f("invoice", G::InvoiceRef, E(1)),
    f("amount", G::Money(100, 25_000), E(2)),
    f("currency", G::Choice(CURRENCIES), X),
    f("method", G::Choice(&["card", "bank_transfer", "sepa_debit", "paypal", "cash"]), E(1)),
    f("status", G::Choice(&["pending", "succeeded", "failed", "refunded"]), E(4)),
    f("received_on", G::Date(-5, 0), E(1)),
    f("account", G::PaymentAccountRef, E(1)),
    f("fee", G::Money(0, 80), O(1, 50)),
    f("last_synced_at", G::Now, O(0, 30)),
    f("notes", G::Paragraph, O(1, 20)),
];

const PAYOUT_SCHEDULE: &[Field] =
    &[f("interval", G::Choice(&["daily", "weekly", "monthly"]), E(2)), f("delay_days", G::Int(2, 7), E(1))];

const PAYMENT_ACCOUNT: &[Field] = &[
    f("name", G::PaymentAccountName, E(1)),
    f("provider", G::ProviderOf("name"), X),
    f("currency", G::Choice(CURRENCIES), E(1)),
    f("default", G::Bool, E(2)),
    f("status", G::Choice(&["active", "needs_reauth", "disconnected"]), E(3)),
    f("balance", G::Money(0, 250_000), E(2)),
    f("payout_schedule", G::Nested(PAYOUT_SCHEDULE), E(2)),
    f("api_key", G::Secret(Secret::StripeKey), O(2, 60)),
    f("webhook_secret", G::Secret(Secret::Webhook), O(2, 50)),
    f("last_synced_at", G::Now, O(0, 50)),
];

const EXPENSE: &[Field] = &[
    f("description", G::Expense, X),
    f("vendor", G::ExpenseVendor("description"), X),
    f("category", G::Choice(EXPENSE_CATEGORIES), E(2)),
    f("amount", G::Money(8, 3_500), E(3)),
    f("currency", G::Choice(CURRENCIES), E(1)),
    f("date", G::Date(-20, 0), E(1)),
    f("status", G::Choice(&["submitted", "reimbursed", "rejected"]), E(3)),
    f("billable", G::Bool, E(1)),
    f("project", G::ProjectRef, O(1, 50)),
    f("receipt", G::FileName, O(2, 60)),
    f("approved_by", G::Member, O(0, 0)),
    f("notes", G::Paragraph, O(1, 30)),
];

const TASK: &[Field] = &[
    f("title", G::TaskTitle, E(2)),
    f("project", G::ProjectRef, E(1)),
    f("status", G::Choice(&["todo", "in_progress", "in_review", "done", "blocked"]), E(6)),
    f("priority", G::Choice(&["low", "medium", "high", "urgent"]), E(3)),
    f("assignee", G::Member, E(1)),
    f("description", G::Paragraph, E(3)),
    f("due_date", G::Date(1, 30), O(3, 70)),
    f("estimate_hours", G::Int(1, 40), O(2, 50)),
    f("labels", G::Tags(TASK_LABELS), O(1, 40)),
];

const SUBMISSION_ANSWERS: &[Field] = &[
    f("company", G::Company, E(1)),
    f("budget", G::Choice(&["< £5k", "£5k–£15k", "£15k–£50k", "£50k+"]), E(2)),
    f("timeline", G::Choice(&["ASAP", "1–3 months", "3–6 months", "Flexible"]), E(2)),
    f("message", G::Paragraph, E(3)),
    f("phone", G::Phone, O(1, 50)),
];

const SUBMISSION: &[Field] = &[
    f("form", G::Choice(FORMS), X),
    f("submitter", G::Person, X),
    f("title", G::Join("form", " — ", "submitter"), X),
    f("submitter_email", G::PersonEmail("submitter", ""), X),
    f("status", G::Choice(&["pending", "in_review", "rejected"]), E(2)),
    f("answers", G::Nested(SUBMISSION_ANSWERS), E(4)),
    f("reviewer", G::Member, O(1, 30)),
    f("revision_note", G::Choice(REVISION_NOTES), O(0, 0)),
];

const NOTIFICATION_PREFERENCES: &[Field] = &[
    f("email_digest", G::Choice(&["daily", "weekly", "off"]), E(2)),
    f("mentions", G::Bool, E(1)),
    f("weekly_report", G::Bool, E(1)),
];

/// Members are the cast's people; name, email and role come from there.
const MEMBER: &[Field] = &[
    f("name", G::Person, X),
    f("email", G::AnyEmail, X),
    f("role", G::Choice(&["admin", "developer", "member"]), E(0)),
    f("status", G::Const("active"), X),
    f("title", G::Choice(TEAM_TITLES), E(2)),
    f("timezone", G::Choice(TIMEZONES), E(2)),
    f("locale", G::Choice(LOCALES), E(1)),
    f("phone", G::Phone, O(2, 60)),
    f("mfa_enabled", G::Bool, E(2)),
    f("mfa_secret", G::Secret(Secret::Totp), O(1, 40)),
    f("password", G::Secret(Secret::Password), E(2)),
    f("notification_preferences", G::Nested(NOTIFICATION_PREFERENCES), E(2)),
];

const PERMISSIONS: &[Field] = &[
    f("invoices", G::Choice(PERMISSION_LEVELS), E(1)),
    f("clients", G::Choice(PERMISSION_LEVELS), E(1)),
    f("projects", G::Choice(PERMISSION_LEVELS), E(1)),
    f("files", G::Choice(PERMISSION_LEVELS), E(1)),
    f("expenses", G::Choice(PERMISSION_LEVELS), E(1)),
    f("members", G::Choice(PERMISSION_LEVELS), E(1)),
    f("settings", G::Choice(PERMISSION_LEVELS), E(1)),
    f("api_keys", G::Choice(PERMISSION_LEVELS), E(1)),
    f("audit_log", G::Choice(&["none", "read"]), E(1)),
];

const ROLE: &[Field] = &[
    f("name", G::Choice(ROLE_NAMES), X),
    f("description", G::Choice(ROLE_DESCRIPTIONS), E(2)),
    f("builtin", G::Flag(false), X),
    f("permissions", G::Nested(PERMISSIONS), E(8)),
];

const INVITATION: &[Field] = &[
    f("email", G::AnyEmail, X),
    f("role", G::Choice(&["admin", "developer", "member"]), E(2)),
    f("invited_by", G::Member, X),
    f("status", G::Const("pending"), X),
    f("expires_on", G::Date(7, 14), E(1)),
    f("message", G::Paragraph, O(1, 40)),
];

const PASSWORD_POLICY: &[Field] = &[
    f("min_length", G::IntChoice(&[8, 10, 12, 14, 16]), E(2)),
    f("require_symbols", G::Bool, E(1)),
    f("rotation_days", G::IntChoice(&[0, 90, 180]), E(1)),
];

const SSO: &[Field] = &[
    f("enabled", G::Bool, E(2)),
    f("provider", G::Choice(&["okta", "google", "azure_ad"]), E(1)),
    f("client_secret", G::Secret(Secret::OAuthClient), E(1)),
];

const SECURITY: &[Field] = &[
    f("mfa_required", G::Bool, E(2)),
    f("session_timeout_minutes", G::IntChoice(&[15, 30, 60, 240, 480]), E(2)),
    f("password_policy", G::Nested(PASSWORD_POLICY), E(2)),
    f("sso", G::Nested(SSO), E(2)),
    f("ip_allowlist", G::Tags(CIDRS), O(1, 30)),
];

const SLACK: &[Field] = &[
    f("enabled", G::Bool, E(2)),
    f("channel", G::Choice(&["#ops", "#billing", "#general", "#alerts"]), E(2)),
    f("webhook_token", G::Secret(Secret::SlackToken), E(1)),
];

const NOTIFICATIONS: &[Field] = &[
    f("email_digest", G::Choice(&["daily", "weekly", "off"]), E(2)),
    f("invoice_reminders", G::Bool, E(1)),
    f("slack", G::Nested(SLACK), E(2)),
];

const GENERAL: &[Field] = &[
    f("timezone", G::Choice(TIMEZONES), E(1)),
    f("date_format", G::Choice(&["DD/MM/YYYY", "MM/DD/YYYY", "YYYY-MM-DD"]), E(1)),
    f("currency", G::Choice(CURRENCIES), E(1)),
    f("week_start", G::Choice(&["monday", "sunday"]), E(1)),
];

const INVOICING: &[Field] = &[
    f("default_terms", G::Choice(&["due_on_receipt", "net_15", "net_30"]), E(2)),
    f("late_fee_percent", G::IntChoice(&[0, 2, 5, 8]), E(1)),
    f("footer", G::Paragraph, E(2)),
];

const SETTINGS: &[Field] = &[
    f("name", G::Const("Workspace settings"), X),
    f("general", G::Nested(GENERAL), E(2)),
    f("security", G::Nested(SECURITY), E(4)),
    f("notifications", G::Nested(NOTIFICATIONS), E(3)),
    f("invoicing", G::Nested(INVOICING), E(2)),
    f("data_retention_days", G::IntChoice(&[365, 730, 1825, 2555]), E(1)),
];

const BRANDING: &[Field] = &[
    f("name", G::Const("Main brand"), X),
    f("primary_color", G::Color, E(3)),
    f("accent_color", G::Color, E(2)),
    f("logo", G::Choice(LOGOS), E(2)),
    f("font", G::Choice(FONTS), E(1)),
    f("email_footer", G::Paragraph, E(2)),
    f("login_message", G::Paragraph, O(1, 50)),
    f("custom_css", G::Choice(CSS_SNIPPETS), O(1, 30)),
];

const TLS: &[Field] = &[
    f("status", G::Choice(&["pending", "issued", "expired"]), E(2)),
    f("issuer", G::Choice(&["Let's Encrypt", "ZeroSSL"]), E(1)),
    f("expires_on", G::Date(30, 90), E(2)),
];

const DOMAIN: &[Field] = &[
    f("name", G::OrgDomain, X),
    f("purpose", G::Choice(&["client_portal", "email_sending", "file_sharing"]), E(1)),
    f("status", G::Choice(&["pending", "failed"]), E(1)),
    f("dns_target", G::Const("edge.audit-timeline.example"), X),
    f("verification_token", G::Secret(Secret::DomainToken), X),
    f("tls", G::Nested(TLS), E(3)),
    f("redirect_to", G::OrgDomain, O(1, 20)),
];

const API_KEY: &[Field] = &[
    f("name", G::Choice(API_KEY_NAMES), X),
    f("prefix", G::Secret(Secret::KeyPrefix), X),
    f("secret", G::Secret(Secret::ApiKey), X),
    f("created_by", G::Member, X),
    f("status", G::Const("active"), X),
    f("scopes", G::Tags(API_SCOPES), E(3)),
    f("expires_on", G::Date(30, 365), O(2, 60)),
    f("ip_allowlist", G::Tags(CIDRS), O(1, 20)),
];

const SHARE_GRANT: &[Field] = &[
    f("resource", G::ShareableRef, X),
    f("grantee", G::AnyEmail, X),
    f("title", G::Join("resource", " → ", "grantee"), X),
    f("status", G::Const("active"), X),
    f("permission", G::Choice(&["view", "comment", "edit"]), E(4)),
    f("expires_on", G::Date(7, 90), O(3, 50)),
    f("token", G::Secret(Secret::LinkToken), O(1, 50)),
    f("password", G::Secret(Secret::Password), O(1, 20)),
    f("notify_grantee", G::Bool, E(1)),
];

/// How a category's records are kept and named.
pub struct CategoryDef {
    pub category: Category,
    pub id_prefix: &'static str,
    /// The field whose value is the record's display name.
    pub name_field: &'static str,
    pub fields: &'static [Field],
    /// Records that exist before the window opens, so that updates and
    /// deletes can happen from the first event on.
    pub preexisting: usize,
    /// Live records kept in memory; beyond it the oldest-looking ones go
    /// quiet (no delete event, just never touched again), as most real
    /// records do.
    pub capacity: usize,
}

const fn def(
    category: Category,
    id_prefix: &'static str,
    name_field: &'static str,
    fields: &'static [Field],
    preexisting: usize,
    capacity: usize,
) -> CategoryDef {
    CategoryDef { category, id_prefix, name_field, fields, preexisting, capacity }
}

/// Indexed by `Category as usize`.
pub const CATEGORIES: [CategoryDef; 21] = [
    def(Category::Client, "cli", "name", CLIENT, 40, 250),
    def(Category::Project, "prj", "name", PROJECT, 30, 250),
    def(Category::Lead, "lead", "name", LEAD, 40, 300),
    def(Category::Contact, "con", "name", CONTACT, 60, 300),
    def(Category::File, "file", "name", FILE, 60, 300),
    def(Category::Invoice, "inv", "number", INVOICE, 60, 300),
    def(Category::Quote, "quo", "number", QUOTE, 25, 200),
    def(Category::Payment, "pay", "reference", PAYMENT, 40, 300),
    def(Category::PaymentAccount, "pac", "name", PAYMENT_ACCOUNT, 4, 12),
    def(Category::Expense, "exp", "description", EXPENSE, 30, 250),
    def(Category::Task, "task", "title", TASK, 80, 400),
    def(Category::Submission, "sub", "title", SUBMISSION, 15, 200),
    def(Category::Member, "usr", "name", MEMBER, 0, 64),
    def(Category::Role, "role", "name", ROLE, 2, 16),
    def(Category::Invitation, "invt", "email", INVITATION, 3, 40),
    def(Category::Settings, "set", "name", SETTINGS, 1, 4),
    def(Category::Branding, "brand", "name", BRANDING, 1, 4),
    def(Category::Domain, "dom", "name", DOMAIN, 2, 30),
    def(Category::ApiKey, "key", "name", API_KEY, 1, 30),
    def(Category::ShareGrant, "shr", "title", SHARE_GRANT, 20, 250),
    def(Category::Session, "sess", "", &[], 0, 0),
];

pub fn category_def(c: Category) -> &'static CategoryDef {
    &CATEGORIES[c.index()]
}

/// What an action does to the simulated records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Brings a record into being: `Changes::Initial`.
    Create,
    /// `Changes::Diff` of a few fields.
    Update,
    /// `Changes::Snapshot`; the record gets no further events.
    Delete,
    /// Sets the status field to this value and stamps `<verb>_at`; the
    /// record then only accepts `restore` or `delete`.
    Close(&'static str, &'static str),
    /// Reopens a closed record.
    Restore,
    /// Hands the record to another member: a diff on this field.
    Assign(&'static str),
    RoleChange,
    Send,
    Approve(&'static str),
    RequestRevision,
    Verify,
    Sync,
    Export,
    ShareFile,
    Resend,
    Login,
    Logout,
    LoginFailed,
    RevokeSession,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    User,
    /// Team and security work: owners and admins only.
    Admin,
    Job(usize),
    ApiKey(usize),
    Integration(usize),
}

#[derive(Debug, Clone, Copy)]
pub struct Activity {
    pub category: Category,
    pub verb: &'static str,
    pub effect: Effect,
    pub by: By,
    /// Relative frequency; the whole table sums to about ten thousand.
    pub weight: u32,
}

const fn a(category: Category, verb: &'static str, effect: Effect, by: By, weight: u32) -> Activity {
    Activity { category, verb, effect, by, weight }
}

use By::{Admin, User};
use Category as C;
use Effect as F;

/// The action mix. Roughly: updates 35%, creates 20%, sign-ins and
/// sign-outs 10% (failed ones about 1.5%), deletes 6%, the rest spread over
/// verbs that only make sense for some categories.
pub const ACTIVITIES: &[Activity] = &[
    // Updates.
    a(C::Client, "update", F::Update, User, 300),
    a(C::Project, "update", F::Update, User, 350),
    a(C::Lead, "update", F::Update, User, 250),
    a(C::Contact, "update", F::Update, User, 250),
    a(C::File, "update", F::Update, User, 150),
    a(C::Invoice, "update", F::Update, User, 400),
    a(C::Quote, "update", F::Update, User, 200),
    a(C::Payment, "update", F::Update, User, 100),
    a(C::PaymentAccount, "update", F::Update, Admin, 50),
    a(C::Expense, "update", F::Update, User, 200),
    a(C::Task, "update", F::Update, User, 700),
    a(C::Submission, "update", F::Update, User, 100),
    a(C::Member, "update", F::Update, User, 80),
    a(C::Role, "update", F::Update, Admin, 50),
    a(C::Invitation, "update", F::Update, Admin, 20),
    a(C::Settings, "update", F::Update, Admin, 100),
    a(C::Branding, "update", F::Update, Admin, 50),
    a(C::Domain, "update", F::Update, Admin, 30),
    a(C::ApiKey, "update", F::Update, Admin, 40),
    a(C::ShareGrant, "update", F::Update, User, 80),
    // Creates.
    a(C::Client, "create", F::Create, User, 120),
    a(C::Project, "create", F::Create, User, 140),
    a(C::Lead, "create", F::Create, User, 160),
    a(C::Lead, "create", F::Create, By::ApiKey(1), 60),
    a(C::Contact, "create", F::Create, User, 160),
    a(C::Contact, "create", F::Create, By::Job(job::EMAIL_SYNC), 40),
    a(C::Contact, "create", F::Create, By::ApiKey(1), 20),
    a(C::File, "create", F::Create, User, 220),
    a(C::File, "create", F::Create, By::Integration(integration::SLACK), 30),
    a(C::File, "create", F::Create, By::ApiKey(0), 20),
    a(C::Invoice, "create", F::Create, User, 170),
    a(C::Invoice, "create", F::Create, By::Job(job::RECURRING_INVOICES), 80),
    a(C::Quote, "create", F::Create, User, 120),
    a(C::Payment, "create", F::Create, User, 50),
    a(C::Payment, "create", F::Create, By::Job(job::BANK_SYNC), 70),
    a(C::PaymentAccount, "create", F::Create, Admin, 10),
    a(C::Expense, "create", F::Create, User, 140),
    a(C::Expense, "create", F::Create, By::Integration(integration::QUICKBOOKS), 40),
    a(C::Task, "create", F::Create, User, 280),
    a(C::Task, "create", F::Create, By::Integration(integration::SLACK), 40),
    a(C::Submission, "create", F::Create, By::Job(job::FORM_INTAKE), 100),
    a(C::Role, "create", F::Create, Admin, 10),
    a(C::Domain, "create", F::Create, Admin, 10),
    a(C::ApiKey, "create", F::Create, Admin, 20),
    // Sessions.
    a(C::Session, "login", F::Login, User, 450),
    a(C::Session, "logout", F::Logout, User, 250),
    a(C::Session, "login_failed", F::LoginFailed, User, 150),
    a(C::Session, "revoke", F::RevokeSession, Admin, 30),
    a(C::Session, "revoke", F::RevokeSession, By::Job(job::SESSION_CLEANUP), 40),
    // Deletes.
    a(C::Client, "delete", F::Delete, User, 30),
    a(C::Project, "delete", F::Delete, User, 40),
    a(C::Lead, "delete", F::Delete, User, 80),
    a(C::Contact, "delete", F::Delete, User, 60),
    a(C::File, "delete", F::Delete, User, 100),
    a(C::Invoice, "delete", F::Delete, User, 30),
    a(C::Quote, "delete", F::Delete, User, 30),
    a(C::Payment, "delete", F::Delete, Admin, 10),
    a(C::PaymentAccount, "delete", F::Delete, Admin, 5),
    a(C::Expense, "delete", F::Delete, User, 40),
    a(C::Task, "delete", F::Delete, User, 100),
    a(C::Submission, "delete", F::Delete, User, 30),
    a(C::Role, "delete", F::Delete, Admin, 5),
    a(C::Invitation, "delete", F::Delete, Admin, 10),
    a(C::Domain, "delete", F::Delete, Admin, 5),
    a(C::ApiKey, "delete", F::Delete, Admin, 10),
    a(C::ShareGrant, "delete", F::Delete, User, 10),
    // Everything else.
    a(C::Task, "assign", F::Assign("assignee"), User, 400),
    a(C::Lead, "assign", F::Assign("owner"), User, 80),
    a(C::File, "share", F::ShareFile, User, 150),
    a(C::ShareGrant, "share", F::Create, User, 200),
    a(C::ShareGrant, "revoke", F::Close("revoked", "revoked_at"), User, 80),
    a(C::ApiKey, "revoke", F::Close("revoked", "revoked_at"), Admin, 20),
    a(C::Quote, "send", F::Send, User, 120),
    a(C::Quote, "cancel", F::Close("cancelled", "cancelled_at"), User, 50),
    a(C::Invoice, "send", F::Send, User, 180),
    a(C::Invoice, "send", F::Send, By::Job(job::RECURRING_INVOICES), 80),
    a(C::Invoice, "send", F::Send, By::Job(job::DUNNING), 40),
    a(C::Invoice, "cancel", F::Close("void", "voided_at"), User, 30),
    a(C::Invitation, "invite", F::Create, Admin, 60),
    a(C::Invitation, "resend", F::Resend, Admin, 20),
    a(C::Invitation, "cancel", F::Close("cancelled", "cancelled_at"), Admin, 20),
    a(C::Submission, "approve", F::Approve("reviewer"), User, 80),
    a(C::Submission, "request_revision", F::RequestRevision, User, 50),
    a(C::Expense, "approve", F::Approve("approved_by"), Admin, 80),
    a(C::Domain, "verify", F::Verify, Admin, 15),
    a(C::Domain, "verify", F::Verify, By::ApiKey(0), 5),
    a(C::Payment, "sync", F::Sync, By::Job(job::BANK_SYNC), 150),
    a(C::Payment, "sync", F::Sync, By::Integration(integration::QUICKBOOKS), 100),
    a(C::PaymentAccount, "sync", F::Sync, By::Job(job::BANK_SYNC), 50),
    a(C::Contact, "sync", F::Sync, By::Job(job::EMAIL_SYNC), 100),
    a(C::Client, "archive", F::Close("archived", "archived_at"), User, 30),
    a(C::Project, "archive", F::Close("archived", "archived_at"), User, 50),
    a(C::Client, "restore", F::Restore, User, 10),
    a(C::Project, "restore", F::Restore, User, 10),
    a(C::Client, "export", F::Export, User, 30),
    a(C::Invoice, "export", F::Export, User, 40),
    a(C::Contact, "export", F::Export, User, 20),
    a(C::Settings, "export", F::Export, By::Job(job::NIGHTLY_BACKUP), 30),
    a(C::Member, "role_change", F::RoleChange, Admin, 30),
];

/// The verb that brings a category's records into being.
pub fn creation_verb(c: Category) -> Option<&'static str> {
    match c {
        Category::ShareGrant => Some("share"),
        Category::Invitation => Some("invite"),
        Category::Member | Category::Settings | Category::Branding | Category::Session => None,
        _ => Some("create"),
    }
}

/// The status field that closing verbs change.
pub const STATUS: &str = "status";
