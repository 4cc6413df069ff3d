//! `valar._valar`: the Rust half of the Python package. It adapts valar's library to Python
//! exactly as `src/cli` adapts it to a terminal: eGeMAPSv02 of files and signals (the path
//! `valar extract` takes) and labelling (the path `valar label` takes). Arrays cross as bytes
//! (little-endian f32 in, f64 out) so no unsafe buffer code is needed; the pandas side is in
//! `valar/`.

use std::path::{Path, PathBuf};

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use valar::audio::{self, Source};
use valar::classify::bundle::{Bundle, default_model_dir};
use valar::classify::label::{LabelRow, activation_word, adapt_groups, label_source, valence_word};
use valar::classify::pipeline::Predictor;
use valar::egemaps::{self, Analysis, FEATURE_NAMES, LLD_NAMES, N_LLD, Rate};
use valar::jobs::{CancelToken, Event, label::label_files};
use valar::model::{DeviceChoice, select_device};

create_exception!(_valar, ValarError, PyException, "A file or signal valar could not analyse, or a model it could not load.");

fn fail(e: impl std::fmt::Display) -> PyErr {
    ValarError::new_err(e.to_string())
}

/// Unit-scale samples from Python's `ndarray.tobytes()` (little-endian f32), put on openSMILE's
/// 16-bit grid as the decoder puts a file's (and as opensmile-python feeds openSMILE).
fn samples_of(bytes: &[u8]) -> PyResult<Vec<f32>> {
    if !bytes.len().is_multiple_of(4) {
        return Err(PyValueError::new_err("samples must be float32 bytes (a multiple of 4 long)"));
    }
    Ok(bytes.chunks_exact(4).map(|b| audio::on_opensmile_grid(f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)).collect())
}

fn f64_bytes<'py>(py: Python<'py>, values: impl Iterator<Item = f64>) -> Bound<'py, PyBytes> {
    let bytes: Vec<u8> = values.flat_map(f64::to_le_bytes).collect();
    PyBytes::new(py, &bytes)
}

/// One analysis for Python: (88 functionals as f64 bytes, LLD rows × 25 as f64 bytes or None,
/// each LLD row's start and end seconds as f64 bytes (`LldTable::row_time`) or None, number of
/// LLD rows, duration in seconds).
type Extracted<'py> = (Bound<'py, PyBytes>, Option<Bound<'py, PyBytes>>, Option<Bound<'py, PyBytes>>, usize, f64);

fn to_python<'py>(py: Python<'py>, an: &Analysis) -> Extracted<'py> {
    let functionals = f64_bytes(py, an.functionals.values().iter().copied());
    let (lld, times, rows) = match &an.lld {
        Some(t) => (
            Some(f64_bytes(py, t.rows.iter().flat_map(|r| r.iter().copied()))),
            Some(f64_bytes(py, (0..t.rows.len()).flat_map(|i| <[f64; 2]>::from(t.row_time(i))))),
            t.rows.len(),
        ),
        None => (None, None, 0),
    };
    (functionals, lld, times, rows, an.duration_s)
}

#[pyfunction]
fn feature_names() -> Vec<&'static str> {
    FEATURE_NAMES.to_vec()
}

#[pyfunction]
fn lld_names() -> Vec<&'static str> {
    LLD_NAMES.to_vec()
}

#[pyfunction]
fn n_lld() -> usize {
    N_LLD
}

/// Audio files under `root` (recursively, sorted, hidden entries skipped), or `root` itself:
/// the files `valar extract` and `valar label` take from a folder.
#[pyfunction]
fn find_audio_files(root: PathBuf) -> PyResult<Vec<PathBuf>> {
    if !root.exists() {
        return Err(fail(format!("{}: no such file or folder", root.display())));
    }
    audio::find_audio_files(&root).map_err(|e| fail(format!("{}: {e}", root.display())))
}

/// File extensions valar decodes.
#[pyfunction]
fn audio_extensions() -> Vec<&'static str> {
    audio::AUDIO_EXTENSIONS.to_vec()
}

/// egemaps-spec §9.4's tolerance for functional `name`: (absolute, relative); a value passes
/// within either.
#[pyfunction]
fn tolerance(name: &str) -> (f64, f64) {
    let t = egemaps::parity::tolerance(name);
    (t.abs, t.rel)
}

/// egemaps-spec §9.4's per-frame tolerance of LLD `name`: (absolute, relative, share of
/// frames that must meet it).
#[pyfunction]
fn lld_tolerance(name: &str) -> (f64, f64, f64) {
    let (t, share) = egemaps::parity::lld_tolerance(name);
    (t.abs, t.rel, share)
}

/// The samples of `path` (mono, native rate) from `start` to `end` seconds.
fn excerpt(path: &Path, start: Option<f64>, end: Option<f64>) -> PyResult<(Vec<f32>, u32)> {
    let (a, _) = audio::decode_file(path).map_err(fail)?;
    let at = |t: f64| ((t * a.sample_rate as f64).round().max(0.0) as usize).min(a.samples.len());
    let (i, j) = (start.map(at).unwrap_or(0), end.map(at).unwrap_or(a.samples.len()));
    if j <= i {
        return Err(PyValueError::new_err(format!("{}: the excerpt from {start:?} s to {end:?} s is empty", path.display())));
    }
    Ok((a.samples[i..j].to_vec(), a.sample_rate))
}

/// eGeMAPSv02 of one file at its own rate, as `valar extract` computes it; `start`/`end`
/// (seconds) analyse an excerpt.
#[pyfunction]
#[pyo3(signature = (path, lld, start=None, end=None))]
fn extract_file<'py>(py: Python<'py>, path: PathBuf, lld: bool, start: Option<f64>, end: Option<f64>) -> PyResult<Extracted<'py>> {
    let an = py.detach(|| -> PyResult<Analysis> {
        if start.is_none() && end.is_none() {
            return egemaps::extract_file(&path, Rate::Native, lld, 1).map_err(fail);
        }
        let (samples, rate) = excerpt(&path, start, end)?;
        egemaps::extract_source(Source::Signal { name: &path, samples: &samples, rate }, Rate::Native, lld, 1).map_err(fail)
    })?;
    Ok(to_python(py, &an))
}

/// eGeMAPSv02 of many files, `jobs` at a time; the first failure is raised, naming its file.
#[pyfunction]
#[pyo3(signature = (paths, lld, jobs=None))]
fn extract_files<'py>(py: Python<'py>, paths: Vec<PathBuf>, lld: bool, jobs: Option<usize>) -> PyResult<Vec<Extracted<'py>>> {
    let results = py.detach(|| -> PyResult<Vec<Analysis>> {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build().map_err(fail)?;
        pool.install(|| {
            use rayon::prelude::*;
            paths.par_iter().map(|p| egemaps::extract_file(p, Rate::Native, lld, 1).map_err(fail)).collect()
        })
    })?;
    Ok(results.iter().map(|an| to_python(py, an)).collect())
}

/// eGeMAPSv02 of mono float32 samples at `rate`.
#[pyfunction]
fn extract_signal<'py>(py: Python<'py>, samples: &[u8], rate: u32, lld: bool) -> PyResult<Extracted<'py>> {
    let samples = samples_of(samples)?;
    let an = py.detach(|| {
        egemaps::extract_source(Source::Signal { name: Path::new("signal"), samples: &samples, rate }, Rate::Native, lld, 1).map_err(fail)
    })?;
    Ok(to_python(py, &an))
}

/// One label row for Python, in `valar label`'s columns: (start, end, duration, activation,
/// activation_score, valence, valence_score, voiced_ratio, error). Like the CSV, a row without
/// labels has no voiced ratio either.
type Row = (f64, f64, f64, Option<&'static str>, Option<f64>, Option<&'static str>, Option<f64>, Option<f64>, Option<String>);

fn row(r: &LabelRow) -> Row {
    let (start, end) = r.window.unwrap_or((0.0, r.duration_s));
    let p = r.prediction.as_ref();
    (
        start,
        end,
        r.duration_s,
        p.map(|p| activation_word(p.activation_high)),
        p.map(|p| p.activation_score),
        p.map(|p| valence_word(p.valence_positive)),
        p.map(|p| p.valence_score),
        p.map(|_| r.voiced_ratio),
        r.error.clone(),
    )
}

/// A loaded model that labels files and signals as `valar label` does.
#[pyclass(frozen)]
struct Labeller {
    predictor: Predictor,
    model: PathBuf,
}

/// The bundled model, compiled in so an installed wheel needs no checkout: the enriched AAE
/// (models/README.md), an ensemble of three: its `model.json` and each encoder's weights
/// (every file of `models/default` but the feature bank; loading names any that is missing).
const BUNDLED_FILES: &[(&str, &[u8])] = &[
    ("model.json", include_bytes!("../../models/default/model.json")),
    ("encoder.bpk", include_bytes!("../../models/default/encoder.bpk")),
    ("encoder-2.bpk", include_bytes!("../../models/default/encoder-2.bpk")),
    ("encoder-3.bpk", include_bytes!("../../models/default/encoder-3.bpk")),
];

fn load(dir: &Path) -> PyResult<Predictor> {
    let (device, _) = select_device(DeviceChoice::Cpu);
    Bundle::load(dir, &device).map(|b| b.predictor).map_err(fail)
}

#[pymethods]
impl Labeller {
    /// `model`: a model folder (`valar train -o DIR`); None: `$VALAR_MODEL`, else the bundled one.
    #[new]
    #[pyo3(signature = (model=None))]
    fn new(py: Python<'_>, model: Option<PathBuf>) -> PyResult<Self> {
        py.detach(|| {
            let model = model.or_else(|| std::env::var_os("VALAR_MODEL").map(|_| default_model_dir()));
            match model {
                Some(dir) => Ok(Self { predictor: load(&dir)?, model: dir }),
                None => {
                    let dir = tempfile::tempdir().map_err(fail)?;
                    for (name, bytes) in BUNDLED_FILES {
                        std::fs::write(dir.path().join(name), bytes).map_err(fail)?;
                    }
                    Ok(Self { predictor: load(dir.path())?, model: PathBuf::from("(bundled)") })
                }
            }
        })
    }

    /// The model folder, or "(bundled)".
    #[getter]
    fn model(&self) -> String {
        self.model.display().to_string()
    }

    /// Rows of one file (`segment`: seconds per row; None: one row for the whole file), or of
    /// its excerpt from `start` to `end` seconds (row times then count from the file's start).
    #[pyo3(signature = (path, segment=None, start=None, end=None))]
    fn label_file(&self, py: Python<'_>, path: PathBuf, segment: Option<f64>, start: Option<f64>, end: Option<f64>) -> PyResult<Vec<Row>> {
        check_segment(segment)?;
        if start.is_none() && end.is_none() {
            let rows = py.detach(|| label_source(Source::File(&path), &self.predictor, segment, 1));
            return Ok(rows.iter().map(row).collect());
        }
        let rows = py.detach(|| -> PyResult<Vec<LabelRow>> {
            let (samples, rate) = excerpt(&path, start, end)?;
            Ok(label_source(Source::Signal { name: &path, samples: &samples, rate }, &self.predictor, segment, 1))
        })?;
        let offset = start.unwrap_or(0.0).max(0.0);
        Ok(rows
            .iter()
            .map(|r| {
                let (a, b, duration, activation, activation_score, valence, valence_score, voiced, error) = row(r);
                (a + offset, b + offset, duration, activation, activation_score, valence, valence_score, voiced, error)
            })
            .collect())
    }

    /// Rows of mono float32 samples at `rate`.
    #[pyo3(signature = (samples, rate, segment=None))]
    fn label_signal(&self, py: Python<'_>, samples: &[u8], rate: u32, segment: Option<f64>) -> PyResult<Vec<Row>> {
        check_segment(segment)?;
        let samples = samples_of(samples)?;
        let rows =
            py.detach(|| label_source(Source::Signal { name: Path::new("signal"), samples: &samples, rate }, &self.predictor, segment, 1));
        Ok(rows.iter().map(row).collect())
    }

    /// Rows of many files, `jobs` at a time, in `paths` order; `adapt` standardises by the
    /// batch's own statistics as `valar label --adapt` does, `per_folder` each folder's files
    /// by their own as `--adapt-per-folder`, `adaptation` as `--adaptation`. Returns the rows, how many groups were adapted,
    /// and (per folder) the folders too small to adapt.
    #[pyo3(signature = (paths, segment=None, jobs=None, adapt=false, per_folder=false, adaptation="representation"))]
    #[allow(clippy::too_many_arguments)]
    fn label_files(
        &self,
        py: Python<'_>,
        paths: Vec<PathBuf>,
        segment: Option<f64>,
        jobs: Option<usize>,
        adapt: bool,
        per_folder: bool,
        adaptation: &str,
    ) -> PyResult<(Vec<Vec<Row>>, usize, Vec<String>)> {
        check_segment(segment)?;
        let adaptation: valar::classify::Adaptation =
            adaptation.parse().map_err(|e: valar::choice::UnknownChoice| PyValueError::new_err(e.to_string()))?;
        let (rows, adapted, short) = py.detach(|| -> PyResult<_> {
            let mut rows = label_files(&paths, &self.predictor, segment, jobs, &|_: Event| {}, &CancelToken::new()).map_err(fail)?;
            if !(adapt || per_folder) {
                return Ok((rows, 0, Vec::new()));
            }
            let keyed = paths.iter().zip(rows.iter_mut()).flat_map(|(p, file_rows)| {
                let folder = if per_folder { p.parent().map(|d| d.display().to_string()) } else { None };
                file_rows.iter_mut().map(move |r| (folder.clone(), r))
            });
            let done = adapt_groups(keyed, &self.predictor, adaptation);
            let short = if per_folder { done.too_small.into_iter().flatten().collect() } else { Vec::new() };
            Ok((rows, done.adapted, short))
        })?;
        Ok((rows.iter().map(|r| r.iter().map(row).collect()).collect(), adapted, short))
    }
}

fn check_segment(segment: Option<f64>) -> PyResult<()> {
    valar::jobs::label::check_segment(segment).map_err(|e| PyValueError::new_err(e.to_string()))
}

#[pymodule]
fn _valar(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ValarError", m.py().get_type::<ValarError>())?;
    m.add("ADAPT_MIN_ROWS", valar::classify::label::ADAPT_MIN_ROWS)?;
    m.add("EXTRACTOR_VERSION", egemaps::EXTRACTOR_VERSION)?;
    m.add_function(wrap_pyfunction!(feature_names, m)?)?;
    m.add_function(wrap_pyfunction!(lld_names, m)?)?;
    m.add_function(wrap_pyfunction!(n_lld, m)?)?;
    m.add_function(wrap_pyfunction!(find_audio_files, m)?)?;
    m.add_function(wrap_pyfunction!(audio_extensions, m)?)?;
    m.add_function(wrap_pyfunction!(tolerance, m)?)?;
    m.add_function(wrap_pyfunction!(lld_tolerance, m)?)?;
    m.add_function(wrap_pyfunction!(extract_file, m)?)?;
    m.add_function(wrap_pyfunction!(extract_files, m)?)?;
    m.add_function(wrap_pyfunction!(extract_signal, m)?)?;
    m.add_class::<Labeller>()?;
    Ok(())
}
