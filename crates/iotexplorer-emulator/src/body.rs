//! Reading a request body: within the size limit, the shared byte budget and the body
//! deadline.

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming as Body;
use tokio::time::Instant;

use crate::budget::{Budget, Reservation};

/// The first allocation for a body of unknown length; it grows as chunks arrive.
const UNKNOWN_LENGTH_CAPACITY: usize = 16 * 1024;

/// Why a body was not read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// It is longer than the limit.
    TooLarge,
    /// No room in the budget before the deadline.
    NoRoom,
    /// It did not arrive in full before the deadline.
    TimedOut,
    /// The connection failed or the framing was broken.
    Broken,
}

/// Reads `body`, of `declared` length if the head said so (already checked against
/// `max_bytes`), until `deadline`. The reservation returned holds the body's room in
/// `budget` until it is dropped.
pub(crate) async fn read(
    mut body: Body,
    declared: Option<usize>,
    max_bytes: usize,
    budget: &Budget,
    deadline: Instant,
) -> Result<(Bytes, Reservation), BodyError> {
    let mut reservation = budget.empty();
    // The whole declared length at once: requests that cannot all fit wait their turn
    // instead of each holding a part and waiting for the rest.
    if let Some(length) = declared {
        budget
            .grow(&mut reservation, length, deadline)
            .await
            .map_err(|_| BodyError::NoRoom)?;
    }
    let mut data = Vec::with_capacity(declared.unwrap_or(UNKNOWN_LENGTH_CAPACITY));
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(BodyError::TimedOut),
            Ok(None) => break,
            Ok(Some(Err(_))) => return Err(BodyError::Broken),
            Ok(Some(Ok(frame))) => frame,
        };
        // Trailers carry nothing the API reads.
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        let total = data.len().saturating_add(chunk.len());
        if total > max_bytes {
            return Err(BodyError::TooLarge);
        }
        let missing = total.saturating_sub(reservation.bytes());
        if missing > 0 {
            budget
                .grow(&mut reservation, missing, deadline)
                .await
                .map_err(|_| BodyError::NoRoom)?;
        }
        data.extend_from_slice(&chunk);
        reservation.record_received(chunk.len());
    }
    Ok((Bytes::from(data), reservation))
}
