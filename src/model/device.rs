//! Choosing where the autoencoder trains: a GPU through wgpu when one initialises, otherwise
//! burn's `flex` backend on the CPU (deterministic, and what the tests use).

use crate::choice::Choice;
use burn::tensor::{Device, DeviceKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// A hardware wgpu adapter if one exists, otherwise the CPU.
    #[default]
    Auto,
    /// wgpu, whatever the adapter (Mesa's lavapipe included).
    Wgpu,
    /// burn's flex backend on the CPU.
    Cpu,
}

impl Choice for DeviceChoice {
    const WHAT: &'static str = "device";
    const ALL: &'static [(&'static str, Self)] = &[("auto", Self::Auto), ("wgpu", Self::Wgpu), ("cpu", Self::Cpu)];
}
crate::choice_traits!(DeviceChoice);

/// The device for `choice` and a description of what was chosen. `Wgpu` with no adapter at
/// all falls back to the CPU and says so.
pub fn select_device(choice: DeviceChoice) -> (Device, String) {
    // Asking for the CPU skips the adapter probe (slow, and noisy on headless machines).
    let adapter = if choice == DeviceChoice::Cpu { None } else { wgpu_adapter() };
    match (choice, adapter) {
        (DeviceChoice::Cpu, _) => (Device::flex(), "CPU (burn flex)".into()),
        (DeviceChoice::Auto, Some((name, ty))) if ty != wgpu::DeviceType::Cpu => {
            (Device::wgpu(DeviceKind::DefaultDevice), format!("GPU via wgpu: {name} ({ty:?})"))
        }
        (DeviceChoice::Wgpu, Some((name, ty))) => (Device::wgpu(DeviceKind::DefaultDevice), format!("wgpu: {name} ({ty:?})")),
        (DeviceChoice::Wgpu, None) => (Device::flex(), "CPU (burn flex) — no wgpu adapter found".into()),
        (DeviceChoice::Auto, _) => (Device::flex(), "CPU (burn flex) — no GPU adapter found".into()),
    }
}

/// Name and type of the adapter wgpu would pick, if any initialises.
fn wgpu_adapter() -> Option<(String, wgpu::DeviceType)> {
    let result = std::panic::catch_unwind(|| {
        // Vulkan/Metal/DX12 only: probing OpenGL through EGL prints errors on headless Linux
        // and is never the adapter burn would use for compute.
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle().with_env();
        descriptor.backends &= wgpu::Backends::PRIMARY;
        let instance = wgpu::Instance::new(descriptor);
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        }))
        .ok()?;
        let info = adapter.get_info();
        Some((info.name, info.device_type))
    });
    result.ok().flatten()
}
