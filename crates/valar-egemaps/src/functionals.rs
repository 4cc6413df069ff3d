//! Contour smoothing (spec §5) and the statistics that turn contours into functionals
//! (spec §7.3–§7.7), each with openSMILE's conventions.

/// Level period: every time-based functional uses 10 ms, whatever the exact hop.
pub(crate) const T: f64 = 0.01;

/// 3-frame moving average with edge replication (`_sma3`).
pub(crate) fn sma3(v: &[f32]) -> Vec<f32> {
    let n = v.len();
    (0..n)
        .map(|t| {
            let a = v[t.saturating_sub(1)] as f64;
            let c = v[(t + 1).min(n - 1)] as f64;
            ((a + v[t] as f64 + c) / 3.0) as f32
        })
        .collect()
}

/// Non-zero 3-frame moving average (`_sma3nz`): zeros stay zero and never enter averages.
pub(crate) fn sma3nz(v: &[f32]) -> Vec<f32> {
    let n = v.len();
    (0..n).map(|t| sma3nz_at(v, t, n)).collect()
}

/// `sma3nz` at `t` as if the contour ended at `end` (exclusive): the right edge replicates.
pub(crate) fn sma3nz_at(v: &[f32], t: usize, end: usize) -> f32 {
    if v[t] == 0.0 {
        return 0.0;
    }
    let mut sum = v[t] as f64;
    let mut cnt = 1.0;
    let left = v[t.saturating_sub(1)];
    let right = v[(t + 1).min(end - 1)];
    for x in [left, right] {
        if x != 0.0 {
            sum += x as f64;
            cnt += 1.0;
        }
    }
    (sum / cnt) as f32
}

/// Values ≠ 0, in order.
pub(crate) fn non_zero(v: &[f32]) -> Vec<f32> {
    v.iter().copied().filter(|&x| x != 0.0).collect()
}

/// amean and the signed stddevNorm (openSMILE mode 2); 0 for empty input.
pub(crate) fn moments(v: &[f32]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let n = v.len() as f64;
    let mean = (v.iter().map(|&x| x as f64).sum::<f64>() / n) as f32 as f64;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    let sd_norm = if var == 0.0 {
        0.0
    } else {
        let div = if mean == 0.0 { 1.0 } else { mean };
        var.sqrt() / div
    };
    (mean, sd_norm)
}

/// Percentiles 20/50/80 (linear interpolation) and the 20–80 range.
pub(crate) fn percentiles(v: &[f32]) -> [f64; 4] {
    if v.is_empty() {
        return [0.0; 4];
    }
    let mut s: Vec<f64> = v.iter().map(|&x| x as f64).collect();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let p = |q: f64| {
        let x = q * (n - 1) as f64;
        let i1 = (x.floor() as usize).min(n - 1);
        let i2 = (x.ceil() as usize).min(n - 1);
        if i1 != i2 { s[i1] * (i2 as f64 - x) + s[i2] * (x - i1 as f64) } else { s[i1] }
    };
    let (p20, p50, p80) = (p(0.2), p(0.5), p(0.8));
    [p20, p50, p80, (p80 - p20).abs()]
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Max,
    Min,
}

/// Peak count and rising/falling slope statistics (cFunctionalPeaks2, spec §7.5).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Slopes {
    pub n_peaks: usize,
    pub mean_rising: f64,
    pub sd_rising: f64,
    pub mean_falling: f64,
    pub sd_falling: f64,
}

pub(crate) fn peaks_and_slopes(v: &[f32]) -> Slopes {
    let n = v.len();
    if n == 0 {
        return Slopes::default();
    }
    let v: Vec<f64> = v.iter().map(|&x| x as f64).collect();
    let (mx, mn) = v.iter().fold((f64::MIN, f64::MAX), |(a, b), &x| (a.max(x), b.min(x)));
    let thr = 0.1 * (mx - mn);
    let small = |d: f64| d < thr;

    // 1. Raw extrema.
    let mut list: Vec<(Kind, usize, f64)> = Vec::new();
    if n >= 5 {
        for i in 2..n - 2 {
            if v[i] > v[i - 1] && v[i] > v[i + 1] {
                list.push((Kind::Max, i, v[i]));
            } else if v[i] < v[i - 1] && v[i] < v[i + 1] {
                list.push((Kind::Min, i, v[i]));
            }
        }
    }
    // 2. Prune maxima.
    let mut keep = vec![true; list.len()];
    let (mut prev, mut last_min, mut last_max) = (v[0], v[0], v[0]);
    let mut last_max_el: Option<usize> = None;
    let mut min_flag = false;
    for (idx, &(kind, _, e)) in list.iter().enumerate() {
        match kind {
            Kind::Max => {
                if small((e - prev).abs()) {
                    if small(e - last_min) {
                        keep[idx] = false;
                    } else {
                        if e > 1.05 * last_max {
                            if let Some(l) = last_max_el {
                                keep[l] = false;
                            }
                            last_max = e;
                            last_max_el = Some(idx);
                        } else if min_flag {
                            last_max = e;
                            last_max_el = Some(idx);
                        } else {
                            keep[idx] = false;
                        }
                        min_flag = false;
                    }
                } else {
                    last_max = e;
                    last_max_el = Some(idx);
                    min_flag = false;
                }
            }
            Kind::Min => {
                if !small((e - prev).abs()) {
                    last_min = e;
                    min_flag = true;
                }
            }
        }
        prev = e;
    }
    let list: Vec<_> = list.into_iter().zip(keep).filter(|(_, k)| *k).map(|(e, _)| e).collect();
    // 3. Prune minima.
    let mut last_max = v[0];
    let mut pruned = Vec::with_capacity(list.len());
    for &(kind, p, e) in &list {
        match kind {
            Kind::Min => {
                if !small(last_max - e) {
                    pruned.push((kind, p, e));
                }
            }
            Kind::Max => {
                last_max = e;
                pruned.push((kind, p, e));
            }
        }
    }
    // 4. Alternate: of consecutive extrema of one kind keep the most extreme (earliest on ties).
    let mut alt: Vec<(Kind, usize, f64)> = Vec::with_capacity(pruned.len());
    for e in pruned {
        match alt.last_mut() {
            Some(last) if last.0 == e.0 => {
                let better = match e.0 {
                    Kind::Max => e.2 > last.2,
                    Kind::Min => e.2 < last.2,
                };
                if better {
                    *last = e;
                }
            }
            _ => alt.push(e),
        }
    }
    let n_peaks = alt.iter().filter(|e| e.0 == Kind::Max).count();

    // 6. Slopes.
    let (mut mx_v, mut p_mx, mut mn_v, mut p_mn) = (v[0], 0usize, v[0], 0usize);
    let mut last: Option<Kind> = None;
    let (mut rising, mut falling) = (Vec::new(), Vec::new());
    for &(kind, p, y) in &alt {
        match kind {
            Kind::Min => {
                mn_v = y;
                p_mn = p;
                if p > p_mx {
                    falling.push((mx_v - y) / ((p - p_mx) as f64 * T));
                    last = Some(Kind::Min);
                }
            }
            Kind::Max => {
                mx_v = y;
                p_mx = p;
                if p > p_mn {
                    rising.push((y - mn_v) / ((p - p_mn) as f64 * T));
                    last = Some(Kind::Max);
                }
            }
        }
    }
    let (mut end_rising, mut end_falling) = (None, None);
    match last {
        Some(Kind::Max) if n - 1 > p_mx => {
            // QUIRK: end segment after a maximum uses the opposite sign convention.
            end_falling = Some((v[n - 1] - mx_v) / ((n - 1 - p_mx) as f64 * T));
        }
        Some(Kind::Min) if n - 1 > p_mn => {
            end_rising = Some((v[n - 1] - mn_v) / ((n - 1 - p_mn) as f64 * T));
        }
        None => {
            // QUIRK: divided by n, not by the time span.
            let s = (v[n - 1] - v[0]) / n as f64;
            if s > 0.0 {
                end_rising = Some(s);
            } else if s < 0.0 {
                end_falling = Some(s);
            }
        }
        _ => {}
    }
    let stats = |interior: &[f64], end: Option<f64>| -> (f64, f64) {
        let count = interior.len() + end.is_some() as usize;
        if count == 0 {
            return (0.0, 0.0);
        }
        let mean = (interior.iter().sum::<f64>() + end.unwrap_or(0.0)) / count as f64;
        let mut d: f64 = interior.iter().map(|s| (s - mean).powi(2)).sum();
        if count > 1 {
            d /= count as f64;
        }
        (mean, if d > 0.0 { d.sqrt() } else { 0.0 })
    };
    let (mean_rising, sd_rising) = stats(&rising, end_rising);
    let (mean_falling, sd_falling) = stats(&falling, end_falling);
    Slopes { n_peaks, mean_rising, sd_rising, mean_falling, sd_falling }
}

/// Segment lengths (in frames − 1, QUIRK) of runs where `inside` holds (cFunctionalSegments).
pub(crate) fn segments(v: &[f32], inside: impl Fn(f32) -> bool) -> Vec<usize> {
    #[derive(PartialEq)]
    enum S {
        Pause,
        Candidate,
        Segment,
    }
    let n = v.len();
    let mut state = S::Pause;
    let (mut a, mut b, mut start) = (0usize, 0usize, 0usize);
    let mut out = Vec::new();
    for (i, &x) in v.iter().enumerate() {
        if inside(x) {
            match state {
                S::Pause => {
                    a += 1;
                    start = i;
                    state = S::Candidate;
                }
                S::Candidate => {
                    b = 0;
                    a += 1;
                    if a >= 3 {
                        a = 0;
                        state = S::Segment;
                    }
                }
                S::Segment => b = 0,
            }
        } else {
            match state {
                S::Segment => {
                    a = 0;
                    b += 1;
                    if b >= 2 {
                        state = S::Pause;
                        if out.len() < 1000 {
                            out.push((i - b).saturating_sub(start));
                        }
                        b = 0;
                    }
                }
                S::Candidate => {
                    b += 1;
                    if b >= 2 {
                        state = S::Pause;
                        a = 0;
                        b = 0;
                    }
                }
                S::Pause => {}
            }
        }
    }
    if state == S::Segment {
        b += 1;
        if out.len() < 1000 {
            out.push((n - b).saturating_sub(start));
        }
    }
    out
}

/// (segments per second, mean length s, stddev length s) of segment lengths over `n` frames.
pub(crate) fn segment_stats(lens: &[usize], n: usize) -> (f64, f64, f64) {
    let k = lens.len();
    let per_sec = if n > 0 { k as f64 / (n as f64 * T) } else { 0.0 };
    let (mean, sd) = match k {
        0 => (0.0, 0.0),
        1 => (lens[0] as f64, 0.0),
        _ => {
            let m = lens.iter().sum::<usize>() as f64 / k as f64;
            let var = lens.iter().map(|&l| (l as f64 - m).powi(2)).sum::<f64>() / k as f64;
            (m, var.sqrt())
        }
    };
    (per_sec, mean * T, sd * T)
}

/// equivalentSoundLevel_dBp from per-frame mean squares.
pub(crate) fn leq_db(energies: &[f64]) -> f64 {
    if energies.is_empty() {
        return -120.0;
    }
    let m = energies.iter().sum::<f64>() / energies.len() as f64;
    if m > 1e-12 { 10.0 * m.log10() } else { -120.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_replicates_edges_and_skips_zeros() {
        assert_eq!(sma3(&[3.0, 6.0, 9.0]), vec![4.0, 6.0, 8.0]);
        assert_eq!(sma3nz(&[0.0, 2.0, 4.0, 0.0, 6.0]), vec![0.0, 3.0, 3.0, 0.0, 6.0]);
    }

    #[test]
    fn moments_are_signed_and_population() {
        let (m, s) = moments(&[-1.0, -3.0]);
        assert_eq!(m, -2.0);
        assert!((s - (-0.5)).abs() < 1e-12);
        assert_eq!(moments(&[5.0]), (5.0, 0.0));
        assert_eq!(moments(&[-1.0, 1.0]).1, 1.0, "zero mean divides by one");
    }

    #[test]
    fn percentiles_interpolate() {
        let p = percentiles(&[4.0, 1.0, 3.0, 2.0, 5.0]);
        assert_eq!(p, [1.8, 3.0, 4.2, 2.4000000000000004]);
    }

    #[test]
    fn segment_lengths_are_frames_minus_one() {
        // 0 0 [5 voiced frames] 0 0 [1 voiced] 0 0 [4 voiced with a 1-frame gap bridged]
        let v = [0., 0., 1., 1., 1., 1., 1., 0., 0., 1., 0., 0., 1., 1., 0., 1., 1.];
        let lens = segments(&v, |x| x != 0.0);
        assert_eq!(lens, vec![4, 4]);
        let (per_sec, mean, sd) = segment_stats(&lens, v.len());
        assert!((per_sec - 2.0 / 0.17).abs() < 1e-9);
        assert!((mean - 0.04).abs() < 1e-12 && sd == 0.0);
    }

    #[test]
    fn slopes_of_a_triangle_wave() {
        // Up 1 per frame for 10 frames, down 1 per frame for 10, up again.
        let v: Vec<f32> = (0..41).map(|i| if (i / 10) % 2 == 0 { (i % 10) as f32 } else { (10 - i % 10) as f32 }).collect();
        let s = peaks_and_slopes(&v);
        assert_eq!(s.n_peaks, 2);
        assert!((s.mean_rising - 100.0).abs() < 1e-9 && s.sd_rising == 0.0, "{s:?}");
        // The final descent after the last maximum enters with the opposite sign (QUIRK), and
        // the stddev sums interior slopes only but divides by all of them.
        assert!(s.mean_falling.abs() < 1e-9, "{s:?}");
        assert!((s.sd_falling - 5000f64.sqrt()).abs() < 1e-9, "{s:?}");
    }

    #[test]
    fn short_contours_use_the_empty_list_rule() {
        let s = peaks_and_slopes(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.n_peaks, 0);
        assert!((s.mean_rising - 0.75).abs() < 1e-12, "divided by n, not by time");
        assert_eq!(s.sd_rising, 0.0);
    }

    #[test]
    fn leq_of_full_scale_sine_is_minus_three_db() {
        assert!((leq_db(&[0.5, 0.5]) + 3.0103).abs() < 1e-4);
        assert_eq!(leq_db(&[0.0]), -120.0);
    }
}
