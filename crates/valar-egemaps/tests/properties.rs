//! Property tests: the extractor on arbitrary signals — 0 to 5 s at 8 to 192 kHz, with DC,
//! full-scale clipping, silence and non-finite samples — never panics, and on finite input
//! returns either 88 finite values or openSMILE's documented outcome for input too short to
//! analyse (every value missing).

use proptest::prelude::*;
use valar_egemaps::{Extractor, MAX_RATE, MIN_RATE};

/// A signal built from a few ingredients proptest can shrink.
#[derive(Debug, Clone)]
struct Signal {
    rate: u32,
    seconds: f64,
    tone_hz: f64,
    amp: f32,
    dc: f32,
    noise: f32,
    clip: bool,
    /// Positions (fractions of the length) set to NaN, +Inf or −Inf.
    non_finite: Vec<(f64, u8)>,
    seed: u64,
}

impl Signal {
    fn samples(&self) -> Vec<f32> {
        let n = (self.rate as f64 * self.seconds) as usize;
        let mut state = self.seed | 1;
        let mut x: Vec<f32> = (0..n)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let r = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                let t = i as f64 / self.rate as f64;
                let v = self.dc + self.amp * (2.0 * std::f64::consts::PI * self.tone_hz * t).sin() as f32 + self.noise * r;
                if self.clip { v.clamp(-1.0, 1.0) } else { v }
            })
            .collect();
        for &(pos, kind) in &self.non_finite {
            if !x.is_empty() {
                let i = ((pos * x.len() as f64) as usize).min(x.len() - 1);
                x[i] = match kind % 3 {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    _ => f32::NEG_INFINITY,
                };
            }
        }
        x
    }
}

fn signal(with_non_finite: bool) -> impl Strategy<Value = Signal> {
    let rates = prop_oneof![
        Just(MIN_RATE),
        Just(11_025u32),
        Just(16_000u32),
        Just(22_050u32),
        Just(44_100u32),
        Just(48_000u32),
        Just(96_000u32),
        Just(MAX_RATE),
        MIN_RATE..=MAX_RATE,
    ];
    let nf = if with_non_finite { proptest::collection::vec((0.0..1.0f64, any::<u8>()), 1..4).boxed() } else { Just(Vec::new()).boxed() };
    (rates, 0.0..1.0f64, 20.0..4000.0f64, 0.0..2.0f32, -0.5..0.5f32, 0.0..0.5f32, any::<bool>(), nf, any::<u64>()).prop_map(
        |(rate, frac, tone_hz, amp, dc, noise, clip, non_finite, seed)| {
            // Up to 5 s; high rates get shorter signals so a case stays quick.
            let max_s = if rate > 50_000 { 1.5 } else { 5.0 };
            Signal { rate, seconds: frac * max_s, tone_hz, amp, dc, noise, clip, non_finite, seed }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn finite_signals_give_finite_functionals_or_the_too_short_outcome(s in signal(false)) {
        let x = s.samples();
        let ex = Extractor::new(s.rate).expect("rates 8–192 kHz are accepted");
        let f = ex.extract(&x);
        let finite = f.0.iter().all(|v| v.is_finite());
        let missing = f.0.iter().all(|v| v.is_nan());
        prop_assert!(finite || missing, "{} Hz, {:.3} s: some values finite, some not: {:?}", s.rate, s.seconds, f.0);
        // openSMILE needs one 60 ms frame; with it, every value is there.
        let l60 = (0.060 * s.rate as f64).round() as usize;
        prop_assert_eq!(finite, x.len() >= l60, "{} samples, 60 ms frame {}", x.len(), l60);
    }

    #[test]
    fn non_finite_samples_never_panic(s in signal(true)) {
        let x = s.samples();
        let ex = Extractor::new(s.rate).expect("rates 8–192 kHz are accepted");
        let _ = ex.analyze(&x, true);
    }
}

#[test]
fn rates_outside_the_range_are_refused() {
    assert!(Extractor::new(MIN_RATE - 1).is_err());
    assert!(Extractor::new(MAX_RATE + 1).is_err());
}
