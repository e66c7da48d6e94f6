//! Logging. Spans and events never carry identity numbers: see `http::router` and
//! `#[instrument(skip_all)]` on handlers.

use tracing_subscriber::{fmt, EnvFilter};

use crate::settings::LogFormat;

/// Installs the global subscriber once; later calls are no-ops (tests start many apps).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("CREDITBRIDGE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=error,tower_http=info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
