//! Realtime's errors. [`UpgradeError`] refuses a WebSocket upgrade over HTTP with Supabase's
//! `{"error": …}` body (through `error::ClientError`, like every stage). Once the socket is open,
//! errors are protocol replies: [`ProtocolError`] for a frame that cannot be read, [`JoinError`]
//! for a refused join (its `reason` is what realtime-js reports with `CHANNEL_ERROR`).

use std::borrow::Cow;

use crate::error::{BodyShape, ClientError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpgradeError {
    #[error("API key is missing")]
    ApiKeyMissing,
    #[error("{0}")]
    InvalidToken(String),
    #[error("unsupported vsn {0:?}: this server speaks 1.0.0 and 2.0.0")]
    UnsupportedVsn(String),
    #[error("not a WebSocket upgrade: {0}")]
    NotWebSocket(&'static str),
    #[error("Realtime is not available on this server: {0}")]
    Unavailable(String),
    #[error("Too many connections")]
    Limited,
}

impl ClientError for UpgradeError {
    fn status(&self) -> u16 {
        match self {
            UpgradeError::ApiKeyMissing | UpgradeError::InvalidToken(_) => 401,
            UpgradeError::UnsupportedVsn(_) | UpgradeError::NotWebSocket(_) => 400,
            UpgradeError::Unavailable(_) => 503,
            UpgradeError::Limited => 429,
        }
    }
    fn code(&self) -> Cow<'_, str> {
        match self {
            UpgradeError::ApiKeyMissing | UpgradeError::InvalidToken(_) => "RT401",
            UpgradeError::UnsupportedVsn(_) | UpgradeError::NotWebSocket(_) => "RT400",
            UpgradeError::Unavailable(_) => "RT503",
            UpgradeError::Limited => "RT429",
        }
        .into()
    }
    fn shape(&self) -> BodyShape {
        BodyShape::Realtime
    }
}

/// A frame the socket cannot read; answered with an error reply, the connection stays open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("malformed message: {0}")]
    Malformed(String),
}

/// Why a join is refused: the `reason` of the error reply, `Code: message` as Supabase.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("TopicNameRequired: a channel topic is realtime:<name>")]
    TopicNameRequired,
    #[error("InvalidJWTToken: {0}")]
    InvalidToken(String),
    #[error("ChannelRateLimitReached: Too many channels")]
    TooManyChannels,
    #[error("UnsupportedProtocol: the legacy API without `config` is not supported; use supabase-js v2")]
    Legacy,
    #[error("RealtimeUnavailable: {0}")]
    Unavailable(String),
}

impl JoinError {
    pub fn reason(&self) -> String {
        self.to_string()
    }
}

/// Why change capture stopped: `Off` for good (told once in the log, realtime stays off),
/// anything else is retried with a new replication connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    #[error("realtime is off: {0}")]
    Off(String),
    #[error("replication stream: {0}")]
    Protocol(String),
    #[error("{0}")]
    Db(String),
    #[error("rowgate is shutting down")]
    Stopped,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    #[test]
    fn upgrade_refusals_in_supabase_shape() {
        let e = ApiError::from(UpgradeError::ApiKeyMissing);
        assert_eq!((e.status, e.body()), (401, serde_json::json!({"error": "API key is missing"})));
        assert_eq!(ApiError::from(UpgradeError::UnsupportedVsn("9".into())).status, 400);
        assert_eq!(ApiError::from(UpgradeError::Unavailable("off".into())).status, 503);
    }

    #[test]
    fn join_reasons_carry_a_code() {
        assert!(JoinError::InvalidToken("Token has expired 3 seconds ago".into())
            .reason()
            .starts_with("InvalidJWTToken: "));
        assert!(JoinError::TopicNameRequired.reason().starts_with("TopicNameRequired"));
    }
}
