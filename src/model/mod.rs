//! The representation: an (enriched) conditional adversarial autoencoder in burn 0.22
//! (paper §2.2). Encoder G: X → C, decoder F: (C, Y) → X′, discriminator D telling C from
//! N(0, I), and for enrichment a head M: C → Y_io trained on the labels of each sample's K
//! cosine-nearest out-of-context neighbours. L_total = L_rec + L_per + L_adv.

mod device;
mod enrich;
mod net;

pub use crate::rng::Rng;
pub use device::{DeviceChoice, select_device};
pub use enrich::{NeighbourLabels, classifier_labels, neighbour_labels};

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::store::ModuleRecord;
use burn::tensor::activation::softplus;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use net::Mlp;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("training cancelled")]
    Cancelled,
    #[error("no training data")]
    Empty,
    #[error("encoder weights: {0}")]
    Record(String),
    #[error("training diverged (loss is not a number at epoch {0})")]
    Diverged(usize),
}

/// What the decoder F receives besides the code C.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Conditioning {
    /// Both labels, F(C, Y) (the paper's conditional AAE).
    #[default]
    Both,
    /// No label: a plain AAE, so the code must carry the emotion itself.
    None,
    /// The activation label only (the valence code must then carry valence).
    Activation,
    /// The valence label only.
    Valence,
}

impl crate::choice::Choice for Conditioning {
    const WHAT: &'static str = "conditioning";
    const ALL: &'static [(&'static str, Self)] =
        &[("both", Self::Both), ("none", Self::None), ("activation", Self::Activation), ("valence", Self::Valence)];
}
crate::choice_traits!(Conditioning);

impl Conditioning {
    /// Which of (activation, valence) the decoder sees.
    pub fn mask(self) -> [bool; 2] {
        match self {
            Conditioning::Both => [true, true],
            Conditioning::None => [false, false],
            Conditioning::Activation => [true, false],
            Conditioning::Valence => [false, true],
        }
    }
}

/// The enrichment head M: C → Y_io.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Head {
    /// Three-layer MLP (as G, F and D).
    #[default]
    Mlp,
    /// One linear map: L_per can then only be met by organising C itself.
    Linear,
}

impl crate::choice::Choice for Head {
    const WHAT: &'static str = "head";
    const ALL: &'static [(&'static str, Self)] = &[("mlp", Self::Mlp), ("linear", Self::Linear)];
}
crate::choice_traits!(Head);

/// Where the K nearest out-of-context neighbours are searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NeighbourSpace {
    /// The code of a plain AAE trained on both sets (the paper).
    #[default]
    Code,
    /// The z-scored functionals themselves (each corpus by its own statistics).
    Features,
    /// Extension: no neighbour search; the targets are a class-balanced logistic regression's
    /// `2·P − 1`, fitted on the out-of-context functionals ([`classifier_labels`]).
    Classifier,
}

impl crate::choice::Choice for NeighbourSpace {
    const WHAT: &'static str = "neighbour space";
    const ALL: &'static [(&'static str, Self)] = &[("code", Self::Code), ("features", Self::Features), ("classifier", Self::Classifier)];
}
crate::choice_traits!(NeighbourSpace);

/// Hyper-parameters of the autoencoder. `Default` is valar's recipe, the winner of the
/// within-corpus screen (docs/experiments.md, issue 12): the paper's enriched AAE (Adam,
/// lr 0.0005, 100 epochs, D = 64) with an unconditioned decoder, a linear head M, neighbours
/// searched among the z-scored functionals, and the SVM seeing the code ⊕ the functionals.
/// Fields missing from an older model.json take the values models had before those options
/// existed ([`AaeConfig::paper`]), so old models load as what they were.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default = "AaeConfig::paper")]
pub struct AaeConfig {
    /// Code size D (the paper uses 64 and 10; the default is 64: it beat 10 within and across
    /// corpora, models/README.md).
    pub dims: usize,
    pub hidden: usize,
    pub epochs: usize,
    pub learning_rate: f64,
    pub batch_size: usize,
    /// K of the K-nearest out-of-context neighbours (not given in the paper).
    pub neighbours: usize,
    pub seed: u64,
    pub w_rec: f64,
    pub w_adv: f64,
    pub w_per: f64,
    /// What the decoder sees besides the code.
    pub conditioning: Conditioning,
    /// The enrichment head M.
    pub head: Head,
    /// L_rec summed over the input features (the paper's ‖X′ − X‖²) instead of averaged.
    pub rec_sum: bool,
    /// At least this many optimiser steps: the epochs are raised to reach it.
    pub min_steps: usize,
    /// Hold out a fifth of the training speakers and keep the epoch whose held-out L_rec is
    /// lowest (needs speakers; ignored with fewer than five).
    pub early_stopping: bool,
    /// Where enrichment searches neighbours.
    pub neighbour_space: NeighbourSpace,
    /// Feed the SVM the code with the 88 z-scored functionals appended (an extension, not the
    /// paper's method).
    pub append_features: bool,
    /// What the SVM sees (code ⊕ features) is standardised per speaker in training, each
    /// speaker by their own statistics, and a test speaker's by their own in leave-one-speaker-out
    /// (an extension: the per-speaker normalisation of the features carried to the code).
    pub code_per_speaker: bool,
    /// Enrichment targets are each sample's own labels (the `oracle` diagnostic: the ceiling of
    /// any neighbour search).
    pub oracle: bool,
    /// Autoencoders trained alike but for the seed (`seed`, `seed + 1`, …), each with its own
    /// code normaliser and SVMs; a prediction averages their calibrated probabilities. One
    /// autoencoder's result depends on its seed; an ensemble's much less (docs/experiments.md,
    /// "Ensembles of seeds").
    pub members: usize,
}

impl Default for AaeConfig {
    fn default() -> Self {
        Self {
            epochs: 100,
            conditioning: Conditioning::None,
            head: Head::Linear,
            neighbour_space: NeighbourSpace::Features,
            append_features: true,
            ..Self::paper()
        }
    }
}

impl AaeConfig {
    /// The paper's method as written (decoder F(C, Y), two-layer head M, neighbours in a plain
    /// AAE's code, the SVM on the code alone), which is also what a model.json from before these
    /// options existed holds.
    pub fn paper() -> Self {
        Self {
            dims: 64,
            hidden: 128,
            epochs: 200,
            learning_rate: 0.0005,
            batch_size: 64,
            neighbours: 10,
            seed: 0,
            w_rec: 1.0,
            w_adv: 1.0,
            w_per: 1.0,
            conditioning: Conditioning::Both,
            head: Head::Mlp,
            rec_sum: false,
            min_steps: 0,
            early_stopping: false,
            neighbour_space: NeighbourSpace::Code,
            append_features: false,
            code_per_speaker: false,
            oracle: false,
            members: 1,
        }
    }
}

/// Mean losses of one epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochLosses {
    pub epoch: usize,
    /// Reconstruction ‖F(G(x), y) − x‖² (mean per element).
    pub rec: f64,
    /// Encoder's adversarial loss (−log D(G(x))).
    pub adv: f64,
    /// Discriminator's loss.
    pub disc: f64,
    /// Enrichment loss ‖M(G(x)) − Y_io‖² over known labels (0 without enrichment).
    pub per: f64,
    /// Reconstruction on the speakers held out for early stopping (0 without).
    #[serde(default)]
    pub held_out_rec: f64,
}

/// What the autoencoder learns from. Rows are z-normalised features.
pub struct AaeData<'a> {
    pub x: &'a [Vec<f64>],
    /// Conditioning labels per row (activation, valence) as +1/−1, 0 = unknown. None trains a
    /// plain (unconditional) AAE.
    pub cond: Option<&'a [[f32; 2]]>,
    /// Enrichment targets Y_io and their masks (1 where a neighbour label existed).
    pub enrich: Option<&'a NeighbourLabels>,
    /// Rows held out for early stopping (same length as `x`; true = held out). None: all train.
    pub holdout: Option<&'a [bool]>,
}

/// The trained encoder G, on an inference (non-autodiff) device.
#[derive(Debug, Clone)]
pub struct Encoder {
    mlp: Mlp,
    device: Device,
}

impl Encoder {
    pub fn input_dims(&self) -> usize {
        self.mlp.d_in()
    }

    pub fn dims(&self) -> usize {
        self.mlp.d_out()
    }

    pub fn hidden(&self) -> usize {
        self.mlp.hidden()
    }

    /// Codes of `rows` (each of `input_dims` values).
    pub fn encode(&self, rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
        if rows.is_empty() {
            return Vec::new();
        }
        let x = to_tensor(rows, &self.device);
        let c = self.mlp.forward(x);
        from_tensor(c, self.dims())
    }

    /// The weights as burnpack bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        self.mlp.clone().into_record().into_bytes().map(|b| b.to_vec()).map_err(|e| ModelError::Record(e.to_string()))
    }

    /// Rebuilds an encoder of the given shape from [`Encoder::to_bytes`] output. A record of
    /// another shape, or damaged bytes, is an error, never a panic.
    pub fn from_bytes(bytes: &[u8], input_dims: usize, hidden: usize, dims: usize, device: &Device) -> Result<Self, ModelError> {
        let record =
            ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes.to_vec())).map_err(|e| ModelError::Record(e.to_string()))?;
        let shell = Mlp::new(input_dims, hidden, dims, &mut Rng::new(0), device);
        let mlp = shell.try_load_record(record).map_err(|e| ModelError::Record(e.to_string()))?;
        Ok(Self { mlp, device: device.clone() })
    }
}

fn to_tensor(rows: &[Vec<f64>], device: &Device) -> Tensor<2> {
    let d = rows.first().map(|r| r.len()).unwrap_or(0);
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().map(|&v| v as f32)).collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), d]), device)
}

fn from_tensor(t: Tensor<2>, d: usize) -> Vec<Vec<f64>> {
    let data = t.into_data();
    let v: Vec<f32> = data.try_into_vec().unwrap_or_default();
    v.chunks(d.max(1)).map(|c| c.iter().map(|&x| x as f64).collect()).collect()
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f32>() as f64
}

/// Σ over code dimensions of mean² + (std − 1)² (population statistics): 0 for codes
/// distributed like N(0, I), the prior the discriminator enforces.
pub fn distance_to_prior(codes: &[Vec<f64>]) -> f64 {
    let n = codes.len().max(1) as f64;
    let d = codes.first().map(|c| c.len()).unwrap_or(0);
    (0..d)
        .map(|j| {
            let m = codes.iter().map(|c| c[j]).sum::<f64>() / n;
            let s = (codes.iter().map(|c| (c[j] - m).powi(2)).sum::<f64>() / n).sqrt();
            m * m + (s - 1.0).powi(2)
        })
        .sum()
}

/// The enrichment head M: an MLP or one linear layer.
enum HeadNet {
    Mlp(Box<Mlp>),
    Linear(net::Dense),
}

/// Trains the (conditional, optionally enriched) AAE. `on_epoch` sees each epoch's losses and
/// returns false to cancel. Deterministic for a given seed on the CPU device. With early
/// stopping, the encoder returned is that of the epoch with the lowest held-out L_rec.
pub fn train_aae(
    data: &AaeData<'_>,
    cfg: &AaeConfig,
    device: &Device,
    on_epoch: &mut dyn FnMut(&EpochLosses) -> bool,
) -> Result<(Encoder, Vec<EpochLosses>), ModelError> {
    let n = data.x.len();
    if n == 0 {
        return Err(ModelError::Empty);
    }
    let d_in = data.x[0].len();
    let ad = device.clone().autodiff();
    let mut rng = Rng::new(cfg.seed);
    let cond_mask = match data.cond {
        Some(_) => cfg.conditioning.mask(),
        None => [false, false],
    };
    let cond_dims = cond_mask.iter().filter(|&&m| m).count();
    let mut enc = Mlp::new(d_in, cfg.hidden, cfg.dims, &mut rng, &ad);
    let mut dec = Mlp::new(cfg.dims + cond_dims, cfg.hidden, d_in, &mut rng, &ad);
    let mut disc = Mlp::new(cfg.dims, cfg.hidden, 1, &mut rng, &ad);
    let mut head = data.enrich.map(|_| match cfg.head {
        Head::Mlp => HeadNet::Mlp(Box::new(Mlp::new(cfg.dims, cfg.hidden, 2, &mut rng, &ad))),
        Head::Linear => HeadNet::Linear(net::Dense::new(cfg.dims, 2, &mut rng, &ad)),
    });
    let adam = AdamConfig::new();
    let (mut o_enc, mut o_dec, mut o_disc) = (adam.init(), adam.init(), adam.init());
    let (mut o_head_mlp, mut o_head_lin) = (adam.init(), adam.init());
    let lr = cfg.learning_rate;
    let rec_scale = if cfg.rec_sum { d_in as f64 } else { 1.0 };

    let x_flat: Vec<f32> = data.x.iter().flat_map(|r| r.iter().map(|&v| v as f32)).collect();
    let gather = |idx: &[usize], width: usize, src: &dyn Fn(usize) -> Vec<f32>| -> Tensor<2> {
        let flat: Vec<f32> = idx.iter().flat_map(|&i| src(i)).collect();
        Tensor::from_data(TensorData::new(flat, [idx.len(), width]), &ad)
    };
    let cond_row = |i: usize| -> Vec<f32> {
        data.cond.map(|y| y[i].iter().zip(cond_mask).filter(|(_, m)| *m).map(|(v, _)| *v).collect()).unwrap_or_default()
    };
    let held_out: Vec<usize> = match data.holdout {
        Some(h) if cfg.early_stopping => (0..n).filter(|&i| h[i]).collect(),
        _ => Vec::new(),
    };
    let mut order: Vec<usize> = (0..n).filter(|i| held_out.binary_search(i).is_err()).collect();
    if order.is_empty() {
        return Err(ModelError::Empty);
    }
    let batch = cfg.batch_size.clamp(1, order.len());
    let steps_per_epoch = order.len().div_ceil(batch);
    let epochs = cfg.epochs.max(cfg.min_steps.div_ceil(steps_per_epoch));
    // Early stopping: the best held-out epoch so far, and patience in epochs.
    let patience = 25;
    let mut best: Option<(f64, usize, Mlp)> = None;
    let mut history = Vec::with_capacity(epochs);
    for epoch in 0..epochs {
        rng.shuffle(&mut order);
        let mut sums = EpochLosses { epoch: epoch + 1, ..Default::default() };
        let mut batches = 0.0;
        for idx in order.chunks(batch) {
            let b = idx.len();
            let x = gather(idx, d_in, &|i| x_flat[i * d_in..(i + 1) * d_in].to_vec());

            // Discriminator: prior samples are "real", codes are "fake".
            let z: Vec<f32> = (0..b * cfg.dims).map(|_| rng.normal() as f32).collect();
            let z = Tensor::<2>::from_data(TensorData::new(z, [b, cfg.dims]), &ad);
            let codes = enc.forward(x.clone()).detach();
            let l_disc = softplus(disc.forward(z).neg(), 1.0).mean() + softplus(disc.forward(codes), 1.0).mean();
            let grads = l_disc.backward();
            sums.disc += scalar(l_disc);
            let g_disc = GradientsParams::from_grads(grads, &disc);
            disc = o_disc.step(lr, disc, g_disc);

            // Encoder, decoder and head: reconstruction + enrichment + fooling the discriminator.
            let c = enc.forward(x.clone());
            let dec_in = if cond_dims > 0 { Tensor::cat(vec![c.clone(), gather(idx, cond_dims, &cond_row)], 1) } else { c.clone() };
            let l_rec = (dec.forward(dec_in) - x).powf_scalar(2.0).mean().mul_scalar(rec_scale);
            let l_adv = softplus(disc.forward(c.clone()).neg(), 1.0).mean();
            let mut total = l_rec.clone().mul_scalar(cfg.w_rec) + l_adv.clone().mul_scalar(cfg.w_adv);
            let mut l_per_v = 0.0;
            if let (Some(h), Some(en)) = (&head, data.enrich) {
                let target = gather(idx, 2, &|i| en.target[i].to_vec());
                let mask = gather(idx, 2, &|i| en.mask[i].to_vec());
                let count: f32 = idx.iter().map(|&i| en.mask[i][0] + en.mask[i][1]).sum();
                let out = match h {
                    HeadNet::Mlp(m) => m.forward(c),
                    HeadNet::Linear(l) => l.forward(c),
                };
                let l_per = ((out - target).powf_scalar(2.0) * mask).sum().div_scalar(count.max(1.0));
                total = total + l_per.clone().mul_scalar(cfg.w_per);
                l_per_v = scalar(l_per);
            }
            let mut grads = total.backward();
            sums.rec += scalar(l_rec);
            sums.adv += scalar(l_adv);
            sums.per += l_per_v;
            let g_enc = GradientsParams::from_module(&mut grads, &enc);
            let g_dec = GradientsParams::from_module(&mut grads, &dec);
            head = match head.take() {
                Some(HeadNet::Mlp(h)) => {
                    let g = GradientsParams::from_module(&mut grads, h.as_ref());
                    Some(HeadNet::Mlp(Box::new(o_head_mlp.step(lr, *h, g))))
                }
                Some(HeadNet::Linear(h)) => {
                    let g = GradientsParams::from_module(&mut grads, &h);
                    Some(HeadNet::Linear(o_head_lin.step(lr, h, g)))
                }
                None => None,
            };
            enc = o_enc.step(lr, enc, g_enc);
            dec = o_dec.step(lr, dec, g_dec);
            batches += 1.0;
        }
        sums.rec /= batches;
        sums.adv /= batches;
        sums.disc /= batches;
        sums.per /= batches;
        if !sums.rec.is_finite() {
            return Err(ModelError::Diverged(epoch + 1));
        }
        if !held_out.is_empty() {
            let x = gather(&held_out, d_in, &|i| x_flat[i * d_in..(i + 1) * d_in].to_vec()).detach();
            let c = enc.forward(x.clone()).detach();
            let dec_in = if cond_dims > 0 { Tensor::cat(vec![c, gather(&held_out, cond_dims, &cond_row)], 1) } else { c };
            sums.held_out_rec = scalar((dec.forward(dec_in).detach() - x).powf_scalar(2.0).mean().mul_scalar(rec_scale));
            if best.as_ref().is_none_or(|b| sums.held_out_rec < b.0) {
                best = Some((sums.held_out_rec, epoch, enc.valid()));
            }
        }
        history.push(sums);
        if !on_epoch(&sums) {
            return Err(ModelError::Cancelled);
        }
        if best.as_ref().is_some_and(|b| epoch >= b.1 + patience) {
            break;
        }
    }
    let mlp = match best {
        Some((_, _, m)) => m,
        None => enc.valid(),
    };
    Ok((Encoder { mlp, device: device.clone() }, history))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(n: usize, d: usize, seed: u64) -> Vec<Vec<f64>> {
        // Four independent latent factors mixed into d correlated features, plus noise: a
        // deterministic encoder with four code dimensions can then match N(0, I).
        let mut r = Rng::new(seed);
        (0..n)
            .map(|_| {
                let z: Vec<f64> = (0..4).map(|_| r.normal()).collect();
                (0..d).map(|j| z[j % 4] * (1.0 + j as f64 * 0.1) + 0.5 * z[(j + 1) % 4] + 0.1 * r.normal()).collect()
            })
            .collect()
    }

    #[test]
    fn aae_reconstructs_and_its_codes_approach_the_prior() {
        let x = toy(512, 12, 1);
        let cfg = AaeConfig { dims: 4, hidden: 32, epochs: 80, batch_size: 32, learning_rate: 2e-3, ..Default::default() };
        let dev = Device::flex();
        let data = AaeData { x: &x, cond: None, enrich: None, holdout: None };
        let (enc, hist) = train_aae(&data, &cfg, &dev, &mut |_| true).unwrap();
        let (first, last) = (hist[0].rec, hist.last().unwrap().rec);
        assert!(last < 0.5 * first, "reconstruction {first} → {last}");
        // The same network without the adversarial term: codes are free to drift.
        let (plain, _) = train_aae(&data, &AaeConfig { w_adv: 0.0, ..cfg.clone() }, &dev, &mut |_| true).unwrap();
        let (with_adv, without) = (distance_to_prior(&enc.encode(&x)), distance_to_prior(&plain.encode(&x)));
        eprintln!("distance to N(0, I): adversarial {with_adv:.3}, plain {without:.3}");
        assert!(with_adv < 0.5 * without, "adversarial {with_adv:.3} vs plain {without:.3}");
        assert!(with_adv < 0.5, "codes far from N(0, I): {with_adv:.3}");
    }

    #[test]
    fn training_is_deterministic_and_weights_round_trip() {
        let x = toy(64, 8, 2);
        let cond: Vec<[f32; 2]> = (0..64).map(|i| [if i % 2 == 0 { 1.0 } else { -1.0 }, 0.0]).collect();
        let cfg = AaeConfig { dims: 3, hidden: 16, epochs: 3, batch_size: 16, ..Default::default() };
        let dev = Device::flex();
        let data = AaeData { x: &x, cond: Some(&cond), enrich: None, holdout: None };
        let (a, ha) = train_aae(&data, &cfg, &dev, &mut |_| true).unwrap();
        let (b, hb) = train_aae(&data, &cfg, &dev, &mut |_| true).unwrap();
        assert_eq!(ha, hb);
        assert_eq!(a.encode(&x), b.encode(&x));
        let bytes = a.to_bytes().unwrap();
        let back = Encoder::from_bytes(&bytes, 8, 16, 3, &dev).unwrap();
        assert_eq!(a.encode(&x), back.encode(&x));
        assert!(Encoder::from_bytes(&bytes, 8, 16, 4, &dev).is_err(), "shape mismatch must be an error");
        assert!(Encoder::from_bytes(&bytes[..bytes.len() / 2], 8, 16, 3, &dev).is_err(), "truncated bytes must be an error");
    }

    #[test]
    fn cancel_stops_training() {
        let x = toy(32, 4, 3);
        let cfg = AaeConfig { dims: 2, hidden: 8, epochs: 50, ..Default::default() };
        let mut seen = 0;
        let r = train_aae(&AaeData { x: &x, cond: None, enrich: None, holdout: None }, &cfg, &Device::flex(), &mut |_| {
            seen += 1;
            seen < 2
        });
        assert!(matches!(r, Err(ModelError::Cancelled)));
        assert_eq!(seen, 2);
    }

    #[test]
    fn a_step_budget_raises_the_epochs_and_early_stopping_keeps_the_best_held_out_epoch() {
        let x = toy(80, 6, 4);
        let cond: Vec<[f32; 2]> = (0..80).map(|i| [if i % 2 == 0 { 1.0 } else { -1.0 }, if i % 3 == 0 { 1.0 } else { -1.0 }]).collect();
        let dev = Device::flex();
        // Without early stopping the hold-out is ignored: 80 rows in batches of 16 are 5 steps
        // an epoch, so 40 steps need 8 epochs.
        let holdout: Vec<bool> = (0..80).map(|i| i >= 64).collect();
        let cfg = AaeConfig { dims: 3, hidden: 16, epochs: 2, batch_size: 16, min_steps: 40, ..Default::default() };
        let data = AaeData { x: &x, cond: Some(&cond), enrich: None, holdout: Some(&holdout) };
        let (_, h) = train_aae(&data, &cfg, &dev, &mut |_| true).unwrap();
        assert_eq!(h.len(), 8);
        assert!(h.iter().all(|l| l.held_out_rec == 0.0), "no held-out loss without early stopping");
        let cfg = AaeConfig { early_stopping: true, epochs: 60, min_steps: 0, ..cfg };
        let (enc, h) = train_aae(&data, &cfg, &dev, &mut |_| true).unwrap();
        assert!(h.iter().all(|l| l.held_out_rec > 0.0));
        let best = h.iter().map(|l| l.held_out_rec).fold(f64::INFINITY, f64::min);
        let best_epoch = h.iter().position(|l| l.held_out_rec == best).unwrap();
        assert!(
            h.len() == 60 || h.len() == best_epoch + 1 + 25,
            "stops 25 epochs after the best: {} epochs, best {}",
            h.len(),
            best_epoch + 1
        );
        // The encoder returned is the best epoch's, not the last: encoding the held-out rows
        // again gives the best held-out reconstruction's codes (deterministic re-run).
        let (again, _) = train_aae(&data, &cfg, &dev, &mut |_| true).unwrap();
        assert_eq!(enc.encode(&x), again.encode(&x));
    }

    #[test]
    fn unconditioned_and_linear_head_variants_train() {
        let x = toy(64, 6, 5);
        let cond: Vec<[f32; 2]> = (0..64).map(|i| [if i % 2 == 0 { 1.0 } else { -1.0 }, 0.0]).collect();
        let targets = NeighbourLabels { target: cond.clone(), mask: vec![[1.0, 0.0]; 64] };
        let dev = Device::flex();
        for (conditioning, head) in
            [(Conditioning::None, Head::Linear), (Conditioning::Valence, Head::Mlp), (Conditioning::Both, Head::Linear)]
        {
            let cfg = AaeConfig { dims: 3, hidden: 16, epochs: 30, batch_size: 16, conditioning, head, w_per: 5.0, ..Default::default() };
            let data = AaeData { x: &x, cond: Some(&cond), enrich: Some(&targets), holdout: None };
            let (enc, h) = train_aae(&data, &cfg, &dev, &mut |_| true).unwrap();
            assert_eq!(enc.dims(), 3);
            let (first, last) = (h[0].per, h.last().unwrap().per);
            assert!(last < first, "{conditioning:?}/{head:?}: L_per {first} → {last}");
        }
    }
}
