//! Saving and loading parameters in the safetensors format (needs the `std` feature).
//!
//! Each parameter becomes one tensor named as in [`Network::LAYOUT`], with its shape
//! (`[]`, `[n]` or `[rows, cols]`, row-major) and dtype `F32` or `F64` after the net's
//! scalar type. Values are stored little-endian as the format requires, so a round trip
//! is bit-exact on any platform.
//!
//! Such a file moves to and from PyTorch: `safetensors.torch.load_file` gives a dict of
//! tensors by the same names; a `torch.nn.Linear`'s `weight` is `[out, in]`, the layout of
//! a `w` used as `w @ x`. Loading ignores tensors the net does not have, so a larger
//! state dict whose tensors were renamed to the net's names loads as well.
//!
//! A damaged or mismatched file gives an [`IoError`], never a panic.
//!
//! ```
//! use chainrule::{IoError, from_safetensors, network, to_safetensors};
//!
//! network! {
//!     net Line {
//!         input x: [3];
//!         target t: [1];
//!         param w: [1, 3] = xavier;
//!         param b: [1];
//!         let y = w @ x + b;
//!         output y;
//!         loss mse(y, t);
//!     }
//! }
//!
//! let net = Line::new(7);
//! let bytes = to_safetensors(&net)?;          // or save_safetensors(&net, "line.safetensors")
//! let back: Line = from_safetensors(&bytes)?; // or load_safetensors("line.safetensors")
//! assert_eq!(back, net);
//! assert!(matches!(from_safetensors::<Line>(&bytes[..40]), Err(IoError::Corrupt { .. })));
//! # Ok::<(), IoError>(())
//! ```

use crate::{Float, Network};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec::Vec;

/// Why parameters could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The file could not be read or written.
    #[error("cannot access `{}`: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The bytes are not a valid safetensors file (truncated, corrupt header, offsets that
    /// do not match the data).
    #[error("not a valid safetensors file: {reason}")]
    Corrupt {
        /// What the parser found wrong.
        reason: String,
    },
    /// The file lacks one of the net's parameters.
    #[error("the file has no tensor `{name}`, a parameter of {net} (it has: {})", available.join(", "))]
    MissingTensor {
        /// The net's name.
        net: &'static str,
        /// The parameter's name.
        name: &'static str,
        /// The tensors the file does have, sorted.
        available: Vec<String>,
    },
    /// A tensor's shape differs from the parameter's.
    #[error("tensor `{name}` has shape {found:?}, but {net}'s `{name}` is {expected:?}")]
    WrongShape {
        /// The net's name.
        net: &'static str,
        /// The parameter's name.
        name: &'static str,
        /// The parameter's shape.
        expected: &'static [usize],
        /// The tensor's shape in the file.
        found: Vec<usize>,
    },
    /// A tensor's element type differs from the net's scalar type.
    #[error("tensor `{name}` holds {found}, but {net} computes in {expected}")]
    WrongDtype {
        /// The net's name.
        net: &'static str,
        /// The parameter's name.
        name: &'static str,
        /// The dtype the net needs: `F32` or `F64`.
        expected: &'static str,
        /// The dtype in the file.
        found: String,
    },
    /// The parameters could not be encoded (in practice never: only a header over 100 MB
    /// would do it).
    #[error("cannot encode the parameters: {reason}")]
    Encode {
        /// What the encoder said.
        reason: String,
    },
}

/// The safetensors dtype of a scalar type.
fn dtype<T: Float>() -> (Dtype, &'static str) {
    if T::NAME == "f64" {
        (Dtype::F64, "F64")
    } else {
        (Dtype::F32, "F32")
    }
}

/// Encodes `net`'s parameters as the bytes of a safetensors file.
///
/// # Errors
/// [`IoError::Encode`] if the encoder fails, which a net `network!` can generate does not
/// make it do.
pub fn to_safetensors<N: Network>(net: &N) -> Result<Vec<u8>, IoError> {
    let (dtype, _) = dtype::<N::Scalar>();
    let size = core::mem::size_of::<N::Scalar>();
    let mut data = Vec::with_capacity(N::PARAMS * size);
    for v in net.as_slice() {
        push_le(&mut data, v);
    }
    let mut views = Vec::with_capacity(N::LAYOUT.len());
    let mut start = 0;
    for info in N::LAYOUT {
        let end = start + info.len() * size;
        let view = TensorView::new(dtype, info.shape.to_vec(), &data[start..end]).map_err(|e| {
            IoError::Encode {
                reason: e.to_string(),
            }
        })?;
        views.push((info.name, view));
        start = end;
    }
    // `format: pt` is what PyTorch-side loaders look for; the net's name is informative.
    let metadata = [
        ("format".to_string(), "pt".to_string()),
        ("chainrule_net".to_string(), N::NAME.to_string()),
    ];
    safetensors::serialize(views, Some(metadata.into_iter().collect())).map_err(|e| {
        IoError::Encode {
            reason: e.to_string(),
        }
    })
}

/// Decodes parameters from the bytes of a safetensors file, by name and shape.
///
/// # Errors
/// [`IoError::Corrupt`] for bytes that are not a valid file; [`IoError::MissingTensor`],
/// [`IoError::WrongShape`] or [`IoError::WrongDtype`] for a file that does not fit the net.
pub fn from_safetensors<N: Network>(bytes: &[u8]) -> Result<N, IoError> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| IoError::Corrupt {
        reason: e.to_string(),
    })?;
    let (want_dtype, want_name) = dtype::<N::Scalar>();
    let size = core::mem::size_of::<N::Scalar>();
    let mut net = N::zeros();
    let mut start = 0;
    for info in N::LAYOUT {
        let tensor = file.tensor(info.name).map_err(|_| {
            let mut available: Vec<String> = file.names().into_iter().map(String::from).collect();
            available.sort();
            IoError::MissingTensor {
                net: N::NAME,
                name: info.name,
                available,
            }
        })?;
        if tensor.dtype() != want_dtype {
            return Err(IoError::WrongDtype {
                net: N::NAME,
                name: info.name,
                expected: want_name,
                found: tensor.dtype().to_string(),
            });
        }
        if tensor.shape() != info.shape {
            return Err(IoError::WrongShape {
                net: N::NAME,
                name: info.name,
                expected: info.shape,
                found: tensor.shape().to_vec(),
            });
        }
        let end = start + info.len();
        let dst = &mut net.as_mut_slice()[start..end];
        // The parser checked that the data length is shape × dtype size; compare anyway so
        // a parser bug shows as an error, not a panic.
        if tensor.data().len() != core::mem::size_of_val(dst) {
            return Err(IoError::Corrupt {
                reason: std::format!("tensor `{}` has the wrong number of bytes", info.name),
            });
        }
        for (v, chunk) in dst.iter_mut().zip(tensor.data().chunks_exact(size)) {
            *v = read_le(chunk);
        }
        start = end;
    }
    Ok(net)
}

/// Saves `net`'s parameters to a safetensors file at `path`, replacing it if present.
///
/// The file is written to a temporary sibling first and then renamed, so a failed save
/// leaves an existing file intact.
///
/// # Errors
/// [`IoError::File`] if the file cannot be written.
pub fn save_safetensors<N: Network>(net: &N, path: impl AsRef<Path>) -> Result<(), IoError> {
    let path = path.as_ref();
    let bytes = to_safetensors(net)?;
    let mut tmp = std::ffi::OsString::from(path.as_os_str());
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let file_error = |source| IoError::File {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&tmp, &bytes).map_err(file_error)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        // Best effort: the temporary file is useless once the rename failed.
        let _ = std::fs::remove_file(&tmp);
        file_error(e)
    })
}

/// Loads parameters from a safetensors file at `path`, by name and shape.
///
/// # Errors
/// [`IoError::File`] if the file cannot be read, and the errors of [`from_safetensors`].
pub fn load_safetensors<N: Network>(path: impl AsRef<Path>) -> Result<N, IoError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| IoError::File {
        path: path.to_path_buf(),
        source,
    })?;
    from_safetensors(&bytes)
}

/// Appends `v`'s bytes, little-endian.
fn push_le<T: Float>(out: &mut Vec<u8>, v: &T) {
    let bytes = bytemuck::bytes_of(v);
    if cfg!(target_endian = "little") {
        out.extend_from_slice(bytes);
    } else {
        out.extend(bytes.iter().rev());
    }
}

/// Reads a value from its little-endian bytes (`chunk` has the type's size).
fn read_le<T: Float>(chunk: &[u8]) -> T {
    let mut v = T::ZERO;
    let bytes = bytemuck::bytes_of_mut(&mut v);
    bytes.copy_from_slice(chunk);
    if cfg!(target_endian = "big") {
        bytes.reverse();
    }
    v
}
