//! When demo events happen: `n` instants spread over the window, busier in
//! office hours than at night or at weekends, produced in ascending order
//! one at a time so that ten million of them need no buffer.
//!
//! The instants are the order statistics of `n` independent draws from the
//! working-hours density, generated with the sequential formula
//! `x(k+1) = 1 - (1 - x(k)) * U^(1 / (n - k))`. That fills the window exactly
//! (no gap at either end, whatever `n` is) where walking forward with random
//! gaps would overshoot or stop short.

use super::rng::Rng;

const HOUR_MICROS: i64 = 3_600_000_000;

/// Relative activity of one hour of the week (UTC; the demo org works from
/// Europe). Never zero: someone always works late, and background jobs and
/// failed logins do not sleep.
fn hour_weight(unix_hour: i64) -> f64 {
    let day = unix_hour.div_euclid(24);
    // 1970-01-01 was a Thursday; 0 = Monday.
    let weekday = (day + 3).rem_euclid(7);
    let hour = unix_hour.rem_euclid(24);
    let base = match hour {
        0..=5 => 0.04,
        6 => 0.10,
        7 => 0.30,
        8 => 0.75,
        9..=11 => 1.0,
        12 => 0.70,
        13..=16 => 1.0,
        17 => 0.70,
        18..=19 => 0.35,
        20..=22 => 0.18,
        _ => 0.08,
    };
    if weekday >= 5 { base * 0.15 } else { base }
}

pub struct Clock {
    start_micros: i64,
    window_micros: i64,
    total: usize,
    emitted: usize,
    /// Position of the last instant in `[0, 1)` of cumulative activity.
    x: f64,
    total_weight: f64,
    hours: i64,
    hour: i64,
    weight_before_hour: f64,
    prev: i64,
}

impl Clock {
    /// `total` instants in `[until - days, until]` (unix microseconds).
    pub fn new(until_micros: i64, days: u32, total: usize) -> Clock {
        let hours = i64::from(days.max(1)) * 24;
        let window_micros = hours * HOUR_MICROS;
        let start_micros = until_micros - window_micros;
        let start_hour = start_micros.div_euclid(HOUR_MICROS);
        let total_weight = (0..hours).map(|h| hour_weight(start_hour + h)).sum();
        Clock {
            start_micros,
            window_micros,
            total,
            emitted: 0,
            x: 0.0,
            total_weight,
            hours,
            hour: 0,
            weight_before_hour: 0.0,
            prev: -1,
        }
    }

    pub fn start_micros(&self) -> i64 {
        self.start_micros
    }

    fn weight(&self, hour: i64) -> f64 {
        // Weight by the wall-clock hour the bucket mostly covers.
        hour_weight((self.start_micros + hour * HOUR_MICROS + HOUR_MICROS / 2).div_euclid(HOUR_MICROS))
    }

    /// The next instant, strictly after the previous one. Call at most
    /// `total` times.
    pub fn next(&mut self, rng: &mut Rng) -> i64 {
        debug_assert!(self.emitted < self.total);
        let remaining = (self.total - self.emitted) as f64;
        let u = 1.0 - rng.unit(); // (0, 1]: never a zero step to ln(0)
        self.x = 1.0 - (1.0 - self.x) * (u.ln() / remaining).exp();
        let target = self.x * self.total_weight;

        let mut w = self.weight(self.hour);
        while self.hour + 1 < self.hours && target >= self.weight_before_hour + w {
            self.weight_before_hour += w;
            self.hour += 1;
            w = self.weight(self.hour);
        }
        let within = ((target - self.weight_before_hour) / w).clamp(0.0, 1.0);
        let raw = self.hour * HOUR_MICROS + (within * HOUR_MICROS as f64) as i64;

        // Rounding to microseconds can tie or even reorder neighbours; the
        // latest slot that still leaves one microsecond for each remaining
        // event keeps every instant distinct and inside the window.
        let latest = self.window_micros - (self.total - 1 - self.emitted) as i64;
        let t = raw.max(self.prev + 1).min(latest);
        self.prev = t;
        self.emitted += 1;
        self.start_micros + t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_the_window_in_order_and_prefers_office_hours() {
        let until = 1_750_000_000_000_000; // a Sunday evening, June 2025
        let n = 50_000;
        let mut clock = Clock::new(until, 30, n);
        let start = clock.start_micros();
        let mut rng = Rng::new(3);
        let mut prev = i64::MIN;
        let mut office = 0;
        let mut first = 0;
        for i in 0..n {
            let t = clock.next(&mut rng);
            if i == 0 {
                first = t;
            }
            assert!(t > prev && t >= start && t <= until);
            prev = t;
            let hour = t.div_euclid(HOUR_MICROS);
            let weekday = (hour.div_euclid(24) + 3).rem_euclid(7);
            if weekday < 5 && (9..17).contains(&hour.rem_euclid(24)) {
                office += 1;
            }
        }
        // Weekday office hours are under a quarter of the week's hours but
        // should carry most of the activity.
        assert!(office * 2 > n, "only {office} of {n} in office hours");
        // Both ends of the window are reached.
        assert!(first - start < 6 * HOUR_MICROS * 24);
        assert!(until - prev < HOUR_MICROS * 24);
    }

    #[test]
    fn tiny_windows_stay_strictly_ascending() {
        let mut clock = Clock::new(10_000_000_000, 1, 1000);
        let mut rng = Rng::new(1);
        let mut prev = i64::MIN;
        for _ in 0..1000 {
            let t = clock.next(&mut rng);
            assert!(t > prev && t <= 10_000_000_000);
            prev = t;
        }
    }
}
