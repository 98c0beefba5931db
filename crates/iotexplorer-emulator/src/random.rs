//! Random numbers for request IDs, fault probabilities and device failures.
//!
//! Everything random comes from one seed, so that a run can be replayed: the same seed
//! and the same requests, sent one after another, give the same request IDs, faults and
//! device fates. Each purpose draws from its own ChaCha stream of that seed, so that one
//! purpose drawing more (say, an extra request) does not shift what another draws.

use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::ChaCha12Rng;
use rand::{Rng, RngExt, SeedableRng};

/// What a stream of the seed is used for; each has its own stream.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Purpose {
    /// Request IDs.
    RequestIds = 0,
    /// Whether a probabilistic fault applies.
    Faults = 1,
    /// What happens to a device in a task.
    DeviceFates = 2,
}

/// A thread-safe source of random numbers, one stream of a seed; clones share it.
#[derive(Clone, Debug)]
pub(crate) struct Random {
    generator: Arc<Mutex<ChaCha12Rng>>,
}

impl Random {
    /// The stream of `seed` for `purpose`.
    pub(crate) fn new(seed: u64, purpose: Purpose) -> Self {
        let mut generator = ChaCha12Rng::seed_from_u64(seed);
        generator.set_stream(purpose as u64);
        Self {
            generator: Arc::new(Mutex::new(generator)),
        }
    }

    /// A seed that differs between runs, for a run not given one; it is printed so that
    /// the run can still be replayed. It need not be unpredictable, so std's randomly
    /// keyed hasher over the clock is enough.
    pub(crate) fn fresh_seed() -> u64 {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        RandomState::new().hash_one(nanos)
    }

    fn with<T>(&self, draw: impl FnOnce(&mut ChaCha12Rng) -> T) -> T {
        // A panic while drawing cannot leave the generator inconsistent.
        let mut generator = self
            .generator
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        draw(&mut generator)
    }

    /// A number in `[0, 1)`.
    pub(crate) fn next_unit(&self) -> f64 {
        self.with(|generator| generator.random::<f64>())
    }

    /// A fresh version 4 UUID in its usual lowercase text form.
    pub(crate) fn uuid_v4(&self) -> String {
        let bytes = self.with(|generator| {
            let mut bytes = [0u8; 16];
            generator.fill_bytes(&mut bytes);
            bytes
        });
        // Written straight into a buffer: the formatting machinery of `to_string` costs
        // more than the drawing, once per request.
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .encode_lower(&mut text)
            .to_owned()
    }
}

impl Default for Random {
    /// A stream of a fresh seed; replaced by the run's own before anything is drawn.
    fn default() -> Self {
        Self::new(Self::fresh_seed(), Purpose::DeviceFates)
    }
}

#[cfg(test)]
mod tests {
    use super::{Purpose, Random};

    #[test]
    fn uuids_are_version_4_and_differ() {
        let random = Random::new(7, Purpose::RequestIds);
        let a = random.uuid_v4();
        let b = random.uuid_v4();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
        assert!(matches!(a.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        // The form `Uuid`'s own `Display` writes.
        let parsed = uuid::Uuid::parse_str(&a).expect("a UUID");
        assert_eq!(a, parsed.hyphenated().to_string());
    }

    #[test]
    fn a_seed_replays_and_purposes_differ() {
        let ids = |seed, purpose| {
            let random = Random::new(seed, purpose);
            (random.uuid_v4(), random.next_unit())
        };
        assert_eq!(ids(7, Purpose::Faults), ids(7, Purpose::Faults));
        assert_ne!(ids(7, Purpose::Faults), ids(8, Purpose::Faults));
        assert_ne!(ids(7, Purpose::Faults), ids(7, Purpose::RequestIds));
    }
}
