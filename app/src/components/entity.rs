use leptos::either::Either;
use leptos::prelude::*;

use crate::model::{EntityRef, entity_type_label};

/// Entity type and name; the name is struck through once the record has
/// been deleted, and says so in words for screen readers.
#[component]
pub fn EntityCell(entity: EntityRef) -> impl IntoView {
    let name = entity.display_name();
    let name = if entity.deleted {
        Either::Left(view! {
            <del class="entity-name deleted" title="This record has since been deleted">
                {name}
            </del>
            <span class="visually-hidden">" (deleted)"</span>
        })
    } else {
        Either::Right(view! { <span class="entity-name">{name}</span> })
    };
    view! {
        <span class="entity">
            <span class="entity-type">{entity_type_label(&entity.entity_type)}</span>
            " "
            {name}
        </span>
    }
}
