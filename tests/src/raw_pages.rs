//! The plaintext of every page of an account database as it lies on disk: the database file
//! and every frame of its WAL, each decrypted with the account's key, free pages and stale
//! frames included. A scan of these bytes finds what SQL rows no longer show (deleted cells,
//! old page versions in the WAL).
//!
//! The core keys SQLCipher 4 with a raw 256-bit key (no key derivation): each page is
//! AES-256-CBC over all but its last 80 reserved bytes (a 16-byte IV, then the HMAC); page 1
//! starts with the 16-byte salt instead of the SQLite header.

use anyhow::{Context, anyhow, ensure};
use aws_lc_rs::cipher::{AES_256, DecryptingKey, DecryptionContext, UnboundCipherKey};
use aws_lc_rs::iv::FixedLength;
use std::path::Path;

/// SQLCipher 4's default page size.
pub const PAGE: usize = 4096;
/// Reserved bytes at the end of each page: the IV (16) and the HMAC-SHA512 (64).
const RESERVE: usize = 80;
const SALT: usize = 16;
const WAL_HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

fn key_bytes(key_hex: &str) -> anyhow::Result<Vec<u8>> {
    ensure!(key_hex.len() == 64, "not a 256-bit hex key");
    (0..32)
        .map(|i| u8::from_str_radix(&key_hex[2 * i..2 * i + 2], 16).context("hex key"))
        .collect()
}

/// Decrypts one page (`page_no` from 1).
fn decrypt_page(key: &[u8], page_no: u32, page: &[u8]) -> anyhow::Result<Vec<u8>> {
    ensure!(page.len() == PAGE, "short page");
    let start = if page_no == 1 { SALT } else { 0 };
    let mut body = page[start..PAGE - RESERVE].to_vec();
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&page[PAGE - RESERVE..PAGE - RESERVE + 16]);
    let dk =
        DecryptingKey::cbc(UnboundCipherKey::new(&AES_256, key).map_err(|_| anyhow!("AES key"))?)
            .map_err(|_| anyhow!("AES-CBC"))?;
    dk.decrypt(&mut body, DecryptionContext::Iv128(FixedLength::from(iv)))
        .map_err(|_| anyhow!("decrypt page {page_no}"))?;
    Ok(body)
}

/// The plaintext of every page of `db` (pages in file order) and of every frame in
/// `<db>-wal` (in file order, stale frames too).
pub fn decrypted(db: &Path, key_hex: &str) -> anyhow::Result<Vec<u8>> {
    let key = key_bytes(key_hex)?;
    let mut out = Vec::new();
    let file = std::fs::read(db)?;
    for (i, page) in file.chunks(PAGE).enumerate() {
        if page.len() == PAGE {
            let page_no = u32::try_from(i + 1)?;
            let plain = decrypt_page(&key, page_no, page)?;
            if page_no == 1 {
                // The SQLite header after the salt: page size 4096, WAL (2, 2), 80 reserved.
                ensure!(
                    plain[..8] == [0x10, 0x00, 2, 2, 80, 64, 32, 32],
                    "page 1 did not decrypt to a SQLite header"
                );
            }
            out.extend(plain);
        }
    }
    let wal = std::fs::read(db.with_extension("db-wal")).unwrap_or_default();
    if wal.len() > WAL_HEADER {
        for frame in wal[WAL_HEADER..].chunks(FRAME_HEADER + PAGE) {
            if frame.len() == FRAME_HEADER + PAGE {
                let page_no = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
                out.extend(decrypt_page(&key, page_no, &frame[FRAME_HEADER..])?);
            }
        }
    }
    Ok(out)
}
