//! The networks: 3-layer leaky-ReLU MLPs for encoder G, decoder F, discriminator D and the
//! enrichment head M. Weights are initialised from valar's own seeded generator, so training
//! is deterministic on the CPU whatever else uses the device.

use burn::module::{Module, Param};
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Device, Tensor, TensorData};

use crate::rng::Rng;

const SLOPE: f64 = 0.2;

#[derive(Module, Debug)]
pub struct Dense {
    pub w: Param<Tensor<2>>,
    pub b: Param<Tensor<1>>,
}

impl Dense {
    /// Kaiming-uniform weights (fan-in), zero bias.
    pub fn new(d_in: usize, d_out: usize, rng: &mut Rng, device: &Device) -> Self {
        let bound = (6.0 / d_in as f64).sqrt() / (1.0 + SLOPE * SLOPE).sqrt();
        let w: Vec<f32> = (0..d_in * d_out).map(|_| (rng.uniform() * 2.0 - 1.0) as f32 * bound as f32).collect();
        Self {
            w: Param::from_tensor(Tensor::from_data(TensorData::new(w, [d_in, d_out]), device)),
            b: Param::from_tensor(Tensor::from_data(TensorData::new(vec![0.0f32; d_out], [d_out]), device)),
        }
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        x.matmul(self.w.val()) + self.b.val().unsqueeze::<2>()
    }
}

/// in → hidden → hidden → out, leaky ReLU between layers, linear output.
#[derive(Module, Debug)]
pub struct Mlp {
    pub l1: Dense,
    pub l2: Dense,
    pub l3: Dense,
}

impl Mlp {
    pub fn new(d_in: usize, hidden: usize, d_out: usize, rng: &mut Rng, device: &Device) -> Self {
        Self {
            l1: Dense::new(d_in, hidden, rng, device),
            l2: Dense::new(hidden, hidden, rng, device),
            l3: Dense::new(hidden, d_out, rng, device),
        }
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let h = leaky_relu(self.l1.forward(x), SLOPE);
        let h = leaky_relu(self.l2.forward(h), SLOPE);
        self.l3.forward(h)
    }

    pub fn d_in(&self) -> usize {
        self.l1.w.dims()[0]
    }

    pub fn d_out(&self) -> usize {
        self.l3.w.dims()[1]
    }

    pub fn hidden(&self) -> usize {
        self.l1.w.dims()[1]
    }
}
