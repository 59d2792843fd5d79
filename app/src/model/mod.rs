//! The product's vocabulary, shared by the browser and the server: what an
//! audit event is, how a timeline is filtered, and how pages are addressed.

mod avatar;
pub mod category;
mod chain;
mod changes;
mod cursor;
pub mod dashboard;
mod event;
#[cfg(feature = "ssr")]
mod event_query;
pub mod filter;
mod lcs;
pub mod limits;
pub mod names;
mod outcome;
pub mod oversight;
pub mod people;
pub mod percent;
pub mod query;
mod user_agent;
mod verb;
mod viewer;
mod word_diff;

pub use avatar::{AVATAR_MAX_BYTES, displayed_avatar, is_allowed_avatar};
pub use category::{Category, Priority, PriorityRule, category_of, default_priority, priority_of};
pub use chain::ChainStatus;
pub use changes::{
    BINARY_DATA, ChangeCounts, ChangeKind, ChangeNode, ChangeRow, ChangeTree, Changes, FieldChange,
    FieldDiff, REDACTED, change_fields, classify, diff_values, display_value, is_masked, wants_word_diff,
};
pub use cursor::Cursor;
pub use event::{
    Actor, ActorKind, ActorSummary, AuditEvent, COUNT_CAP, EntityRef, EventContext, EventCount,
    NewAuditEvent, RELATED_MAX, RELATED_WINDOW_SECS, RecordNeighbors, TimelinePage,
};
pub use event::{EventsSince, SINCE_BATCH};
#[cfg(feature = "ssr")]
pub use event_query::{EventQuery, WindowError};
pub use filter::{ACTION_TYPES, Ignored, PAGE_KEYS, TimelineFilter, Within, action_label, entity_type_label};
pub use outcome::{Outcome, outcome_of};
pub use user_agent::{ClientKind, UserAgent, describe_user_agent, parse_user_agent};
pub use verb::{Tone, action_verb};
pub use viewer::{DemoAccount, OrgRef, Role, Viewer};
pub use word_diff::{Edit, Segment, word_diff};

/// Entries per timeline page; "Load more" appends this many at a time.
pub const PAGE_SIZE: usize = 50;
/// The largest page a caller may ask for: a host's bigger widget, never a
/// way around paging.
pub const MAX_PAGE_SIZE: usize = 200;

/// Most events one page read tests against a search term too short for the
/// trigram index (fewer than 3 characters), which can only be checked row
/// by row: for a term that matches nothing that would be the whole log. The
/// page's cursor continues after the stretch tested.
pub const SHORT_TERM_SCAN: usize = 20_000;
