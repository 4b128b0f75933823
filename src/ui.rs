//! How a run talks to the person or job running it, besides the report itself: colour,
//! `--quiet`, the progress line, and the `-v`/`RUST_LOG` call log on stderr.
//!
//! Nothing here decides what is printed to stdout; it must never print a secret, and the
//! call log lets through only this crate's events (see [`init_call_log`]).

use crate::cli::ColorChoice;
use crate::reads::ArmRead;
use std::io::IsTerminal;
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{filter_fn, EnvFilter, FilterExt, LevelFilter};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

pub struct Ui {
    pub quiet: bool,
    color: ColorChoice,
}

impl Ui {
    pub fn new(quiet: bool, color: ColorChoice) -> Self {
        Ui { quiet, color }
    }

    /// Whether the report on stdout is coloured: asked for, or a terminal without `NO_COLOR`.
    pub fn color(&self) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }

    /// The progress line of a live run: on a terminal only, never with `--quiet`.
    pub fn progress(&self) -> Progress {
        Progress {
            shown: !self.quiet && std::io::stderr().is_terminal(),
        }
    }
}

/// A one-line progress indicator on stderr, redrawn after each read.
pub struct Progress {
    shown: bool,
}

impl Progress {
    pub fn step(&self, done: usize, planned: usize, read: &ArmRead) {
        if self.shown {
            let what: String = read.describe().chars().take(90).collect();
            eprint!("\r\x1b[2Kreading ARM {done}/{planned}: {what}");
        }
    }

    /// Erases the line, so what follows starts on a clean one.
    /// A fleet's progress: `clusters 312/1000, ARM reads 4,120, throttled 0`.
    pub fn fleet(&self, done: usize, total: usize, arm_reads: u64, throttled: u64) {
        if self.shown {
            eprint!(
                "\r\x1b[2Kclusters {done}/{total}, ARM reads {}, throttled {throttled}",
                crate::report::fleet::thousands(arm_reads)
            );
        }
    }

    pub fn clear(&self) {
        if self.shown {
            eprint!("\r\x1b[2K");
        }
    }
}

/// Where this crate's events come from; every other crate's are dropped.
const OWN_TARGET: &str = "pxb_preflight";

/// Sends this crate's log events to stderr: `-v` is the filter `pxb_preflight=debug`,
/// otherwise `RUST_LOG` is read as an EnvFilter; by default nothing is logged.
///
/// Other crates' events never pass, whatever `RUST_LOG` says: azure_core 0.21 logs each
/// request at debug with its `Authorization` header (the bearer token) unredacted.
pub fn init_call_log(verbose: bool) {
    let filter = if verbose {
        EnvFilter::new(format!("{OWN_TARGET}=debug"))
    } else {
        EnvFilter::builder()
            .with_default_directive(LevelFilter::OFF.into())
            .from_env_lossy()
    };
    // Called once per process; should a subscriber already be set, it stays.
    let _ = tracing::subscriber::set_global_default(call_log(filter, std::io::stderr));
}

fn call_log<W>(filter: EnvFilter, writer: W) -> impl Subscriber
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let own = filter_fn(|metadata| {
        let target = metadata.target();
        target == OWN_TARGET
            || target
                .strip_prefix(OWN_TARGET)
                .is_some_and(|rest| rest.starts_with("::"))
    });
    let lines = tracing_subscriber::fmt::layer()
        .event_format(Line)
        .with_writer(writer)
        .with_filter(filter.and(own));
    Registry::default().with(lines)
}

/// `pxb-preflight: <message>`, one line per event: what the call log has always looked like.
struct Line;

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "pxb-preflight: ")?;
        context
            .field_format()
            .format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// What the call log prints for one event from here and one from another crate.
    fn logged(filter: &str) -> String {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let writer = move || Writer(sink.clone());
        let subscriber = call_log(EnvFilter::new(filter), writer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!("GET /subscriptions/s?api-version=1 -> 200 (3 ms)");
            tracing::debug!(target: "azure_core::policies::transport", "Authorization: Bearer x");
        });
        let text = buffer.lock().unwrap().clone();
        String::from_utf8(text).unwrap()
    }

    struct Writer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Writer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(bytes)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn debug_filters_log_our_calls_in_the_old_format() {
        for on in [
            "debug",
            "trace",
            "pxb_preflight=debug",
            "warn,pxb_preflight=trace",
        ] {
            assert_eq!(
                logged(on),
                "pxb-preflight: GET /subscriptions/s?api-version=1 -> 200 (3 ms)\n",
                "{on}"
            );
        }
    }

    #[test]
    fn other_filters_log_nothing() {
        for off in [
            "",
            "info",
            "pxb_preflight=info",
            "azure_core=debug",
            "pxb_preflightx=debug",
        ] {
            assert_eq!(logged(off), "", "{off}");
        }
    }
}
