//! The modeled AWS IoT error codes and the `ApiError` every handler returns; owns the
//! mapping from error code to HTTP status so no handler picks a status by hand.

use std::fmt;
use std::str::FromStr;

/// Error codes the IoT service model declares for the job, thing and tag operations.
///
/// The HTTP statuses come from the model's `error.httpStatusCode`, which is why
/// ThrottlingException is a 400 and LimitExceededException a 410.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidRequest,
    Throttling,
    ResourceNotFound,
    ResourceAlreadyExists,
    InvalidStateTransition,
    Conflict,
    VersionConflict,
    LimitExceeded,
    /// iot-jobs-data only: the job of a described execution has ended.
    TerminalState,
    InternalFailure,
    ServiceUnavailable,
    /// Not an IoT error: what AWS front-ends answer for a path no operation owns.
    UnknownOperation,
    /// Not an IoT error: IAM refused the action (`--deny`). AWS's front-ends answer it for
    /// every service; its status is 403 on rest-json services, 400 on JSON 1.1 ones.
    AccessDenied,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::InvalidRequest,
        ErrorCode::Throttling,
        ErrorCode::ResourceNotFound,
        ErrorCode::ResourceAlreadyExists,
        ErrorCode::InvalidStateTransition,
        ErrorCode::Conflict,
        ErrorCode::VersionConflict,
        ErrorCode::LimitExceeded,
        ErrorCode::TerminalState,
        ErrorCode::InternalFailure,
        ErrorCode::ServiceUnavailable,
        ErrorCode::AccessDenied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "InvalidRequestException",
            ErrorCode::Throttling => "ThrottlingException",
            ErrorCode::ResourceNotFound => "ResourceNotFoundException",
            ErrorCode::ResourceAlreadyExists => "ResourceAlreadyExistsException",
            ErrorCode::InvalidStateTransition => "InvalidStateTransitionException",
            ErrorCode::Conflict => "ConflictException",
            ErrorCode::VersionConflict => "VersionConflictException",
            ErrorCode::LimitExceeded => "LimitExceededException",
            ErrorCode::TerminalState => "TerminalStateException",
            ErrorCode::InternalFailure => "InternalFailureException",
            ErrorCode::ServiceUnavailable => "ServiceUnavailableException",
            ErrorCode::UnknownOperation => "UnknownOperationException",
            ErrorCode::AccessDenied => "AccessDeniedException",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest | ErrorCode::Throttling => 400,
            ErrorCode::ResourceNotFound | ErrorCode::UnknownOperation => 404,
            ErrorCode::AccessDenied => 403,
            ErrorCode::ResourceAlreadyExists
            | ErrorCode::InvalidStateTransition
            | ErrorCode::Conflict
            | ErrorCode::VersionConflict => 409,
            ErrorCode::LimitExceeded | ErrorCode::TerminalState => 410,
            ErrorCode::InternalFailure => 500,
            ErrorCode::ServiceUnavailable => 503,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorCode {
    type Err = String;

    /// Accepts the full code (`ThrottlingException`) or the short form (`Throttling`),
    /// because `--fail` is typed by hand.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorCode::ALL
            .into_iter()
            .find(|c| c.as_str() == s || c.as_str().trim_end_matches("Exception") == s)
            .ok_or_else(|| {
                let known: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
                format!("unknown error code `{s}` (known: {})", known.join(", "))
            })
    }
}

/// An error answered to an AWS API client.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// ResourceAlreadyExistsException carries both, ConflictException `resourceId`.
    pub resource_id: Option<String>,
    pub resource_arn: Option<String>,
    /// iot-jobs-data's InvalidStateTransitionException carries the execution's current
    /// state (`executionState`), so a device need not describe it again.
    pub execution_state: Option<Box<serde_json::Value>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            resource_id: None,
            resource_arn: None,
            execution_state: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceNotFound, message)
    }

    pub fn state(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidStateTransition, message)
    }

    pub fn limit(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::LimitExceeded, message)
    }

    pub fn already_exists(message: impl Into<String>, id: &str, arn: &str) -> Self {
        ApiError {
            code: ErrorCode::ResourceAlreadyExists,
            message: message.into(),
            resource_id: Some(id.to_owned()),
            resource_arn: Some(arn.to_owned()),
            execution_state: None,
        }
    }

    /// ConflictException (409), e.g. CreateJobTemplate with an id already taken.
    pub fn conflict(message: impl Into<String>, id: &str) -> Self {
        ApiError {
            resource_id: Some(id.to_owned()),
            ..Self::new(ErrorCode::Conflict, message)
        }
    }

    /// The tagging API's name for this code (JSON 1.1 errors of `ResourceGroupsTaggingAPI`)
    /// and its HTTP status there.
    pub fn tagging_code(&self) -> (&'static str, u16) {
        match self.code {
            ErrorCode::InvalidRequest => ("InvalidParameterException", 400),
            ErrorCode::Throttling | ErrorCode::LimitExceeded => ("ThrottledException", 400),
            ErrorCode::AccessDenied => ("AccessDeniedException", 400),
            ErrorCode::UnknownOperation => ("UnknownOperationException", 400),
            _ => ("InternalServiceException", 500),
        }
    }

    /// The JSON 1.1 error body the tagging API answers: `__type` and `Message`.
    pub fn tagging_body(&self) -> Vec<u8> {
        let body = serde_json::json!({"__type": self.tagging_code().0, "Message": self.message});
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// The JSON body: `message` is what botocore and the Rust SDK read, `__type` is the
    /// fallback some parsers use when the `x-amzn-ErrorType` header is stripped by a proxy.
    pub fn body(&self) -> Vec<u8> {
        let mut body = serde_json::Map::new();
        body.insert("__type".into(), self.code.as_str().into());
        body.insert("message".into(), self.message.clone().into());
        if let Some(id) = &self.resource_id {
            body.insert("resourceId".into(), id.clone().into());
        }
        if let Some(arn) = &self.resource_arn {
            body.insert("resourceArn".into(), arn.clone().into());
        }
        if let Some(state) = &self.execution_state {
            body.insert("executionState".into(), (**state).clone());
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_model() {
        assert_eq!(ErrorCode::Throttling.status(), 400);
        assert_eq!(ErrorCode::LimitExceeded.status(), 410);
        assert_eq!(ErrorCode::ResourceAlreadyExists.status(), 409);
        assert_eq!(ErrorCode::ServiceUnavailable.status(), 503);
    }

    #[test]
    fn codes_parse_long_and_short() {
        assert_eq!(
            "ThrottlingException".parse::<ErrorCode>(),
            Ok(ErrorCode::Throttling)
        );
        assert_eq!("Throttling".parse::<ErrorCode>(), Ok(ErrorCode::Throttling));
        assert!("Nope".parse::<ErrorCode>().is_err());
    }
}
