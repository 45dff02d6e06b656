//! MD5 for large bodies, written for the one thread that hashes a big PUT.
//!
//! Why by hand: the ETag of a PUT is the MD5 of its body, and for a large object that hash is the
//! PUT's floor (`bench/RESULTS.md`). md-5 0.10 (soft or `asm`) needs 1.03-1.10 s of CPU for
//! 512 MiB on the bench machine where coreutils' `md5sum` needs 0.86-0.91 s; this compression
//! function needs 0.95 s. The differences are the classic ones: the message word and round
//! constant are added to `a` before the round function is known (off the dependency chain), G is
//! written as two disjoint terms summed, F and I in their two-operation forms, and the message
//! words are read from the block where they are needed instead of copied out first.
//!
//! Correctness is held to md-5 (the reference) by the RFC 1321 vectors and a property test over
//! random inputs split at random points; small bodies still use md-5.

const RC: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

/// Left-rotation of each step.
const S: [u32; 64] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, //
    5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, //
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, //
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];

/// Message word of each step.
const K: [usize; 64] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, //
    1, 6, 11, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, //
    5, 8, 11, 14, 1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 15, 2, //
    0, 7, 14, 5, 12, 3, 10, 1, 8, 15, 6, 13, 4, 11, 2, 9,
];

const INIT: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

#[inline(always)]
fn word(block: &[u8; 64], k: usize) -> u32 {
    u32::from_le_bytes([
        block[4 * k],
        block[4 * k + 1],
        block[4 * k + 2],
        block[4 * k + 3],
    ])
}

macro_rules! step {
    ($f:ident, $i:expr, $a:ident, $b:ident, $c:ident, $d:ident, $blk:ident) => {
        $a = $a.wrapping_add(word($blk, K[$i]).wrapping_add(RC[$i]));
        $a = $f!($a, $b, $c, $d).rotate_left(S[$i]).wrapping_add($b);
    };
}
macro_rules! f {
    ($a:ident, $b:ident, $c:ident, $d:ident) => {
        $a.wrapping_add($d ^ ($b & ($c ^ $d)))
    };
}
macro_rules! g {
    ($a:ident, $b:ident, $c:ident, $d:ident) => {
        $a.wrapping_add(!$d & $c).wrapping_add($d & $b)
    };
}
macro_rules! h {
    ($a:ident, $b:ident, $c:ident, $d:ident) => {
        $a.wrapping_add($b ^ $c ^ $d)
    };
}
macro_rules! i {
    ($a:ident, $b:ident, $c:ident, $d:ident) => {
        $a.wrapping_add($c ^ ($b | !$d))
    };
}
macro_rules! four {
    ($f:ident, $base:expr, $a:ident, $b:ident, $c:ident, $d:ident, $blk:ident) => {
        step!($f, $base, $a, $b, $c, $d, $blk);
        step!($f, $base + 1, $d, $a, $b, $c, $blk);
        step!($f, $base + 2, $c, $d, $a, $b, $blk);
        step!($f, $base + 3, $b, $c, $d, $a, $blk);
    };
}

/// Runs the compression function over whole 64-byte blocks (`blocks.len()` a multiple of 64).
#[inline(never)]
fn compress(state: &mut [u32; 4], blocks: &[u8]) {
    let [mut a0, mut b0, mut c0, mut d0] = *state;
    for block in blocks.chunks_exact(64) {
        let Ok(blk) = <&[u8; 64]>::try_from(block) else {
            continue;
        };
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        four!(f, 0, a, b, c, d, blk);
        four!(f, 4, a, b, c, d, blk);
        four!(f, 8, a, b, c, d, blk);
        four!(f, 12, a, b, c, d, blk);
        four!(g, 16, a, b, c, d, blk);
        four!(g, 20, a, b, c, d, blk);
        four!(g, 24, a, b, c, d, blk);
        four!(g, 28, a, b, c, d, blk);
        four!(h, 32, a, b, c, d, blk);
        four!(h, 36, a, b, c, d, blk);
        four!(h, 40, a, b, c, d, blk);
        four!(h, 44, a, b, c, d, blk);
        four!(i, 48, a, b, c, d, blk);
        four!(i, 52, a, b, c, d, blk);
        four!(i, 56, a, b, c, d, blk);
        four!(i, 60, a, b, c, d, blk);
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    *state = [a0, b0, c0, d0];
}

/// An MD5 in progress.
#[derive(Clone)]
pub(crate) struct Md5 {
    state: [u32; 4],
    /// Bytes hashed so far (mod 2^64, as the padding wants).
    len: u64,
    /// A partial block waiting for the rest.
    buf: [u8; 64],
    buffered: usize,
}

impl Default for Md5 {
    fn default() -> Self {
        Md5::new()
    }
}

impl Md5 {
    pub(crate) fn new() -> Md5 {
        Md5 {
            state: INIT,
            len: 0,
            buf: [0; 64],
            buffered: 0,
        }
    }

    pub(crate) fn update(&mut self, mut data: &[u8]) {
        self.len = self.len.wrapping_add(data.len() as u64);
        if self.buffered > 0 {
            let take = (64 - self.buffered).min(data.len());
            self.buf[self.buffered..self.buffered + take].copy_from_slice(&data[..take]);
            self.buffered += take;
            data = &data[take..];
            if self.buffered < 64 {
                return;
            }
            let block = self.buf;
            compress(&mut self.state, &block);
            self.buffered = 0;
        }
        let whole = data.len() - data.len() % 64;
        compress(&mut self.state, &data[..whole]);
        let rest = &data[whole..];
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buffered = rest.len();
    }

    pub(crate) fn finalize(mut self) -> [u8; 16] {
        let bits = self.len.wrapping_mul(8);
        let mut tail = [0u8; 128];
        tail[..self.buffered].copy_from_slice(&self.buf[..self.buffered]);
        tail[self.buffered] = 0x80;
        let end = if self.buffered < 56 { 64 } else { 128 };
        tail[end - 8..end].copy_from_slice(&bits.to_le_bytes());
        compress(&mut self.state, &tail[..end]);
        let mut out = [0u8; 16];
        for (o, w) in out.chunks_exact_mut(4).zip(self.state) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Md5;
    use md5::Digest as _;
    use proptest::prelude::*;

    fn hex(d: [u8; 16]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn digest(data: &[u8]) -> [u8; 16] {
        let mut m = Md5::new();
        m.update(data);
        m.finalize()
    }

    #[test]
    fn rfc_1321_vectors() {
        let vectors: [(&str, &str); 7] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, want) in vectors {
            assert_eq!(hex(digest(input.as_bytes())), want, "{input:?}");
        }
    }

    #[test]
    fn every_length_around_the_padding_boundaries_matches_md5() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in 0..data.len() {
            assert_eq!(
                digest(&data[..n]),
                <[u8; 16]>::from(md5::Md5::digest(&data[..n])),
                "length {n}"
            );
        }
    }

    proptest! {
        #[test]
        fn matches_md5_however_the_input_is_split(
            data in proptest::collection::vec(any::<u8>(), 0..2000),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (data.len() + 1)).collect();
            cuts.sort_unstable();
            let mut m = Md5::new();
            let mut at = 0;
            for c in cuts {
                m.update(&data[at..c]);
                at = c;
            }
            m.update(&data[at..]);
            prop_assert_eq!(m.finalize(), <[u8; 16]>::from(md5::Md5::digest(&data)));
        }
    }
}
