//! A baseline: the template keys of known-good runs, to tell what is new in a failed one.
//!
//! logjuicer's idea: a failed run is read against good runs, and only what the good
//! runs never said is worth a person's time. A line's template key (`key.rs`) names
//! its pattern, so "new" means: this line's key occurs nowhere in the baseline.
//!
//! Keys are kept as 64-bit FNV-1a hashes (8 bytes a key: a baseline of a million
//! distinct keys is 8 MB, and a collision, at 2^-64 a pair, could only hide a new
//! line, never invent one). The file (`.lskb`) is gzip of a header line
//! `lookskip-baseline 1 <json>\n` then the sorted hashes, little-endian. The header's
//! `fingerprint` names the key rules and JSON fields the keys were made with: a
//! baseline built under other rules would call every line new, so it is refused.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::atomic::write_atomically;

const MAGIC: &str = "lookskip-baseline 1 ";

/// Month and weekday names, which template keys keep (they are words) but which say
/// when, not what: `[Sun Dec 04 …] [error] …` of a good run and `[Mon Dec 05 …]` of a
/// failed one are the same pattern. A baseline key is the template key with these
/// words (capitalized, as logs write them) masked as `<DATE>`.
const CALENDAR: [&[u8]; 19] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
    b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun",
];

/// Names what `baseline_key` adds to the template key (part of the fingerprint).
pub const BASELINE_KEY_RULE: &str = "calendar-words:1";

/// The key a baseline stores for a template key: month and weekday names masked.
pub fn baseline_key(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len());
    let mut i = 0;
    while i < key.len() {
        if key[i].is_ascii_alphabetic() {
            let start = i;
            while i < key.len() && key[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let word = &key[start..i];
            if CALENDAR.contains(&word) {
                out.extend_from_slice(b"<DATE>");
            } else {
                out.extend_from_slice(word);
            }
        } else {
            out.push(key[i]);
            i += 1;
        }
    }
    out
}

/// FNV-1a, 64 bits: stable across versions and platforms (the file stores it).
pub fn key_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BaselineInfo {
    pub fingerprint: String,
    pub lines: u64,
    pub keys: u64,
    #[serde(default)]
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Baseline {
    keys: FxHashSet<u64>,
    pub info: BaselineInfo,
}

impl Baseline {
    pub fn new(fingerprint: &str) -> Self {
        Self {
            keys: FxHashSet::default(),
            info: BaselineInfo {
                fingerprint: fingerprint.to_string(),
                ..BaselineInfo::default()
            },
        }
    }

    pub fn add_key(&mut self, key: &[u8]) {
        self.info.lines += 1;
        self.keys.insert(key_hash(key));
    }

    /// Add another baseline's keys (made under the same fingerprint: `check` first).
    pub fn merge(&mut self, other: &Baseline) {
        self.keys.extend(other.keys.iter().copied());
        self.info.lines += other.info.lines;
        self.info.sources.extend(other.info.sources.iter().cloned());
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.keys.contains(&key_hash(key))
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Refuse a baseline whose keys were made under other rules.
    pub fn check(&self, fingerprint: &str) -> Result<()> {
        if self.info.fingerprint != fingerprint {
            return Err(Error::Model(format!(
                "baseline keys were made with other key rules or JSON fields ({} here, {} in the baseline): rebuild it with --baseline",
                fingerprint, self.info.fingerprint
            )));
        }
        Ok(())
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let mut hashes: Vec<u64> = self.keys.iter().copied().collect();
        hashes.sort_unstable();
        let mut info = self.info.clone();
        info.keys = hashes.len() as u64;
        let header = serde_json::to_string(&info).map_err(|e| Error::Io(e.to_string()))?;
        write_atomically(path, |w| {
            let write = || -> std::io::Result<()> {
                let mut gz = GzEncoder::new(w, flate2::Compression::fast());
                gz.write_all(MAGIC.as_bytes())?;
                gz.write_all(header.as_bytes())?;
                gz.write_all(b"\n")?;
                for h in &hashes {
                    gz.write_all(&h.to_le_bytes())?;
                }
                gz.finish()?;
                Ok(())
            };
            write().map_err(|e| Error::Io(format!("{}: {e}", path.display())))
        })
    }

    pub fn load(path: &Path) -> Result<Self> {
        let shown = path.display().to_string();
        let bad = |m: &str| Error::Model(format!("{shown}: not a lookskip baseline file ({m})"));
        let file = File::open(path).map_err(|e| Error::Io(format!("{shown}: {e}")))?;
        let mut r = BufReader::new(MultiGzDecoder::new(file));
        let mut head = Vec::new();
        r.read_until(b'\n', &mut head)
            .map_err(|e| bad(&e.to_string()))?;
        let head = std::str::from_utf8(&head).map_err(|_| bad("header"))?;
        let json = head.strip_prefix(MAGIC).ok_or_else(|| bad("header"))?;
        let info: BaselineInfo =
            serde_json::from_str(json.trim_end()).map_err(|e| bad(&e.to_string()))?;
        let mut body = Vec::new();
        r.read_to_end(&mut body).map_err(|e| bad(&e.to_string()))?;
        if body.len() % 8 != 0 || body.len() / 8 != info.keys as usize {
            return Err(bad("truncated"));
        }
        let keys = body
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        Ok(Self { keys, info })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.lskb");
        let mut b = Baseline::new("fp1");
        b.add_key(b"conn <NUM> ok");
        b.add_key(b"conn <NUM> ok");
        b.add_key(b"disk full");
        b.save(&p).unwrap();
        let got = Baseline::load(&p).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got.info.lines, 3);
        assert!(got.contains_key(b"disk full"));
        assert!(!got.contains_key(b"disk ok"));
        assert!(got.check("fp1").is_ok());
        assert!(got.check("fp2").is_err());
        std::fs::write(&p, b"junk").unwrap();
        assert!(Baseline::load(&p).is_err());
        assert_eq!(key_hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(
            baseline_key(b"[Sun Dec <NUM>] [error] Monday Sunday"),
            b"[<DATE> <DATE> <NUM>] [error] Monday Sunday".to_vec()
        );
    }
}
