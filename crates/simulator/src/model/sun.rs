//! What the site would do on its own: solar production from a sun curve and a varying home load.
//!
//! Both are pure functions of simulation time, so the same instant always gives the same values
//! (tests stay deterministic) while the site still looks alive: passing clouds and appliance
//! noise are sums of sines with unrelated periods rather than random draws.

use std::f64::consts::PI;

const SECS_PER_DAY: f64 = 86_400.0;

/// Local hour of day (0–24) and day of year (0–365) at `epoch` for a fixed UTC offset.
fn local_hour_and_day(epoch: f64, utc_offset_secs: i32) -> (f64, f64) {
    let local = epoch + f64::from(utc_offset_secs);
    let day_index = (local / SECS_PER_DAY).floor();
    let hour = (local - day_index * SECS_PER_DAY) / 3600.0;
    // Days since 1970-01-01 modulo a mean year is close enough for a seasonal curve.
    let day_of_year = (day_index + 0.5).rem_euclid(365.2425);
    (hour, day_of_year)
}

/// Clear-sky fraction of the inverter rating at a local hour on a day of the year (0–1).
fn clear_sky_fraction(hour: f64, day_of_year: f64) -> f64 {
    // Southern California: about 9.8 h of daylight at the winter solstice, 14.4 h in June.
    let season = (2.0 * PI * (day_of_year - 80.0) / 365.2425).sin();
    let day_length = 12.1 + 2.3 * season;
    let sunrise = 12.0 - day_length / 2.0;
    let position = (hour - sunrise) / day_length;
    if !(0.0..=1.0).contains(&position) {
        return 0.0;
    }
    let strength = 0.78 + 0.12 * season;
    strength * (PI * position).sin().powf(1.4)
}

/// Passing-cloud attenuation, 0.55–1.0.
fn cloud_factor(epoch: f64) -> f64 {
    let wave = 0.5 * (2.0 * PI * epoch / 5_400.0).sin()
        + 0.3 * (2.0 * PI * epoch / 1_300.0).sin()
        + 0.2 * (2.0 * PI * epoch / 317.0).sin();
    // Only the upper part of the wave casts a shadow, so most of the time the sky is clear.
    let shade = (wave - 0.3).max(0.0) / 0.7;
    1.0 - 0.45 * shade
}

/// Solar production in W (never negative) for an inverter of `rating_w`.
pub fn solar_w(epoch: f64, utc_offset_secs: i32, rating_w: f64) -> f64 {
    let (hour, day) = local_hour_and_day(epoch, utc_offset_secs);
    (rating_w * clear_sky_fraction(hour, day) * cloud_factor(epoch)).max(0.0)
}

/// Home consumption in W: a base load, morning and evening peaks, and appliance noise.
pub fn home_w(epoch: f64, utc_offset_secs: i32) -> f64 {
    let (hour, _) = local_hour_and_day(epoch, utc_offset_secs);
    let bump = |centre: f64, width: f64, height: f64| {
        let distance = (hour - centre) / width;
        height * (-distance * distance).exp()
    };
    let daily = 380.0 + bump(7.5, 1.2, 650.0) + bump(13.0, 2.5, 250.0) + bump(19.0, 2.0, 1_400.0);
    let noise = 120.0 * (2.0 * PI * epoch / 611.0).sin()
        + 70.0 * (2.0 * PI * epoch / 97.0).sin()
        + 40.0 * (2.0 * PI * epoch / 23.0).sin();
    // A compressor cycling on for about a third of each 40-minute period.
    let compressor = if (epoch / 2_400.0).fract() < 0.35 {
        450.0
    } else {
        0.0
    };
    (daily + noise + compressor).max(150.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFSET: i32 = -8 * 3600;
    /// 2024-06-21 00:00 local (−08:00).
    const JUNE_MIDNIGHT: f64 = 1_718_956_800.0;

    #[test]
    fn dark_at_night_bright_at_noon() {
        assert_eq!(solar_w(JUNE_MIDNIGHT + 2.0 * 3600.0, OFFSET, 7600.0), 0.0);
        assert_eq!(solar_w(JUNE_MIDNIGHT + 23.0 * 3600.0, OFFSET, 7600.0), 0.0);
        let noon = solar_w(JUNE_MIDNIGHT + 12.5 * 3600.0, OFFSET, 7600.0);
        assert!(noon > 3500.0 && noon <= 7600.0, "{noon}");
    }

    #[test]
    fn winter_days_are_shorter() {
        // 2023-12-21 00:00 local.
        let december = 1_703_145_600.0;
        assert_eq!(solar_w(december + 6.5 * 3600.0, OFFSET, 7600.0), 0.0);
        assert!(solar_w(JUNE_MIDNIGHT + 6.5 * 3600.0, OFFSET, 7600.0) > 0.0);
    }

    #[test]
    fn home_load_varies_within_bounds() {
        let samples: Vec<f64> = (0..2_000)
            .map(|i| home_w(JUNE_MIDNIGHT + f64::from(i) * 43.0, OFFSET))
            .collect();
        let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = samples.iter().copied().fold(0.0, f64::max);
        assert!(
            min >= 150.0 && max < 3_500.0 && max - min > 500.0,
            "{min}..{max}"
        );
    }
}
