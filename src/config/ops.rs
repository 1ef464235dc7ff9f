//! The operator's sections: `[log]` (filter, text or JSON lines, how many
//! recent warnings `postern status` shows) and `[metrics]` (the Prometheus
//! endpoint's addresses).

use std::net::SocketAddr;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    /// A tracing filter such as `info` or `postern=debug,info`; RUST_LOG wins.
    pub level: String,
    /// `text` (one human line per event) or `json` (one JSON object per
    /// line, for a log shipper).
    pub format: LogFormat,
    /// Warnings and errors the server keeps in memory for `postern status`.
    pub recent_errors: usize,
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog {
            level: "info".into(),
            format: LogFormat::Text,
            recent_errors: 20,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// `[metrics]`: off in the embedded default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMetrics {
    /// Addresses serving `GET /metrics` (Prometheus text format) over plain
    /// HTTP; an empty list turns metrics off. Keep it on loopback or a
    /// private network: it tells anyone who asks how busy the server is.
    pub listen: Vec<String>,
}

impl RawMetrics {
    /// The parsed addresses; `Err((key, reason))` for the first refused.
    pub fn check(&self) -> Result<Vec<SocketAddr>, (String, String)> {
        self.listen
            .iter()
            .enumerate()
            .map(|(i, a)| {
                a.parse().map_err(|_| {
                    (
                        format!("metrics.listen[{i}]"),
                        format!("{a:?} is not an address:port such as 127.0.0.1:9190"),
                    )
                })
            })
            .collect()
    }
}
