//! Logging of every command: to stderr, filtered by `RUST_LOG`.

/// Logs to stderr, filtered by `RUST_LOG` or else at `default` level.
/// Logs to stderr at `default` level unless `RUST_LOG` says otherwise; coloured as
/// [`log_colours`] decides. Every command that logs starts it this way.
pub fn init_tracing(default: &str) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let colours = log_colours(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colours)
        .try_init();
}

/// Whether log lines carry ANSI colours: only when stderr is a terminal, and not when
/// `NO_COLOR` is set to a non-empty value (<https://no-color.org>). A file or a pipe gets
/// plain text.
pub fn log_colours(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::log_colours;

    #[test]
    fn colours_only_on_a_terminal_and_not_under_no_color() {
        assert!(log_colours(true, None));
        assert!(!log_colours(false, None), "a file or a pipe gets no colour");
        assert!(!log_colours(true, Some(OsStr::new("1"))));
        assert!(!log_colours(false, Some(OsStr::new("1"))));
        // https://no-color.org: only a non-empty NO_COLOR disables colour.
        assert!(log_colours(true, Some(OsStr::new(""))));
    }
}
