//! Kafka's default partitioner for keyed records: `toPositive(murmur2(keyBytes)) % numPartitions`.
//!
//! This is a port of `org.apache.kafka.common.utils.Utils.murmur2`, including its seed and its
//! treatment of the tail bytes, so a key lands on the same partition here as in real Kafka.

/// Kafka's murmur2 (32-bit, seed `0x9747b28c`).
pub fn murmur2(data: &[u8]) -> i32 {
    let length = data.len() as i32;
    let seed: i32 = 0x9747b28c_u32 as i32;
    let m: i32 = 0x5bd1e995;
    let r = 24;
    let mut h: i32 = seed ^ length;
    let length4 = data.len() / 4;
    for i in 0..length4 {
        let i4 = i * 4;
        let mut k: i32 = (data[i4] as i32 & 0xff)
            + ((data[i4 + 1] as i32 & 0xff) << 8)
            + ((data[i4 + 2] as i32 & 0xff) << 16)
            + ((data[i4 + 3] as i32 & 0xff) << 24);
        k = k.wrapping_mul(m);
        k ^= ((k as u32) >> r) as i32;
        k = k.wrapping_mul(m);
        h = h.wrapping_mul(m);
        h ^= k;
    }
    let tail = data.len() % 4;
    let base = data.len() & !3;
    if tail == 3 {
        h ^= (data[base + 2] as i32 & 0xff) << 16;
    }
    if tail >= 2 {
        h ^= (data[base + 1] as i32 & 0xff) << 8;
    }
    if tail >= 1 {
        h ^= data[base] as i32 & 0xff;
        h = h.wrapping_mul(m);
    }
    h ^= ((h as u32) >> 13) as i32;
    h = h.wrapping_mul(m);
    h ^= ((h as u32) >> 15) as i32;
    h
}

/// `Utils.toPositive`: clears the sign bit (not `abs`, which would overflow on `i32::MIN`).
pub fn to_positive(n: i32) -> u32 {
    (n & 0x7fffffff) as u32
}

/// The partition Kafka's producer picks for a keyed record.
pub fn partition_for_key(key: &str, partitions: u32) -> u32 {
    to_positive(murmur2(key.as_bytes())) % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors from Kafka's `UtilsTest.testMurmur2`.
    #[test]
    fn murmur2_matches_kafkas_test_vectors() {
        let cases: &[(&str, i32)] = &[
            ("21", -973932308),
            ("foobar", -790332482),
            ("a-little-bit-long-string", -985981536),
            ("a-little-bit-longer-string", -1486304829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(murmur2(input.as_bytes()), *expected, "murmur2({input:?})");
        }
        let abc = [b'a', b'b', b'c'];
        assert_eq!(murmur2(&abc), 479470107);
    }

    #[test]
    fn to_positive_clears_only_the_sign_bit() {
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(-1), i32::MAX as u32);
        assert_eq!(to_positive(5), 5);
    }
}
