//! Dates in a filter: the wall-clock forms the URL and the search box take.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// `2026-01-31`, `2026-01-31T09:30` or `2026-01-31T09:30:15` (a space may
/// stand for the `T`): a wall-clock time in the filter's zone. Read by hand:
/// chrono's format-string parser would add tens of kilobytes to the browser
/// bundle for these three shapes.
pub fn parse_date_time(v: &str) -> Result<NaiveDateTime, String> {
    let v = v.trim();
    let err = || format!("'{v}' is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM");
    let number = |s: &str, len: usize| -> Option<u32> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
    };
    let (date, time) = match v.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (v, None),
    };
    let mut d = date.split('-');
    let (Some(y), Some(m), Some(day), None) = (d.next(), d.next(), d.next(), d.next()) else {
        return Err(err());
    };
    let (y, m, day) =
        (number(y, 4).ok_or_else(err)?, number(m, 2).ok_or_else(err)?, number(day, 2).ok_or_else(err)?);
    let date = NaiveDate::from_ymd_opt(y as i32, m, day).filter(|_| y >= 1970).ok_or_else(err)?;
    let time = match time {
        None => NaiveTime::MIN,
        Some(t) => {
            let parts: Vec<&str> = t.split(':').collect();
            let hms: Option<Vec<u32>> = parts.iter().map(|p| number(p, 2)).collect();
            match hms.as_deref() {
                Some([h, mi]) => NaiveTime::from_hms_opt(*h, *mi, 0),
                Some([h, mi, s]) => NaiveTime::from_hms_opt(*h, *mi, *s),
                _ => None,
            }
            .ok_or_else(err)?
        }
    };
    Ok(date.and_time(time))
}

/// The shortest form [`parse_date_time`] reads back.
pub fn format_date_time(d: NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    let date = format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
    if d.time() == NaiveTime::MIN {
        date
    } else if d.second() == 0 {
        format!("{date}T{:02}:{:02}", d.hour(), d.minute())
    } else {
        format!("{date}T{:02}:{:02}:{:02}", d.hour(), d.minute(), d.second())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_and_print_in_three_shapes() {
        assert_eq!(format_date_time(parse_date_time("2026-01-31 09:30").unwrap()), "2026-01-31T09:30");
        assert_eq!(format_date_time(parse_date_time("2026-01-31T09:30:15").unwrap()), "2026-01-31T09:30:15");
        for bad in [
            "31/01/2026",
            "2026-1-31",
            "2026-02-30",
            "2026-01-31T25:00",
            "2026-01-31T09",
            "1969-12-31",
            "2026-01-31T09:30:00:00",
        ] {
            assert!(parse_date_time(bad).is_err(), "{bad}");
        }
    }
}
