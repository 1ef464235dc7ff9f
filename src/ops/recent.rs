//! The last warnings and errors, kept in memory for `postern status`: a
//! tracing layer that copies each WARN or ERROR event (time, level, target,
//! message and fields as one line) into a ring of `[log] recent_errors`.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock, PoisonError};

use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// One kept event.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Recent {
    /// Unix seconds.
    pub time: i64,
    pub level: String,
    pub target: String,
    /// The message, then `name=value` for each field.
    pub text: String,
}

/// The ring, filled by [`RecentLayer`] and read by the status socket.
struct Ring {
    cap: usize,
    events: Mutex<VecDeque<Recent>>,
}

static RING: OnceLock<Ring> = OnceLock::new();

/// The events kept so far, oldest first (none when no layer was made).
pub fn snapshot() -> Vec<Recent> {
    RING.get().map_or_else(Vec::new, |r| {
        r.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    })
}

/// Copies WARN and ERROR events into the ring.
pub struct RecentLayer;

impl RecentLayer {
    /// A layer keeping the last `cap` events (0 keeps none). Made once, by
    /// `serve`'s log setup.
    pub fn new(cap: usize) -> RecentLayer {
        let _ = RING.set(Ring {
            cap,
            events: Mutex::new(VecDeque::with_capacity(cap)),
        });
        RecentLayer
    }
}

impl<S: Subscriber> Layer<S> for RecentLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        if level > Level::WARN {
            return;
        }
        let Some(ring) = RING.get().filter(|r| r.cap > 0) else {
            return;
        };
        let mut text = Text::default();
        event.record(&mut text);
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut events = ring.events.lock().unwrap_or_else(PoisonError::into_inner);
        if events.len() >= ring.cap {
            events.pop_front();
        }
        events.push_back(Recent {
            time,
            level: level.to_string(),
            target: event.metadata().target().to_string(),
            text: text.0,
        });
    }
}

/// The message first, then the other fields as `name=value`.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let rest = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}");
            if !rest.is_empty() {
                self.0.push(' ');
                self.0.push_str(&rest);
            }
        } else {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }
}
