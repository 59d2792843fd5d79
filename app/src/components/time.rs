use chrono::{DateTime, Datelike, Timelike, Utc};
use leptos::prelude::*;

/// Whether times may be shown in the viewer's zone. The server cannot know
/// that zone, so the server and the first browser render both show UTC (they
/// must agree for hydration); once hydrated, the browser switches to local.
#[derive(Clone, Copy)]
struct Clock {
    local: RwSignal<bool>,
}

pub fn provide_clock() {
    let local = RwSignal::new(false);
    provide_context(Clock { local });
    // Effects run only in the browser, after hydration.
    Effect::new(move |_| local.set(true));
}

/// A timestamp in the viewer's local time, with the exact instant in the
/// `datetime` attribute and tooltip.
#[component]
pub fn LocalTime(at: DateTime<Utc>) -> impl IntoView {
    let local = use_context::<Clock>().map(|c| c.local);
    let iso = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let text = move || {
        if local.is_some_and(|l| l.get()) { format_local(at) } else { format_utc(at) }
    };
    view! {
        <time class="when" datetime=iso.clone() title=iso>
            {text}
        </time>
    }
}

fn format_utc(at: DateTime<Utc>) -> String {
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", at.year(), at.month(), at.day(), at.hour(), at.minute())
}

#[cfg(feature = "hydrate")]
fn format_local(at: DateTime<Utc>) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at.timestamp_millis() as f64));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

#[cfg(not(feature = "hydrate"))]
fn format_local(at: DateTime<Utc>) -> String {
    format_utc(at)
}
