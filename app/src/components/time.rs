//! Times as the viewer reads them: relative on the rows ("2 hours ago"),
//! exact with the zone on hover, focus and in the detail, in a time zone the
//! viewer picks (the browser's own by default, remembered in the browser).
//!
//! The server cannot know the viewer's zone or clock, so the server render
//! and the first browser render both show UTC (they must agree for
//! hydration); once hydrated, the browser switches to its zone and relative
//! times, and refreshes them every minute. Formatting in other zones uses the
//! browser's own `Intl.DateTimeFormat`, so no zone database ships in the
//! bundle.

use chrono::{DateTime, Datelike, Timelike, Utc};
use leptos::prelude::*;

/// The zone both sides start in, and the one the server always uses.
const UTC: &str = "UTC";

/// The viewer's clock: their zone and the current minute.
#[derive(Clone, Copy)]
struct Clock {
    /// The IANA name of the zone times are shown in.
    zone: RwSignal<String>,
    /// Every zone the browser knows, for the picker; just UTC until hydrated.
    zones: RwSignal<Vec<String>>,
    /// The browser's own zone, once known.
    device_zone: RwSignal<Option<String>>,
    /// Now, refreshed every minute; `None` on the server and until hydrated,
    /// which is what keeps the first browser render equal to the server's.
    now: RwSignal<Option<DateTime<Utc>>>,
}

/// Provides the viewer's clock to the app; call once, near the root.
pub fn provide_clock() {
    let clock = Clock {
        zone: RwSignal::new(UTC.to_string()),
        zones: RwSignal::new(vec![UTC.to_string()]),
        device_zone: RwSignal::new(None),
        now: RwSignal::new(None),
    };
    provide_context(clock);
    // Effects run only in the browser, after hydration.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| browser::start(clock));
}

/// The IANA name of the zone the viewer reads times in: the one they picked,
/// else their browser's own; "UTC" on the server and before hydration.
pub fn use_time_zone() -> Signal<String> {
    match use_context::<Clock>() {
        Some(clock) => clock.zone.into(),
        None => Signal::stored(UTC.to_string()),
    }
}

/// A timestamp in the viewer's zone to the minute ("2026-03-12 14:05"), with
/// the exact instant in the `datetime` attribute and tooltip.
#[component]
pub fn LocalTime(at: DateTime<Utc>) -> impl IntoView {
    let zone = use_time_zone();
    let iso = iso(at);
    view! {
        <time class="when" datetime=iso title=move || exact_in_zone(at, &zone.get())>
            {move || minute_in_zone(at, &zone.get())}
        </time>
    }
}

/// A row's time: "2 hours ago" (a date beyond a week), with the exact time
/// and zone in the tooltip and in a text that is shown when the row has
/// keyboard focus and is read by screen readers.
#[component]
pub fn RelativeTime(at: DateTime<Utc>) -> impl IntoView {
    let clock = use_context::<Clock>();
    let zone = use_time_zone();
    let exact = move || exact_in_zone(at, &zone.get());
    let text = move || match clock.and_then(|c| c.now.get()) {
        Some(now) => relative_time(at, now).unwrap_or_else(|| minute_in_zone(at, &zone.get())),
        None => minute_in_zone(at, UTC),
    };
    view! {
        <time class="when" datetime=iso(at) title=exact>
            <span class="when-text">{text}</span>
            <span class="when-exact">{exact}</span>
        </time>
    }
}

/// The exact instant with seconds and the zone's name, for the detail.
#[component]
pub fn ExactTime(at: DateTime<Utc>) -> impl IntoView {
    let zone = use_time_zone();
    view! { <time class="exact-time" datetime=iso(at)>{move || exact_in_zone(at, &zone.get())}</time> }
}

/// Chooses the zone times are shown in: UTC or any zone the browser knows.
/// The choice is remembered in this browser.
#[component]
pub fn TimeZonePicker() -> impl IntoView {
    let Some(clock) = use_context::<Clock>() else { return ().into_any() };
    let on_change = move |ev| {
        let zone = event_target_value(&ev);
        #[cfg(feature = "hydrate")]
        browser::choose(clock, zone);
        #[cfg(not(feature = "hydrate"))]
        clock.zone.set(zone);
    };
    view! {
        <label class="tz-picker">
            <span class="tz-label">"Time zone"</span>
            <select name="tz" on:change=on_change>
                {move || {
                    let device = clock.device_zone.get();
                    clock
                        .zones
                        .get()
                        .into_iter()
                        .map(|z| {
                            let label = zone_label(&z, device.as_deref() == Some(z.as_str()));
                            let selected_now = clock.zone.get_untracked() == z;
                            let value = z.clone();
                            view! {
                                <option
                                    value=value
                                    selected=selected_now
                                    prop:selected=move || clock.zone.with(|c| *c == z)
                                >
                                    {label}
                                </option>
                            }
                        })
                        .collect_view()
                }}
            </select>
        </label>
    }
    .into_any()
}

fn zone_label(zone: &str, is_device: bool) -> String {
    let name = zone.replace('_', " ");
    if is_device { format!("{name} (this device)") } else { name }
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// "just now", "5 minutes ago", "2 hours ago", "3 days ago" (and "in …" for
/// a sender clock running ahead); `None` beyond a week either way, where a
/// date reads better.
pub fn relative_time(at: DateTime<Utc>, now: DateTime<Utc>) -> Option<String> {
    const WEEK: i64 = 7 * 86_400;
    let secs = (now - at).num_seconds();
    if secs.abs() < 60 {
        return Some("just now".to_string());
    }
    if secs.abs() >= WEEK {
        return None;
    }
    let past = secs > 0;
    let secs = secs.abs();
    let (n, unit) = if secs < 3_600 {
        (secs / 60, "minute")
    } else if secs < 86_400 {
        (secs / 3_600, "hour")
    } else {
        (secs / 86_400, "day")
    };
    let amount = if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") };
    Some(if past { format!("{amount} ago") } else { format!("in {amount}") })
}

/// Wall-clock fields of an instant in some zone.
#[derive(Debug, Clone, PartialEq)]
struct WallTime {
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// Short zone name as the browser says it ("GMT+9", "BST", "UTC").
    zone_name: String,
}

fn wall_utc(at: DateTime<Utc>) -> WallTime {
    WallTime {
        year: at.year(),
        month: at.month(),
        day: at.day(),
        hour: at.hour(),
        minute: at.minute(),
        second: at.second(),
        zone_name: UTC.to_string(),
    }
}

fn wall_in_zone(at: DateTime<Utc>, zone: &str) -> Option<WallTime> {
    if zone == UTC {
        return Some(wall_utc(at));
    }
    #[cfg(feature = "hydrate")]
    return browser::wall_time(at, zone);
    #[cfg(not(feature = "hydrate"))]
    None
}

/// "2026-03-12 14:05" in `zone` ("… UTC" when that is the zone). Unknown
/// zones fall back to UTC, saying so.
pub fn minute_in_zone(at: DateTime<Utc>, zone: &str) -> String {
    match wall_in_zone(at, zone).filter(|_| zone != UTC) {
        Some(w) => format!("{:04}-{:02}-{:02} {:02}:{:02}", w.year, w.month, w.day, w.hour, w.minute),
        None => {
            let w = wall_utc(at);
            format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", w.year, w.month, w.day, w.hour, w.minute)
        }
    }
}

/// "2026-03-12 23:05:07 GMT+9 (Asia/Tokyo)", or "2026-03-12 14:05:07 UTC".
pub fn exact_in_zone(at: DateTime<Utc>, zone: &str) -> String {
    let (w, zone) = match wall_in_zone(at, zone) {
        Some(w) => (w, zone),
        None => (wall_utc(at), UTC),
    };
    let stamp = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {}",
        w.year, w.month, w.day, w.hour, w.minute, w.second, w.zone_name
    );
    if zone == UTC || w.zone_name == zone { stamp } else { format!("{stamp} ({zone})") }
}

/// The zone's offset from UTC at `at`, in minutes (east positive); 0 for UTC,
/// and on the server, which has no zone data.
pub fn utc_offset_minutes(at: DateTime<Utc>, zone: &str) -> i32 {
    let Some(w) = wall_in_zone(at, zone) else { return 0 };
    let Some(wall) = chrono::NaiveDate::from_ymd_opt(w.year, w.month, w.day)
        .and_then(|d| d.and_hms_opt(w.hour, w.minute, w.second))
    else {
        return 0;
    };
    ((wall.and_utc().timestamp() - at.timestamp()) / 60) as i32
}

/// The instant a wall-clock time in `zone` names (for date filters typed in
/// the viewer's zone). In a gap or overlap of a daylight-saving change, the
/// offset in force just before it is used.
pub fn local_to_utc(wall: chrono::NaiveDateTime, zone: &str) -> DateTime<Utc> {
    let as_utc = wall.and_utc();
    let first = as_utc - chrono::Duration::minutes(utc_offset_minutes(as_utc, zone) as i64);
    let second = as_utc - chrono::Duration::minutes(utc_offset_minutes(first, zone) as i64);
    if utc_offset_minutes(second, zone) == utc_offset_minutes(first, zone) { second } else { first }
}

#[cfg(feature = "hydrate")]
mod browser {
    //! The browser side: Intl, localStorage and the minute tick.

    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::time::Duration;

    use chrono::{DateTime, Utc};
    use js_sys::{Array, Function, Intl, Object, Reflect};
    use leptos::prelude::*;
    use wasm_bindgen::{JsCast, JsValue};

    use super::{Clock, UTC, WallTime};

    const STORAGE_KEY: &str = "audit-timeline.time-zone";

    /// Zones offered when the browser cannot list its own.
    const COMMON_ZONES: &[&str] = &[
        "America/Los_Angeles",
        "America/Denver",
        "America/Chicago",
        "America/New_York",
        "America/Sao_Paulo",
        "Europe/London",
        "Europe/Dublin",
        "Europe/Paris",
        "Europe/Berlin",
        "Europe/Amsterdam",
        "Europe/Warsaw",
        "Europe/Moscow",
        "Africa/Lagos",
        "Africa/Johannesburg",
        "Asia/Dubai",
        "Asia/Kolkata",
        "Asia/Ho_Chi_Minh",
        "Asia/Singapore",
        "Asia/Shanghai",
        "Asia/Tokyo",
        "Australia/Sydney",
        "Pacific/Auckland",
    ];

    thread_local! {
        /// One formatter per zone: building them is the slow part.
        static FORMATTERS: RefCell<HashMap<String, Option<Intl::DateTimeFormat>>> = RefCell::new(HashMap::new());
    }

    pub fn start(clock: Clock) {
        let device = device_zone();
        let saved = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        let zone = saved.filter(|z| formatter(z).is_some()).unwrap_or_else(|| device.clone());
        let mut zones = supported_zones();
        for z in [&device, &zone] {
            if !zones.contains(z) {
                zones.push(z.clone());
            }
        }
        zones.sort_by(|a, b| (a != UTC, a).cmp(&(b != UTC, b)));
        clock.device_zone.set(Some(device));
        clock.zones.set(zones);
        clock.zone.set(zone);
        clock.now.set(Some(now()));
        // Relative times move on by themselves: refresh them every minute.
        let _ = set_interval_with_handle(move || clock.now.set(Some(now())), Duration::from_secs(60));
    }

    /// Switches to `zone` (if the browser knows it) and remembers the choice.
    pub fn choose(clock: Clock, zone: String) {
        if formatter(&zone).is_none() {
            return;
        }
        if let Some(s) = storage() {
            let _ = s.set_item(STORAGE_KEY, &zone);
        }
        clock.zone.set(zone);
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
    }

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok().flatten()
    }

    fn intl() -> Option<JsValue> {
        Reflect::get(&js_sys::global(), &"Intl".into()).ok().filter(|v| v.is_object())
    }

    /// `new Intl.DateTimeFormat(locales, options)`, without letting a
    /// RangeError (an unknown zone) escape into the app.
    fn construct(options: &Object) -> Option<Intl::DateTimeFormat> {
        let ctor: Function = Reflect::get(&intl()?, &"DateTimeFormat".into()).ok()?.dyn_into().ok()?;
        let args = Array::of2(&Array::of1(&"en-GB".into()), options);
        Reflect::construct(&ctor, &args).ok().map(JsCast::unchecked_into)
    }

    fn formatter(zone: &str) -> Option<Intl::DateTimeFormat> {
        FORMATTERS.with(|cache| {
            cache
                .borrow_mut()
                .entry(zone.to_string())
                .or_insert_with(|| {
                    let options = Object::new();
                    for (k, v) in [
                        ("timeZone", zone),
                        ("year", "numeric"),
                        ("month", "2-digit"),
                        ("day", "2-digit"),
                        ("hour", "2-digit"),
                        ("minute", "2-digit"),
                        ("second", "2-digit"),
                        ("hourCycle", "h23"),
                        ("timeZoneName", "short"),
                    ] {
                        let _ = Reflect::set(&options, &k.into(), &v.into());
                    }
                    construct(&options)
                })
                .clone()
        })
    }

    /// The browser's own zone, e.g. "Europe/London".
    fn device_zone() -> String {
        construct(&Object::new())
            .and_then(|f| Reflect::get(&f.resolved_options(), &"timeZone".into()).ok())
            .and_then(|z| z.as_string())
            .filter(|z| !z.is_empty())
            .unwrap_or_else(|| UTC.to_string())
    }

    /// `Intl.supportedValuesOf('timeZone')` where the browser has it.
    fn supported_zones() -> Vec<String> {
        let listed = intl().and_then(|intl| {
            let f: Function = Reflect::get(&intl, &"supportedValuesOf".into()).ok()?.dyn_into().ok()?;
            let values: Array = f.call1(&intl, &"timeZone".into()).ok()?.dyn_into().ok()?;
            Some(values.iter().filter_map(|v| v.as_string()).collect::<Vec<_>>())
        });
        let mut zones = listed
            .filter(|z| !z.is_empty())
            .unwrap_or_else(|| COMMON_ZONES.iter().map(|z| z.to_string()).collect());
        if !zones.iter().any(|z| z == UTC) {
            zones.push(UTC.to_string());
        }
        zones
    }

    pub fn wall_time(at: DateTime<Utc>, zone: &str) -> Option<WallTime> {
        let f = formatter(zone)?;
        let date = js_sys::Date::new(&JsValue::from_f64(at.timestamp_millis() as f64));
        let mut w =
            WallTime { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, zone_name: String::new() };
        for part in f.format_to_parts(&date).iter() {
            let kind =
                Reflect::get(&part, &"type".into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
            let value =
                Reflect::get(&part, &"value".into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
            let number = || value.parse::<u32>().ok();
            match kind.as_str() {
                "year" => w.year = value.parse().ok()?,
                "month" => w.month = number()?,
                "day" => w.day = number()?,
                "hour" => w.hour = number()? % 24,
                "minute" => w.minute = number()?,
                "second" => w.second = number()?,
                "timeZoneName" => w.zone_name = value,
                _ => {}
            }
        }
        (w.month > 0 && w.day > 0).then_some(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn relative_times_read_like_speech() {
        let now = at("2026-03-12T14:00:00Z");
        let ago = |secs: i64| relative_time(now - chrono::Duration::seconds(secs), now);
        assert_eq!(ago(0).as_deref(), Some("just now"));
        assert_eq!(ago(59).as_deref(), Some("just now"));
        assert_eq!(ago(-30).as_deref(), Some("just now"));
        assert_eq!(ago(60).as_deref(), Some("1 minute ago"));
        assert_eq!(ago(119).as_deref(), Some("1 minute ago"));
        assert_eq!(ago(45 * 60).as_deref(), Some("45 minutes ago"));
        assert_eq!(ago(3_600).as_deref(), Some("1 hour ago"));
        assert_eq!(ago(2 * 3_600 + 59 * 60).as_deref(), Some("2 hours ago"));
        assert_eq!(ago(23 * 3_600 + 3_599).as_deref(), Some("23 hours ago"));
        assert_eq!(ago(86_400).as_deref(), Some("1 day ago"));
        assert_eq!(ago(3 * 86_400 + 5).as_deref(), Some("3 days ago"));
        assert_eq!(ago(7 * 86_400 - 1).as_deref(), Some("6 days ago"));
        assert_eq!(ago(7 * 86_400), None);
        assert_eq!(ago(400 * 86_400), None);
        assert_eq!(ago(-5 * 60).as_deref(), Some("in 5 minutes"));
        assert_eq!(ago(-2 * 86_400).as_deref(), Some("in 2 days"));
        assert_eq!(ago(-8 * 86_400), None);
    }

    #[test]
    fn utc_forms_are_what_the_server_renders() {
        let t = Utc.with_ymd_and_hms(2026, 3, 2, 9, 5, 7).unwrap();
        assert_eq!(minute_in_zone(t, "UTC"), "2026-03-02 09:05 UTC");
        assert_eq!(exact_in_zone(t, "UTC"), "2026-03-02 09:05:07 UTC");
        // The server has no zone data: other zones are shown as UTC, saying so.
        assert_eq!(minute_in_zone(t, "Asia/Tokyo"), "2026-03-02 09:05 UTC");
        assert_eq!(exact_in_zone(t, "Asia/Tokyo"), "2026-03-02 09:05:07 UTC");
        assert_eq!(utc_offset_minutes(t, "UTC"), 0);
        assert_eq!(local_to_utc(t.naive_utc(), "UTC"), t);
    }

    #[test]
    fn server_render_shows_utc_and_keeps_the_instant() {
        let owner = Owner::new();
        owner.with(|| {
            provide_clock();
            let t = Utc.with_ymd_and_hms(2026, 3, 2, 9, 5, 7).unwrap();
            let html = view! { <RelativeTime at=t /> }.to_html();
            assert!(html.contains(r#"datetime="2026-03-02T09:05:07.000Z""#), "{html}");
            assert!(html.contains(r#"title="2026-03-02 09:05:07 UTC""#), "{html}");
            assert!(html.contains("2026-03-02 09:05 UTC"), "{html}");
            assert_eq!(use_time_zone().get_untracked(), "UTC");
            let picker = view! { <TimeZonePicker /> }.to_html();
            assert!(picker.contains(r#"<option value="UTC" selected"#), "{picker}");
        });
    }
}
