//! Spreading a recording's frames over threads changes nothing: functionals and every LLD
//! frame are identical to the bit for 1, 2, 3 and 7 threads, at every rate and however the
//! samples arrive (one block, or blocks of awkward sizes).

use valar_egemaps::synth::{self, Pulses};
use valar_egemaps::{Analysis, Extractor};

/// 12 s of speech-like signal: voiced stretches with gliding F0 and changing vowels, pauses
/// with faint noise (pitch, voicing, formants and the Viterbi all have work to do).
fn speechlike(rate: u32) -> Vec<f32> {
    let mut x = Vec::new();
    let glides = [(110.0, 150.0), (180.0, 130.0), (140.0, 220.0), (200.0, 120.0), (95.0, 105.0), (240.0, 160.0)];
    for (i, &(a, b)) in glides.iter().enumerate() {
        let p = Pulses { f0_start: a, f0_end: b, jitter: 0.01, shimmer: 0.05, amp: 1.0 };
        let formants =
            if i % 2 == 0 { [(700.0, 90.0), (1220.0, 110.0), (2600.0, 160.0)] } else { [(300.0, 60.0), (2300.0, 100.0), (3000.0, 150.0)] };
        x.extend(synth::vowel(rate, 1.5, p, &formants, 0.5));
        x.extend(synth::noise(rate, 0.5, 0.004, i as u64));
    }
    x
}

fn analyse(rate: u32, x: &[f32], threads: usize, block: usize) -> Analysis {
    let mut s = Extractor::new(rate).expect("valid rate").threads(threads).session();
    for b in x.chunks(block) {
        s.push(b);
    }
    s.finish(true)
}

fn bits(a: &Analysis) -> (Vec<u64>, Vec<u64>) {
    let f = a.functionals.values().iter().map(|v| v.to_bits()).collect();
    let l = a.lld.as_ref().expect("LLDs asked for").rows.iter().flatten().map(|v| v.to_bits()).collect();
    (f, l)
}

#[test]
fn any_number_of_threads_gives_one_threads_result() {
    for rate in [8_000u32, 16_000, 44_100] {
        let x = speechlike(rate);
        let one = analyse(rate, &x, 1, x.len());
        let want = bits(&one);
        assert!(one.functionals.is_valid() && one.voiced_ratio > 0.3, "{rate} Hz: the signal must be voiced");
        for (threads, block) in [(2, x.len()), (3, 32_768), (7, 4_099), (2, 777)] {
            let got = analyse(rate, &x, threads, block);
            assert!(bits(&got) == want, "{rate} Hz, {threads} threads, blocks of {block}: results differ from one thread's");
        }
    }
}
