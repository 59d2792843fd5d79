//! One file per visible thing on the timeline.

mod actor;
mod apply_filter;
mod badge;
mod chain_badge;
mod changes;
mod embed_mode;
mod entity;
mod entry;
mod export_menu;
mod filters;
mod keyboard;
mod live;
mod record_nav;
mod time;
mod timeline;
mod toolbar;

pub use actor::ActorCell;
pub use badge::ActionBadge;
pub use chain_badge::ChainBadge;
pub use changes::{ChangesTree, InitialValues, SnapshotTable, value_view};
pub use embed_mode::EmbedMode;
pub use entity::EntityCell;
pub use entry::EntryRow;
pub use export_menu::{ExportMenu, export_href};
pub use keyboard::install_shortcuts;
pub use record_nav::{RecordNav, TimelineOrg, encode_segment, person_href, record_href, timeline_href};
pub use time::{
    ExactTime, LocalTime, RelativeTime, TimeZonePicker, exact_in_zone, local_to_utc, minute_in_zone,
    provide_clock, relative_time, use_time_zone, utc_offset_minutes,
};
pub use timeline::{Timeline, mark_hydrated, thousands};
pub use toolbar::{Controls, Toolbar};

/// The viewer's time zone, which typed and picked dates are read in: the
/// one chosen in the time zone picker, else the browser's.
pub fn viewer_zone() -> Signal<String> {
    use_time_zone()
}
use leptos::prelude::*;
