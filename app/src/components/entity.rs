use leptos::either::Either;
use leptos::prelude::*;

use crate::model::{EntityRef, entity_type_label};

/// Entity type and name; the name is struck through once the record has
/// been deleted, and says so in words for screen readers. A record without a
/// name shows a shortened id, with the full id in the tooltip.
#[component]
pub fn EntityCell(entity: EntityRef) -> impl IntoView {
    let name = entity.display_name();
    let unnamed = entity.name.as_deref().is_none_or(|n| n.trim().is_empty());
    let full_id = unnamed.then(|| entity.id.clone());
    let name = if entity.deleted {
        Either::Left(view! {
            <del class="entity-name deleted" title="This record has since been deleted">
                {name}
            </del>
            <span class="visually-hidden">" (deleted)"</span>
        })
    } else {
        Either::Right(view! { <span class="entity-name" title=full_id>{name}</span> })
    };
    view! {
        <span class="entity">
            <span class="entity-type">{entity_type_label(&entity.entity_type)}</span>
            " "
            {name}
        </span>
    }
}
