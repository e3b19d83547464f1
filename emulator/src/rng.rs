//! Deterministic random numbers with no dependencies: SplitMix64 and a seeded generator
//! built on it. A leaf module so every part of the emulator (ids, faults, the simulated
//! fleet) draws from the same well-defined sequence whatever crate versions are locked.

/// SplitMix64: a tiny, well-known mixer. Written out rather than taken from `rand` so a
/// seed replays the same fault sequence no matter which crate versions are locked.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Seeded generator: a counter run through SplitMix64.
#[derive(Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.state = self.state.wrapping_add(1);
        (splitmix64(self.state) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A uniform draw in [0, 1) that depends only on `seed` and the labels it names (for
/// example a job id, a thing name, an execution number and what the draw is for). The
/// simulation draws this way rather than from one sequence, so a device's behaviour does
/// not depend on the order in which events of unrelated devices were processed.
pub fn unit(seed: u64, labels: &[&str], n: i64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for l in labels {
        for b in l.bytes().chain(std::iter::once(0xff)) {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    let x = splitmix64(splitmix64(h ^ seed) ^ n as u64);
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..100 {
            let x = a.next_f64();
            assert_eq!(x, b.next_f64());
            assert!((0.0..1.0).contains(&x));
        }
    }

    #[test]
    fn unit_draws_depend_on_every_label() {
        let a = unit(7, &["job", "thing-1"], 1);
        assert_eq!(a, unit(7, &["job", "thing-1"], 1));
        assert_ne!(a, unit(8, &["job", "thing-1"], 1));
        assert_ne!(a, unit(7, &["job", "thing-2"], 1));
        assert_ne!(a, unit(7, &["job", "thing-1"], 2));
        assert_ne!(unit(7, &["ab", "c"], 1), unit(7, &["a", "bc"], 1));
        let mean = (0..10_000).map(|i| unit(1, &["x"], i)).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }
}
