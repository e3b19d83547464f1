//! SDK failures classified into [`ApiError`]s by type (the SDK's error variants, the service's
//! error code, the HTTP status), never by message text.

use aws_sdk_iot::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iot::operation::RequestId;

use super::body::BodyError;
use super::{ApiError, ErrorKind};

/// Maps any SDK failure to an [`ApiError`]. The SDK's Display of a dispatch failure can include
/// the endpoint but never credentials or signatures. [`super::IotJobs`] adds the endpoint.
pub(super) fn api_error<E>(operation: &'static str, err: &SdkError<E>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    SdkError<E>: RequestId,
{
    let code = err.code().unwrap_or_default().to_string();
    let status = err.raw_response().map(|r| r.status().as_u16());
    // A body jobctl cut off (too large, too slow) is a bad answer whatever its status said.
    if let Some(cut) = super::body::cut_off(err) {
        return ApiError {
            operation,
            kind: ErrorKind::BadResponse,
            code: match cut {
                BodyError::TooLarge { .. } => "ResponseTooLarge",
                BodyError::TooSlow { .. } => "ResponseTooSlow",
            }
            .into(),
            message: match status {
                Some(s) => format!("HTTP {s}, but {cut}"),
                None => cut.to_string(),
            },
            request_id: err.request_id().map(String::from),
            endpoint: None,
        };
    }
    let kind = match (code.as_str(), status, err) {
        ("ResourceNotFoundException", _, _) => ErrorKind::NotFound,
        ("ResourceAlreadyExistsException", _, _) => ErrorKind::AlreadyExists,
        // CreateJobTemplate answers a duplicate id with ConflictException (409).
        ("ConflictException", _, _) if operation == "CreateJobTemplate" => ErrorKind::AlreadyExists,
        ("ThrottlingException" | "LimitExceededException" | "TooManyRequestsException", _, _) => {
            ErrorKind::Throttled
        }
        ("InvalidRequestException", _, _) => ErrorKind::InvalidRequest,
        (_, Some(s), _) if s >= 500 => ErrorKind::Transient,
        // A success whose body the SDK could not read or deserialize (malformed JSON, a body
        // cut off by stalled-stream protection) comes back as an error with the success
        // status: not AWS refusing, and not "no error message".
        (_, Some(s), SdkError::ServiceError(_) | SdkError::ResponseError(_))
            if (200..300).contains(&s) =>
        {
            ErrorKind::BadResponse
        }
        // An answer without an AWS error code is not from AWS IoT: a wrong URL, a web server, a
        // proxy's error page. Never "not found", or a plan would create what exists.
        ("", Some(_), _) => ErrorKind::NotAws,
        (_, None, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)) => {
            ErrorKind::Unreachable
        }
        (_, _, SdkError::ResponseError(_)) => ErrorKind::Transient,
        _ => ErrorKind::Other,
    };
    let message = match err.message() {
        Some(m) => m.to_string(),
        None => match err {
            SdkError::DispatchFailure(d) if d.is_timeout() => {
                format!("timed out: {}", chain(err))
            }
            SdkError::DispatchFailure(_) => chain(err),
            SdkError::TimeoutError(_) => "timed out".into(),
            SdkError::ConstructionFailure(_) => {
                let detail = chain(err);
                format!("could not build the request: {detail}")
            }
            other => match status {
                Some(s) if kind == ErrorKind::BadResponse => {
                    format!(
                        "HTTP {s}, but the response could not be parsed: {}",
                        chain(other)
                    )
                }
                Some(s) if kind == ErrorKind::NotAws => format!("HTTP {s} without an AWS error"),
                Some(s) => format!("HTTP {s} with no error message"),
                None => other.to_string(),
            },
        },
    };
    let code = if code.is_empty() {
        match (kind, status) {
            (ErrorKind::BadResponse, _) => "UnparsableResponse".into(),
            (_, Some(s)) => format!("HTTP{s}"),
            (ErrorKind::Unreachable, None) => "ConnectionError".into(),
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
        request_id: err.request_id().map(String::from),
        endpoint: None,
    }
}

/// The causes below an error, innermost last ("io error: Connection refused (os error 111)"):
/// the SDK's own top-level texts are too generic to act on.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = err.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        next = cause.source();
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}

/// The first cause of type `T` along an error's sources. An `io::Error` hides its inner error
/// from `source()`, so it is opened too.
pub(crate) fn find_cause<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(found) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| find_cause::<T>(inner))
        {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// A Describe call's output, with "does not exist" as `None` rather than an error.
pub(super) fn absent_if_not_found<O>(result: Result<O, ApiError>) -> Result<Option<O>, ApiError> {
    match result {
        Ok(output) => Ok(Some(output)),
        Err(err) if err.kind == ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
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
        request_id: None,
        endpoint: None,
    }
}

/// A response without what the operation always returns.
pub(super) fn empty_response(operation: &'static str, what: &str) -> ApiError {
    ApiError {
        operation,
        kind: ErrorKind::Other,
        code: "EmptyResponse".into(),
        message: format!("the response has no {what}"),
        request_id: None,
        endpoint: None,
    }
}
