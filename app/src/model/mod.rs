//! The product's vocabulary, shared by the browser and the server: what an
//! audit event is, how a timeline is filtered, and how pages are addressed.

mod chain;
mod changes;
mod cursor;
mod event;
mod filter;
mod verb;
mod viewer;

pub use chain::ChainStatus;
pub use changes::{ChangeNode, ChangeRow, ChangeTree, Changes, display_value};
pub use cursor::Cursor;
pub use event::{Actor, ActorKind, AuditEvent, EntityRef, EventContext, NewAuditEvent, TimelinePage};
pub use filter::{TimelineFilter, entity_type_label};
pub use verb::{Tone, action_verb};
pub use viewer::{DemoAccount, OrgRef, Role, Viewer};

/// Entries per timeline page; "Load more" appends this many at a time.
pub const PAGE_SIZE: usize = 50;
