//! Everything that knows HubSpot's wire format: the client, tokens, pacing and bodies.

pub mod auth;
pub mod call;
pub mod client;
pub mod counters;
pub mod dry_run;
pub mod http;
pub mod imports;
pub mod json_calls;
pub mod pacer;
pub mod retry;
pub mod routes;
pub mod schemas;
pub mod search;
pub mod wire;

pub use call::CallError;
pub use client::{Client, Limits, SendFailure};
pub use http::Reply;
pub use routes::{ApiVersion, Routes};
