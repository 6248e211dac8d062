//! How long to wait, as a user gives it: the confirm window and poll interval, and the one policy
//! for seconds.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    /// How long to wait for `Adding` attachments to become `Added` (never past the deadline margin).
    pub confirm_window: Duration,
    /// Pause between read-backs inside the confirm window.
    pub poll_interval: Duration,
    /// Plan only; change nothing.
    pub dry_run: bool,
}

/// Time kept back from the deadline to report a hook status, whatever the work did.
pub const REPORT_MARGIN: Duration = Duration::from_secs(3);

/// The longest deadline or confirm window taken from a user: longer ones make no sense for a
/// deployment step, and `Instant` arithmetic past it could overflow.
pub const LONGEST: Duration = Duration::from_secs(7 * 24 * 3600);

/// Seconds as given by a user (`CONFIRM_WINDOW_SECONDS` in Lambda): negative or not a number is
/// zero, too large (or infinite) is `LONGEST`.
pub fn seconds(value: f64) -> Duration {
    if value.is_nan() || value <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(value)
        .unwrap_or(LONGEST)
        .min(LONGEST)
}

/// Seconds on the command line: a finite number from 0 to `LONGEST`, or a message saying so.
pub fn parse_seconds(text: &str) -> Result<f64, String> {
    let value = number(text)?;
    if !in_range(value) {
        return Err(format!(
            "{text} is out of range: give a finite number of seconds from 0 to {}",
            LONGEST.as_secs()
        ));
    }
    Ok(value)
}

/// Seconds from an environment variable (`CONFIRM_WINDOW_SECONDS` in Lambda), which cannot be
/// refused at start as a command line is: the same policy as `parse_seconds`, but a number out
/// of range is clamped into it (`seconds`; `true`: it was clamped), and one that is not a number
/// is `None` (the default applies).
pub fn seconds_from_env(text: &str) -> Option<(Duration, bool)> {
    let value = number(text).ok().filter(|value| !value.is_nan())?;
    Some((seconds(value), !in_range(value)))
}

/// The text as a number (`NaN` and the infinities included: they are out of range).
fn number(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .map_err(|_| format!("{text:?} is not a number of seconds"))
}

fn in_range(value: f64) -> bool {
    value.is_finite() && (0.0..=LONGEST.as_secs_f64()).contains(&value)
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            confirm_window: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            dry_run: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    #[test]
    fn user_seconds_clamp_instead_of_failing() {
        assert_eq!(seconds(1.5), Duration::from_millis(1500));
        assert_eq!(seconds(-3.0), Duration::ZERO);
        assert_eq!(seconds(f64::NAN), Duration::ZERO);
        assert_eq!(seconds(f64::INFINITY), LONGEST);
        assert_eq!(seconds(1e300), LONGEST);
        // Whatever a user gives, adding it to now cannot overflow.
        let _ = Instant::now() + seconds(f64::MAX);
    }

    #[test]
    fn command_line_seconds_are_finite_and_in_range() {
        assert_eq!(parse_seconds("2.5"), Ok(2.5));
        assert_eq!(parse_seconds("0"), Ok(0.0));
        for bad in ["inf", "-inf", "NaN", "-1", "1e300", "604801", "soon"] {
            let err = parse_seconds(bad).unwrap_err();
            assert!(err.contains("seconds"), "{bad}: {err}");
        }
    }

    #[test]
    fn environment_seconds_follow_the_same_policy_clamped_instead_of_refused() {
        assert_eq!(
            seconds_from_env(" 12.5 "),
            Some((Duration::from_millis(12_500), false))
        );
        assert_eq!(seconds_from_env("inf"), Some((LONGEST, true)));
        assert_eq!(seconds_from_env("-4"), Some((Duration::ZERO, true)));
        assert_eq!(seconds_from_env("NaN"), None);
        assert_eq!(seconds_from_env("soon"), None);
    }
}
