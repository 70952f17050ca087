//! Compressed input, recognised by its first bytes (never by its name): gzip (every member of
//! a concatenated file), zstd (every frame), bzip2.

use std::io::{self, Cursor, Read};

/// The most bytes of a zstd window the reader accepts (2^27, zstd's own default limit):
/// what a frame may make it hold in memory.
const ZSTD_WINDOW_LOG_MAX: u32 = 27;

/// What an input's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Not compressed (text, or something this module does not know).
    Plain,
    /// gzip (`1f 8b`).
    Gzip,
    /// zstd (`28 b5 2f fd`, or a skippable frame).
    Zstd,
    /// bzip2 (`BZh`).
    Bzip2,
    /// A format the target does not read, with the command that unpacks it.
    Unsupported(&'static str, &'static str),
    /// A Parquet file (`PAR1`).
    Parquet,
}

impl Kind {
    /// Recognises `head`, the input's first bytes (up to 10).
    pub fn of(head: &[u8]) -> Self {
        match head {
            [0x1f, 0x8b, ..] => Self::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Self::Zstd,
            [0x50..=0x5f, 0x2a, 0x4d, 0x18, ..] => Self::Zstd,
            [b'B', b'Z', b'h', b'1'..=b'9', ..] => Self::Bzip2,
            [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Self::Unsupported("xz", "xz -d"),
            [b'P', b'K', 3, 4, ..] => Self::Unsupported("zip", "unzip"),
            [0x04, 0x22, 0x4d, 0x18, ..] => Self::Unsupported("lz4", "lz4 -d"),
            [0xff, 0x06, 0, 0, b's', b'N', b'a', b'P', b'p', b'Y', ..] => {
                Self::Unsupported("snappy (framed)", "a snappy tool")
            }
            [b'P', b'A', b'R', b'1', ..] => Self::Parquet,
            _ => Self::Plain,
        }
    }

    /// How messages name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
            Self::Bzip2 => "bzip2",
            Self::Unsupported(name, _) => name,
            Self::Parquet => "Parquet",
        }
    }
}

/// Reads up to `n` bytes from the start of `reader` (fewer only at its end).
fn head(reader: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut head = vec![0; n];
    let mut filled = 0;
    while filled < n {
        match reader.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(filled);
    Ok(head)
}

/// `reader`'s content, decompressed when its first bytes say it is compressed; with the
/// kind found. `text` refuses a Parquet file (read as text, it would be noise).
pub fn open(mut reader: Box<dyn Read>, text: bool) -> io::Result<(Kind, Box<dyn Read>)> {
    let head = head(&mut reader, 10)?;
    let kind = Kind::of(&head);
    let whole: Box<dyn Read> = Box::new(Cursor::new(head).chain(reader));
    let opened: Box<dyn Read> = match kind {
        Kind::Plain => whole,
        Kind::Gzip => Box::new(Labelled::new(
            flate2::read::MultiGzDecoder::new(whole),
            kind,
        )),
        Kind::Bzip2 => Box::new(Labelled::new(bzip2::read::MultiBzDecoder::new(whole), kind)),
        Kind::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::new(whole)?;
            decoder.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
            Box::new(Labelled::new(decoder, kind))
        }
        Kind::Unsupported(name, tool) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "compressed with {name}, which the target does not read; unpack it first ({tool}), or export with gzip, zstd or bzip2"
                ),
            ));
        }
        Kind::Parquet if text => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a Parquet file: read it with --input-format parquet",
            ));
        }
        Kind::Parquet => whole,
    };
    Ok((kind, opened))
}

/// A decoder whose errors say which decompression failed.
struct Labelled<R> {
    inner: R,
    kind: Kind,
    /// Bytes produced so far, for the message.
    out: u64,
}

impl<R> Labelled<R> {
    fn new(inner: R, kind: Kind) -> Self {
        Self {
            inner,
            kind,
            out: 0,
        }
    }
}

impl<R: Read> Read for Labelled<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.out += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} data is damaged or cut off after {} decompressed bytes ({e})",
                    self.kind.name(),
                    self.out
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(bytes: Vec<u8>) -> io::Result<(Kind, Vec<u8>)> {
        let (kind, mut r) = open(Box::new(Cursor::new(bytes)), true)?;
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok((kind, out))
    }

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn every_member_of_a_concatenated_gzip_file_is_read() {
        let mut both = gzip(b"a,b\n1,2\n");
        both.extend(gzip(b"3,4\n"));
        let (kind, out) = read_all(both).unwrap();
        assert_eq!(kind, Kind::Gzip);
        assert_eq!(out, b"a,b\n1,2\n3,4\n");
    }

    #[test]
    fn zstd_frames_and_bzip2_streams_are_read() {
        let mut frames = zstd::encode_all(&b"x\n"[..], 3).unwrap();
        frames.extend(zstd::encode_all(&b"y\n"[..], 3).unwrap());
        assert_eq!(read_all(frames).unwrap(), (Kind::Zstd, b"x\ny\n".to_vec()));
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        e.write_all(b"z\n").unwrap();
        assert_eq!(
            read_all(e.finish().unwrap()).unwrap(),
            (Kind::Bzip2, b"z\n".to_vec())
        );
    }

    #[test]
    fn plain_text_short_input_and_empty_input_pass_through() {
        assert_eq!(
            read_all(b"a".to_vec()).unwrap(),
            (Kind::Plain, b"a".to_vec())
        );
        assert_eq!(read_all(Vec::new()).unwrap(), (Kind::Plain, Vec::new()));
    }

    #[test]
    fn unreadable_compression_and_damage_are_named() {
        let xz = vec![0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2];
        let e = read_all(xz).unwrap_err().to_string();
        assert!(
            e.contains("compressed with xz") && e.contains("xz -d"),
            "{e}"
        );
        let mut cut = gzip(&[b'q'; 10_000]);
        cut.truncate(cut.len() / 2);
        let e = read_all(cut).unwrap_err().to_string();
        assert!(e.starts_with("gzip data is damaged or cut off"), "{e}");
        let e = read_all(b"PAR1\0\0".to_vec()).unwrap_err().to_string();
        assert!(e.contains("--input-format parquet"), "{e}");
    }
}
