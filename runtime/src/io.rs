//! Saving and loading parameters in the safetensors format.
//!
//! Each parameter becomes one tensor named [`Network::tensor_name`] (its name in
//! [`Network::LAYOUT`] unless the net gives it another), with its shape (`[]`, `[n]` or
//! `[rows, cols]`, row-major) and dtype `F32` or `F64` after the net's scalar type. Values
//! are stored little-endian as the format requires, so a round trip is bit-exact on any
//! platform.
//!
//! Such a file moves to and from PyTorch: `safetensors.torch.load_file` gives a dict of
//! tensors by the same names; a `torch.nn.Linear`'s `weight` is `[out, in]`, the layout of
//! a `w` used as `w @ x`. Loading ignores tensors the net does not have, so a larger
//! state dict whose tensors were renamed to the net's names loads as well.
//!
//! What each function needs:
//! - [`safetensors_len`] and [`write_safetensors`] write a file into a byte slice the
//!   caller provides, with no allocation at all, so they work on a device without a heap;
//! - [`to_safetensors`] and [`from_safetensors`], over byte vectors and slices, need the
//!   `alloc` feature. Reading always needs it: the header is JSON whose tensors may come in
//!   any order, and the `safetensors` crate that checks it allocates;
//! - [`save_safetensors`] and [`load_safetensors`], over files, need `std`.
//!
//! Every writer produces the same bytes, the same on every run: the header as the
//! `safetensors` crate writes it (tensors sorted by name, padded with spaces to a multiple
//! of 8 bytes), with the metadata `format: pt` and then the net's name (that crate writes
//! metadata in a `HashMap`'s order, which changes from run to run).
//!
//! A damaged or mismatched file, or a buffer too short, gives an [`IoError`], never a panic.
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

use crate::{Float, Network, ParamInfo};
use core::fmt::{self, Write};

#[cfg(feature = "alloc")]
use alloc::string::{String, ToString};
#[cfg(feature = "alloc")]
use alloc::vec::Vec;
#[cfg(feature = "alloc")]
use safetensors::{Dtype, SafeTensors};
#[cfg(feature = "std")]
use std::path::{Path, PathBuf};

/// Why parameters could not be saved or loaded.
///
/// Which variants exist depends on the features (those holding a `String` need `alloc`,
/// [`IoError::File`] needs `std`), so a `match` needs a wildcard arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// The file could not be read or written.
    #[cfg(feature = "std")]
    #[error("cannot access `{}`: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The bytes are not a valid safetensors file (truncated, corrupt header, offsets that
    /// do not match the data).
    #[cfg(feature = "alloc")]
    #[error("not a valid safetensors file: {reason}")]
    Corrupt {
        /// What the parser found wrong.
        reason: String,
    },
    /// The file lacks one of the net's parameters.
    #[cfg(feature = "alloc")]
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
    #[cfg(feature = "alloc")]
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
    #[cfg(feature = "alloc")]
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
    /// [`to_safetensors`] could not encode the parameters: its reason is the
    /// [`IoError::HeaderTooLarge`] that [`write_safetensors`] would give.
    #[cfg(feature = "alloc")]
    #[error("cannot encode the parameters: {reason}")]
    Encode {
        /// What the encoder said.
        reason: String,
    },
    /// The buffer given to [`write_safetensors`] is shorter than the file.
    #[error("the file takes {needed} bytes, but the buffer holds {available}")]
    BufferTooSmall {
        /// The file's size, [`safetensors_len`].
        needed: usize,
        /// The buffer's size.
        available: usize,
    },
    /// The header would pass the 100,000,000 bytes safetensors readers accept, which takes
    /// millions of tensors or names of megabytes.
    #[error("the header would take {len} bytes, more than the 100000000 readers accept")]
    HeaderTooLarge {
        /// The header's size in bytes, padding included.
        len: usize,
    },
}

/// The largest header readers accept (the `safetensors` crate's `MAX_HEADER_SIZE`).
const MAX_HEADER: usize = 100_000_000;

/// The safetensors name of a scalar type's dtype.
fn dtype_name<T: Float>() -> &'static str {
    if T::NAME == "f64" { "F64" } else { "F32" }
}

/// The safetensors dtype of a scalar type.
#[cfg(feature = "alloc")]
fn dtype<T: Float>() -> Dtype {
    if T::NAME == "f64" {
        Dtype::F64
    } else {
        Dtype::F32
    }
}

/// The exact size in bytes of the safetensors file of a net of type `N`: what
/// [`write_safetensors`] needs and what [`to_safetensors`] returns.
///
/// It depends on the type alone (names, shapes, dtype), not on the values.
pub fn safetensors_len<N: Network>() -> usize {
    let (header, data) = sizes::<N>();
    8 + header + data
}

/// Writes `net`'s parameters as a safetensors file into the start of `out` and returns the
/// number of bytes written, [`safetensors_len`]. Allocates nothing, so it works without
/// `alloc`; the bytes are those of [`to_safetensors`].
///
/// ```
/// use chainrule::{network, safetensors_len, to_safetensors, write_safetensors};
///
/// network! {
///     net Line {
///         input x: [3];
///         target t: [1];
///         param w: [1, 3] = xavier;
///         param b: [1];
///         let y = w @ x + b;
///         output y;
///         loss mse(y, t);
///     }
/// }
///
/// let net = Line::new(7);
/// let mut buffer = [0u8; 256];
/// let len = write_safetensors(&net, &mut buffer)?;
/// assert_eq!(len, safetensors_len::<Line>());
/// assert_eq!(buffer[..len], to_safetensors(&net)?[..]);
/// # Ok::<(), chainrule::IoError>(())
/// ```
///
/// # Errors
/// [`IoError::BufferTooSmall`] if `out` is shorter than the file (nothing is written then);
/// [`IoError::HeaderTooLarge`] for a header no reader would accept, which a net `network!`
/// generates does not have.
pub fn write_safetensors<N: Network>(net: &N, out: &mut [u8]) -> Result<usize, IoError> {
    let (header, data) = checked_sizes::<N>()?;
    write_file(net, out, header, data)
}

/// Encodes `net`'s parameters as the bytes of a safetensors file (needs `alloc`).
///
/// # Errors
/// [`IoError::Encode`] if the header would be too large for readers, which a net
/// `network!` generates does not make it.
#[cfg(feature = "alloc")]
pub fn to_safetensors<N: Network>(net: &N) -> Result<Vec<u8>, IoError> {
    let encode = |e: IoError| IoError::Encode {
        reason: e.to_string(),
    };
    let (header, data) = checked_sizes::<N>().map_err(encode)?;
    let mut bytes = alloc::vec![0; 8 + header + data];
    write_file(net, &mut bytes, header, data).map_err(encode)?;
    Ok(bytes)
}

/// Decodes parameters from the bytes of a safetensors file, by name and shape (needs
/// `alloc`).
///
/// # Errors
/// [`IoError::Corrupt`] for bytes that are not a valid file; [`IoError::MissingTensor`],
/// [`IoError::WrongShape`] or [`IoError::WrongDtype`] for a file that does not fit the net.
#[cfg(feature = "alloc")]
pub fn from_safetensors<N: Network>(bytes: &[u8]) -> Result<N, IoError> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| IoError::Corrupt {
        reason: e.to_string(),
    })?;
    let want_dtype = dtype::<N::Scalar>();
    let size = core::mem::size_of::<N::Scalar>();
    let mut net = N::zeros();
    let mut start = 0;
    for (i, info) in N::LAYOUT.iter().enumerate() {
        let name = N::tensor_name(i);
        let tensor = file.tensor(name).map_err(|_| {
            let mut available: Vec<String> = file.names().into_iter().map(String::from).collect();
            available.sort();
            IoError::MissingTensor {
                net: N::NAME,
                name,
                available,
            }
        })?;
        if tensor.dtype() != want_dtype {
            return Err(IoError::WrongDtype {
                net: N::NAME,
                name,
                expected: dtype_name::<N::Scalar>(),
                found: tensor.dtype().to_string(),
            });
        }
        if tensor.shape() != info.shape {
            return Err(IoError::WrongShape {
                net: N::NAME,
                name,
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
                reason: alloc::format!("tensor `{name}` has the wrong number of bytes"),
            });
        }
        for (v, chunk) in dst.iter_mut().zip(tensor.data().chunks_exact(size)) {
            *v = read_le(chunk);
        }
        start = end;
    }
    Ok(net)
}

/// Saves `net`'s parameters to a safetensors file at `path`, replacing it if present
/// (needs `std`).
///
/// The file is written to a temporary sibling first and then renamed, so a failed save
/// leaves an existing file intact.
///
/// # Errors
/// [`IoError::File`] if the file cannot be written.
#[cfg(feature = "std")]
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

/// Loads parameters from a safetensors file at `path`, by name and shape (needs `std`).
///
/// # Errors
/// [`IoError::File`] if the file cannot be read, and the errors of [`from_safetensors`].
#[cfg(feature = "std")]
pub fn load_safetensors<N: Network>(path: impl AsRef<Path>) -> Result<N, IoError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| IoError::File {
        path: path.to_path_buf(),
        source,
    })?;
    from_safetensors(&bytes)
}

/// [`sizes`], or the error for a header readers refuse.
fn checked_sizes<N: Network>() -> Result<(usize, usize), IoError> {
    let (header, data) = sizes::<N>();
    if header > MAX_HEADER {
        return Err(IoError::HeaderTooLarge { len: header });
    }
    Ok((header, data))
}

/// Writes the file into the start of `out`, given the lengths [`sizes`] computed, and
/// returns its length.
fn write_file<N: Network>(
    net: &N,
    out: &mut [u8],
    header: usize,
    data: usize,
) -> Result<usize, IoError> {
    let needed = 8 + header + data;
    let too_small = IoError::BufferTooSmall {
        needed,
        available: out.len(),
    };
    let Some(file) = out.get_mut(..needed) else {
        return Err(too_small);
    };
    let (prefix, rest) = file.split_at_mut(8);
    prefix.copy_from_slice(&(header as u64).to_le_bytes());
    let (head, body) = rest.split_at_mut(header);
    let mut cursor = Cursor { out: head, at: 0 };
    // Cannot fail: `sizes` counted these very bytes.
    write_header::<N>(&mut cursor).map_err(|_| too_small)?;
    let written = cursor.at;
    head[written..].fill(b' ');

    let values = net.as_slice();
    let size = core::mem::size_of::<N::Scalar>();
    let ordered = file_order::<N>().flat_map(|i| {
        let start = param_start::<N>(i);
        &values[start..start + N::LAYOUT[i].len()]
    });
    for (dst, v) in body.chunks_exact_mut(size).zip(ordered) {
        dst.copy_from_slice(bytemuck::bytes_of(v));
        if cfg!(target_endian = "big") {
            dst.reverse();
        }
    }
    Ok(needed)
}

/// The header's length with its padding, and the data's length, in bytes.
fn sizes<N: Network>() -> (usize, usize) {
    let mut count = Count(0);
    // Counting never fails.
    let _ = write_header::<N>(&mut count);
    let data =
        N::LAYOUT.iter().map(ParamInfo::len).sum::<usize>() * core::mem::size_of::<N::Scalar>();
    (count.0.next_multiple_of(8), data)
}

/// Writes the JSON header, unpadded, as `safetensors::serialize` does: the metadata, then
/// each tensor in [`file_order`] with its dtype, shape and byte range in the data.
fn write_header<N: Network>(w: &mut impl Write) -> fmt::Result {
    w.write_str("{\"__metadata__\":{\"format\":\"pt\",\"chainrule_net\":")?;
    json_string(w, N::NAME)?;
    w.write_char('}')?;
    let dtype = dtype_name::<N::Scalar>();
    let size = core::mem::size_of::<N::Scalar>();
    let mut offset = 0;
    for i in file_order::<N>() {
        let info = &N::LAYOUT[i];
        w.write_char(',')?;
        json_string(w, N::tensor_name(i))?;
        write!(w, ":{{\"dtype\":\"{dtype}\",\"shape\":[")?;
        for (k, dim) in info.shape.iter().enumerate() {
            if k > 0 {
                w.write_char(',')?;
            }
            write!(w, "{dim}")?;
        }
        let end = offset + info.len() * size;
        write!(w, "],\"data_offsets\":[{offset},{end}]}}")?;
        offset = end;
    }
    w.write_char('}')
}

/// `s` as a JSON string, escaped as `serde_json` escapes it (the `safetensors` crate's
/// encoder): quote, backslash and control characters only, the latter as `\n`-style
/// escapes where JSON has them and as lowercase `\u00xx` otherwise. The bytes between
/// escapes go out in one piece.
fn json_string(w: &mut impl Write, s: &str) -> fmt::Result {
    w.write_char('"')?;
    // Every byte escaped is ASCII, so `s` is split at character boundaries only. An index
    // loop rather than an iterator keeps debug builds fast on long names.
    let bytes = s.as_bytes();
    let mut plain = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..0x20 => "",
            _ => continue,
        };
        w.write_str(&s[plain..i - 1])?;
        if escape.is_empty() {
            write!(w, "\\u{b:04x}")?;
        } else {
            w.write_str(escape)?;
        }
        plain = i;
    }
    w.write_str(&s[plain..])?;
    w.write_char('"')
}

/// Parameter indices in the order their tensors are stored: by tensor name, as
/// `safetensors::serialize` sorts tensors of one dtype (and by index among equal names, as
/// its stable sort would). A selection without a buffer, quadratic in the number of
/// tensors, which is small.
fn file_order<N: Network>() -> impl Iterator<Item = usize> {
    let key = |i: usize| (N::tensor_name(i), i);
    let mut last: Option<usize> = None;
    core::iter::from_fn(move || {
        let next = (0..N::LAYOUT.len())
            .filter(|&i| last.is_none_or(|l| key(i) > key(l)))
            .min_by_key(|&i| key(i));
        last = next;
        next
    })
}

/// Where parameter `i` starts in the flat slice.
fn param_start<N: Network>(i: usize) -> usize {
    N::LAYOUT[..i].iter().map(ParamInfo::len).sum()
}

/// Counts the bytes written to it.
struct Count(usize);

impl Write for Count {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// Writes into a byte slice, failing rather than going past its end.
struct Cursor<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let dst = self
            .out
            .get_mut(self.at..self.at + s.len())
            .ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.at += s.len();
        Ok(())
    }
}

/// Reads a value from its little-endian bytes (`chunk` has the type's size).
#[cfg(feature = "alloc")]
fn read_le<T: Float>(chunk: &[u8]) -> T {
    let mut v = T::ZERO;
    let bytes = bytemuck::bytes_of_mut(&mut v);
    bytes.copy_from_slice(chunk);
    if cfg!(target_endian = "big") {
        bytes.reverse();
    }
    v
}
