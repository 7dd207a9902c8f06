//! The bytes of a record a real Kafka client produced (`kafkascope serve`).
//!
//! The model follows every record by its label (`RecordData::value`, unique in a run): the
//! checkers, the views and the narrative read labels. A record that came over the wire keeps
//! its key, value and headers here as well, so a consumer gets back exactly the bytes that were
//! sent. Simulated producers' records carry no payload: a real consumer reading them gets the
//! label as the value.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A record's key, value and headers as the client sent them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// `None` is a null key (Kafka's length -1), not an empty one.
    pub key: Option<Bytes>,
    /// `None` is a null value: a tombstone.
    pub value: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(Arc<str>, Option<Bytes>)>,
    /// The record's timestamp as the client set it (CreateTime, ms since the Unix epoch);
    /// the model's own `RecordData::timestamp` is the virtual time of the produce.
    pub timestamp: i64,
}

/// Bytes that serialize as text when they are UTF-8 (what most clients send: JSON, text) and
/// as `{ hex = "…" }` otherwise, so that a recorded session stays readable.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Arc<[u8]>);

impl Bytes {
    pub fn new(b: &[u8]) -> Self {
        Bytes(Arc::from(b))
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bytes as text for a view: UTF-8 as is, anything else in hex.
    pub fn lossy_text(&self) -> String {
        match std::str::from_utf8(&self.0) {
            Ok(s) => s.to_string(),
            Err(_) => hex(&self.0),
        }
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(s) => write!(f, "{s:?}"),
            Err(_) => write!(f, "0x{}", hex(&self.0)),
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Repr {
    Text(String),
    Hex { hex: String },
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(t) => Repr::Text(t.to_string()),
            Err(_) => Repr::Hex { hex: hex(&self.0) },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Text(t) => Ok(Bytes(Arc::from(t.as_bytes()))),
            Repr::Hex { hex } => {
                if hex.len() % 2 != 0 {
                    return Err(serde::de::Error::custom("hex bytes: odd number of digits"));
                }
                let mut out = Vec::with_capacity(hex.len() / 2);
                for i in (0..hex.len()).step_by(2) {
                    let byte = hex
                        .get(i..i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or_else(|| serde::de::Error::custom("hex bytes: not a hex digit"))?;
                    out.push(byte);
                }
                Ok(Bytes(Arc::from(out)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_stays_text_and_binary_goes_hex_both_ways() {
        let p = Payload {
            key: Some(Bytes::new(b"user-7")),
            value: Some(Bytes::new(&[0, 159, 146, 150])),
            headers: vec![("trace".into(), None)],
            timestamp: 1_700_000_000_000,
        };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"key":"user-7","value":{"hex":"009f9296"},"headers":[["trace",null]],"timestamp":1700000000000}"#
        );
        assert_eq!(serde_json::from_str::<Payload>(&json).unwrap(), p);
        assert!(serde_json::from_str::<Bytes>(r#"{"hex":"0g"}"#).is_err());
    }
}
