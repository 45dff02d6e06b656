//! `Range` request headers (`stsgate::common::objects::parse_range`) against objects of several
//! sizes, in both the RFC 7233 and the OSS legacy reading: a range served always lies inside
//! the object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stsgate::common::objects::{parse_range, RangeError};

const SIZES: [u64; 7] = [0, 1, 2, 10, 1000, u64::MAX - 1, u64::MAX];

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    for size in SIZES {
        for standard in [true, false] {
            match parse_range(value, size, standard) {
                Ok(range) => {
                    assert!(range.start <= range.end, "{value:?} {size} {range:?}");
                    assert!(range.end < size, "{value:?} {size} {range:?}");
                }
                Err(RangeError::Invalid | RangeError::Unsatisfiable) => {}
            }
        }
    }
});
