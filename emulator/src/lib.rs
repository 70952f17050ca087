//! A faithful, stateful local stand-in for HubSpot's CRM API.
//!
//! Built from HubSpot's documented and recorded behaviour: same routes, status codes, error
//! bodies and message strings, rate-limit headers and 429s, OAuth token expiry. Where HubSpot's
//! exact behaviour is unknown, the code says `\[INFERENCE\]` next to the choice it made.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let emulator = hubspot_emulator::start(hubspot_emulator::Settings::default()).await?;
//! println!("HubSpot at {}", emulator.base_url());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod app;
pub mod auth;
pub mod clock;
pub mod creation;
pub mod defaults;
pub mod error;
pub mod gates;
pub mod limits;
pub mod model;
pub mod preload;
mod routes;
pub mod settings;
pub mod state;
pub mod store;
pub mod validate;
pub mod versions;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use settings::Settings;
pub use versions::ApiVersion;

/// A running emulator. Dropping it shuts the server down.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    state: app::Shared,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT`, the value to use as a client's `base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's shared state, for in-process inspection.
    pub fn state(&self) -> &app::Shared {
        &self.state
    }

    /// Stops accepting requests and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts an emulator on `127.0.0.1:{settings.port}` in the current tokio runtime.
pub async fn start(settings: Settings) -> std::io::Result<RunningEmulator> {
    let listener = TcpListener::bind(("127.0.0.1", settings.port)).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(
        app::AppState::new(settings)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
    );
    let router = app::router(state.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router).with_graceful_shutdown(async {
            let _ = rx.await;
        });
        if let Err(e) = served.await {
            tracing::error!(error = %e, "emulator server stopped");
        }
    });
    Ok(RunningEmulator {
        addr,
        state,
        shutdown: Some(tx),
        task: Some(task),
    })
}
