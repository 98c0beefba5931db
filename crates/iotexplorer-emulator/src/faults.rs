//! Fault injection: misbehaviour on purpose, so clients can be tested against it.

use std::sync::{Arc, Mutex, PoisonError};

use iotexplorer_model::ErrorCode;
use serde::{Deserialize, Serialize};

use crate::random::{Purpose, Random};

/// What a fault does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultKind {
    /// Waits this long before answering (the request is processed normally).
    Delay {
        /// Milliseconds to wait.
        ms: u64,
    },
    /// Closes the connection before processing: nothing happens and no answer is sent.
    DropBefore,
    /// Processes the request, then closes the connection without answering, so the
    /// client cannot know the outcome (a task may have been created).
    DropAfter,
    /// Closes the connection without answering, then processes the request this long
    /// after: a gateway that gave up on a request its backend still runs. A client that
    /// looks for the outcome too early finds nothing, then the task appears.
    LandLate {
        /// Milliseconds between the close and the processing.
        ms: u64,
    },
    /// Answers HTTP 502 with an HTML page, as a proxy would, without processing.
    BadGateway,
    /// Processes the request, then sends only the first half of the JSON answer.
    TruncatedJson,
    /// Answers with this API error instead of processing (e.g. a throttling burst with
    /// `RequestLimitExceeded`).
    Error {
        /// The error code; any code may be given, known to the model or not.
        code: ErrorCode,
        /// The message; a default is used when absent.
        #[serde(default)]
        message: Option<String>,
    },
}

/// A fault and when it applies.
// No `deny_unknown_fields`: serde cannot combine it with the flattened kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FaultRule {
    /// What happens.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Only for this action; every action when absent.
    #[serde(default)]
    pub action: Option<String>,
    /// Only this many times, then the rule is spent; unlimited when absent.
    #[serde(default)]
    pub count: Option<u64>,
    /// Applies to a matching request with this probability in `[0, 1]`; always when absent.
    #[serde(default)]
    pub probability: Option<f64>,
}

impl FaultRule {
    /// A fault on every request, every time.
    pub fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            action: None,
            count: None,
            probability: None,
        }
    }

    /// Only for `action`.
    #[must_use]
    pub fn for_action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    /// Only `count` times.
    #[must_use]
    pub fn times(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }

    /// With probability `probability`.
    #[must_use]
    pub fn with_probability(mut self, probability: f64) -> Self {
        self.probability = Some(probability);
        self
    }
}

/// The faults of a running emulator; cloning gives another handle to the same set.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    rules: Arc<Mutex<Vec<FaultRule>>>,
    random: Random,
}

impl Faults {
    /// The `rules`, applied with chances drawn from `seed`.
    pub(crate) fn new(rules: Vec<FaultRule>, seed: u64) -> Self {
        Self {
            rules: Arc::new(Mutex::new(rules)),
            random: Random::new(seed, Purpose::Faults),
        }
    }

    /// Adds a rule; rules are tried in the order they were added.
    pub fn push(&self, rule: FaultRule) {
        self.lock().push(rule);
    }

    /// Replaces every rule.
    pub fn set(&self, rules: Vec<FaultRule>) {
        *self.lock() = rules;
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The rules still active.
    pub fn rules(&self) -> Vec<FaultRule> {
        self.lock().clone()
    }

    /// The fault for this request, if any, spending one use of its rule.
    pub(crate) fn take(&self, action: &str) -> Option<FaultKind> {
        let mut rules = self.lock();
        let index = rules.iter().position(|rule| {
            rule.action.as_deref().is_none_or(|wanted| wanted == action)
                && rule.count != Some(0)
                && rule.probability.is_none_or(|p| self.random.next_unit() < p)
        })?;
        let rule = rules.get_mut(index)?;
        let kind = rule.kind.clone();
        if let Some(count) = rule.count.as_mut() {
            *count -= 1;
            if *count == 0 {
                rules.remove(index);
            }
        }
        Some(kind)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule>> {
        // A panic elsewhere cannot leave the list half-edited, so a poisoned lock is usable.
        self.rules.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
