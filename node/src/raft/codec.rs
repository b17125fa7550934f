//! The one encoding of everything qraft writes to disk or sends between peers: a version byte,
//! then MessagePack with named fields, so records written today are read by the next release
//! (new fields carry `#[serde(default)]`; a new encoding gets a new version byte).

use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;

const VERSION_MSGPACK_NAMED: u8 = 1;

pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, io::Error> {
    let mut out = Vec::with_capacity(128);
    out.push(VERSION_MSGPACK_NAMED);
    rmp_serde::encode::write_named(&mut out, value)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("encode: {e}")))?;
    Ok(out)
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, io::Error> {
    match bytes.split_first() {
        Some((&VERSION_MSGPACK_NAMED, body)) => rmp_serde::from_slice(body)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("decode: {e}"))),
        Some((version, _)) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unknown encoding version {version}: written by a newer qraft?"),
        )),
        None => Err(io::Error::new(io::ErrorKind::InvalidData, "empty record")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_version_checks() {
        let value = (7u64, "x".to_string(), vec![1u8, 2, 3]);
        let bytes = encode(&value).expect("encode");
        assert_eq!(bytes[0], VERSION_MSGPACK_NAMED);
        let back: (u64, String, Vec<u8>) = decode(&bytes).expect("decode");
        assert_eq!(back, value);

        let mut future = bytes.clone();
        future[0] = 99;
        assert!(decode::<(u64, String, Vec<u8>)>(&future).is_err());
        assert!(decode::<u64>(&[]).is_err());
        assert!(decode::<u64>(&[VERSION_MSGPACK_NAMED, 0xc1]).is_err());
    }
}
