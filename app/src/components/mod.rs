//! One file per visible thing on the timeline.

mod actor;
mod badge;
mod chain_badge;
mod changes;
mod entity;
mod entry;
mod time;
mod timeline;
mod toolbar;

pub use actor::ActorCell;
pub use badge::ActionBadge;
pub use chain_badge::ChainBadge;
pub use changes::{ChangesTable, SnapshotTable};
pub use entity::EntityCell;
pub use entry::EntryRow;
pub use time::{LocalTime, provide_clock};
pub use timeline::Timeline;
pub use toolbar::Toolbar;
