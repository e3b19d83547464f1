//! Bounds on every response body: a size limit and a deadline, so that an endpoint that answers
//! with an endless or trickling body fails the call with one clear error instead of filling
//! memory or holding the run until `--timeout`.
//!
//! The SDK reads a whole body into memory before it parses it, and its timeouts stop at the
//! response head: its read timeout ends when the head arrives, and stalled-stream protection
//! only cuts off a body slower than 1 byte/s. An interceptor wraps each response body before it
//! is read; a body cut off here is never retried (the same endpoint would answer the same way).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use aws_sdk_iot::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, InterceptorContext,
};
use aws_sdk_iot::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_iot::config::{AsyncSleep, ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_iot::error::BoxError;
use aws_smithy_runtime_api::client::retries::classifiers::RetryClassifierPriority;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// The largest response body jobctl reads. AWS IoT's largest answers are far smaller: a job
/// document is at most 32 KiB (GetJobDocument), a DescribeJob at most 100 target ARNs of 2 KiB,
/// a ListJobs page 250 summaries; each is well under 1 MiB.
pub const MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;

/// Why a response body was cut off.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the response body is larger than {} MiB, far more than any AWS IoT answer; it was not read further", .limit / (1024 * 1024))]
    TooLarge { limit: u64 },
    #[error("the response body did not arrive in full within --read-timeout {} of its head; it was not read further", humantime::format_duration(*.budget))]
    TooSlow { budget: Duration },
}

/// A response body that fails once more than `limit` bytes arrived, or once `deadline` fired
/// before its end.
struct Bounded {
    inner: SdkBody,
    read: u64,
    limit: u64,
    budget: Duration,
    deadline: Option<Pin<Box<dyn Future<Output = ()> + Send + Sync>>>,
    failed: bool,
}

impl Body for Bounded {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        // Checked on every poll, not only while the body waits: a trickle never waits long.
        if let Some(deadline) = this.deadline.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                this.failed = true;
                let budget = this.budget;
                return Poll::Ready(Some(Err(BodyError::TooSlow { budget }.into())));
            }
        }
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        if let Some(data) = frame.data_ref() {
            this.read = this.read.saturating_add(data.len() as u64);
            if this.read > this.limit {
                this.failed = true;
                let limit = this.limit;
                return Poll::Ready(Some(Err(BodyError::TooLarge { limit }.into())));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The interceptor that bounds each response body: at most [`MAX_RESPONSE_BYTES`], in full
/// within `budget` (`--read-timeout`) of its head.
#[derive(Debug)]
pub(super) struct BoundedResponses {
    pub(super) limit: u64,
    pub(super) budget: Duration,
}

impl Intercept for BoundedResponses {
    fn name(&self) -> &'static str {
        "jobctl-bounded-responses"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let inner = context.response_mut().take_body();
        let deadline = runtime_components.sleep_impl().map(|sleep| {
            let sleep: Pin<Box<dyn Future<Output = ()> + Send + Sync>> =
                Box::pin(sleep.sleep(self.budget));
            sleep
        });
        let bounded = Bounded {
            inner,
            read: 0,
            limit: self.limit,
            budget: self.budget,
            deadline,
            failed: false,
        };
        *context.response_mut().body_mut() = SdkBody::from_body_1_x(bounded);
        Ok(())
    }
}

/// Forbids retrying a call whose body was cut off: the endpoint would send the same again, and
/// each attempt would cost the limit in memory or the deadline in time.
#[derive(Debug)]
pub(super) struct NoRetryOfCutOffBodies;

impl ClassifyRetry for NoRetryOfCutOffBodies {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.output_or_error() {
            Some(Err(err)) if cut_off(err).is_some() => RetryAction::RetryForbidden,
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "jobctl: no retry of cut-off bodies"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// The [`BodyError`] among an error's causes, if a body was cut off.
pub(super) fn cut_off<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a BodyError> {
    super::errors::find_cause::<BodyError>(err)
}
