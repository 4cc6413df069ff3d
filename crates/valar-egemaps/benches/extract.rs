//! eGeMAPS extraction speed. Real-time factor = time / audio duration; openSMILE 3 runs
//! eGeMAPSv02 at about 0.03 on one core of the CI machine, valar's target is ≤ 0.01.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use valar_egemaps::Extractor;
use valar_egemaps::synth::{self, Pulses};

/// 10 s of speech-like signal: voiced stretches with gliding F0, pauses with noise.
fn speechlike(rate: u32) -> Vec<f32> {
    let mut x = Vec::new();
    for (i, (f0a, f0b)) in [(110.0, 150.0), (180.0, 130.0), (140.0, 220.0), (200.0, 120.0)].iter().enumerate() {
        let p = Pulses { f0_start: *f0a, f0_end: *f0b, jitter: 0.01, shimmer: 0.05, amp: 1.0 };
        let formants =
            if i % 2 == 0 { [(700.0, 90.0), (1220.0, 110.0), (2600.0, 160.0)] } else { [(300.0, 60.0), (2300.0, 100.0), (3000.0, 150.0)] };
        x.extend(synth::vowel(rate, 1.8, p, &formants, 0.5));
        x.extend(synth::noise(rate, 0.7, 0.005, i as u64));
    }
    x
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("egemaps");
    g.sample_size(20);
    for rate in [16_000u32, 44_100] {
        let x = speechlike(rate);
        let ex = Extractor::new(rate).expect("valid rate");
        // Throughput in milliseconds of audio, so criterion's "elem/s" reads as ms audio per s.
        g.throughput(Throughput::Elements((x.len() as f64 / rate as f64 * 1000.0) as u64));
        g.bench_function(format!("functionals_10s_{}k", rate / 1000), |b| b.iter(|| ex.extract(std::hint::black_box(&x))));
        // The same recording's frames over two threads (identical results; wall time).
        let ex2 = ex.threads(2);
        g.bench_function(format!("functionals_10s_{}k_2_threads", rate / 1000), |b| b.iter(|| ex2.extract(std::hint::black_box(&x))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
