//! SDK failures classified into [`ApiError`]s by type (the SDK's error variants, the service's
//! error code, the HTTP status), never by message text.

use aws_sdk_iot::error::{ProvideErrorMetadata, SdkError};

use super::{ApiError, ErrorKind};

/// Maps any SDK failure to an [`ApiError`]. The SDK's Display of a dispatch failure can include
/// the endpoint but never credentials or signatures.
pub(super) fn api_error<E>(operation: &'static str, err: &SdkError<E>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err.code().unwrap_or_default().to_string();
    let status = err.raw_response().map(|r| r.status().as_u16());
    let kind = match (code.as_str(), status, err) {
        ("ResourceNotFoundException", _, _) | (_, Some(404), _) => ErrorKind::NotFound,
        ("ResourceAlreadyExistsException", _, _) => ErrorKind::AlreadyExists,
        ("ThrottlingException" | "LimitExceededException" | "TooManyRequestsException", _, _) => {
            ErrorKind::Throttled
        }
        ("InvalidRequestException", _, _) => ErrorKind::InvalidRequest,
        (_, Some(s), _) if s >= 500 => ErrorKind::Transient,
        (
            _,
            _,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_),
        ) => ErrorKind::Transient,
        _ => ErrorKind::Other,
    };
    let message = match err.message() {
        Some(m) => m.to_string(),
        None => match err {
            SdkError::DispatchFailure(d) => {
                let detail = source_chain(err);
                if d.is_io() {
                    format!("could not reach the endpoint: {detail}")
                } else if d.is_timeout() {
                    "timed out".into()
                } else {
                    format!("request failed: {detail}")
                }
            }
            SdkError::TimeoutError(_) => "timed out".into(),
            SdkError::ConstructionFailure(_) => {
                let detail = source_chain(err);
                format!("could not build the request: {detail}")
            }
            other => match status {
                Some(s) => format!("HTTP {s} with no error message"),
                None => other.to_string(),
            },
        },
    };
    let code = if code.is_empty() {
        match (kind, status) {
            (_, Some(s)) => format!("HTTP{s}"),
            (ErrorKind::Transient, None) => "ConnectionError".into(),
            _ => "Error".into(),
        }
    } else {
        code
    };
    ApiError {
        operation,
        kind,
        code,
        message,
    }
}

/// The causes below an error, innermost last ("io error: Connection refused (os error 111)"):
/// the SDK's own top-level texts are too generic to act on.
fn source_chain(err: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = err.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        next = cause.source();
    }
    parts.join(": ")
}

/// A Describe call's output, with "does not exist" as `None` rather than an error.
pub(super) fn absent_if_not_found<O, E>(
    operation: &'static str,
    result: Result<O, SdkError<E>>,
) -> Result<Option<O>, ApiError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(err) => {
            let mapped = api_error(operation, &err);
            if mapped.kind == ErrorKind::NotFound {
                Ok(None)
            } else {
                Err(mapped)
            }
        }
    }
}

/// A request jobctl could not build: a value the SDK's builders refuse.
pub(super) fn build_error(
    operation: &'static str,
    err: &aws_sdk_iot::error::BuildError,
) -> ApiError {
    ApiError {
        operation,
        kind: ErrorKind::InvalidRequest,
        code: "BuildError".into(),
        message: err.to_string(),
    }
}

/// A response without what the operation always returns.
pub(super) fn empty_response(operation: &'static str, what: &str) -> ApiError {
    ApiError {
        operation,
        kind: ErrorKind::Other,
        code: "EmptyResponse".into(),
        message: format!("the response has no {what}"),
    }
}
