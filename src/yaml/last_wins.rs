//! YAML read as Jekyll reads it when a mapping repeats a key: the last value wins.
//!
//! The YAML library refuses a repeated key, and so does YAML 1.2, but Psych (Jekyll's reader)
//! keeps the last value, and real front matter repeats keys (translations that write `title:`
//! twice). This reads a document into the library's [`Value`] with a visitor of its own that
//! lets a later entry replace an earlier one and remembers which keys were repeated.

use std::cell::RefCell;
use std::fmt;

use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use serde_yaml::value::{Tag, TaggedValue};
use serde_yaml::{Mapping, Number, Value};

/// Reads `yaml` into a value; repeated keys keep their last value and are listed, as they are
/// written (`title`, or `{a: 1}` for a key that is not a string), in the order met.
pub fn from_str(yaml: &str) -> Result<(Value, Vec<String>), serde_yaml::Error> {
    let repeated = RefCell::new(Vec::new());
    let value = Seed(&repeated).deserialize(serde_yaml::Deserializer::from_str(yaml))?;
    Ok((value, repeated.into_inner()))
}

#[derive(Clone, Copy)]
struct Seed<'r>(&'r RefCell<Vec<String>>);

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Number(i.into()))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::Number(u.into()))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Number(Number::from(f)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut mapping = Mapping::new();
        while let Some(key) = map.next_key_seed(self)? {
            let value = map.next_value_seed(self)?;
            // Replace in place, keeping the key where it first appeared, as Ruby's Hash does.
            if let Some(old) = mapping.get_mut(&key) {
                *old = value;
                let shown = match &key {
                    Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other)
                        .map(|s| s.trim_end().to_string())
                        .unwrap_or_default(),
                };
                self.0.borrow_mut().push(shown);
            } else {
                mapping.insert(key, value);
            }
        }
        Ok(Value::Mapping(mapping))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (tag, contents): (String, _) = data.variant()?;
        let value = contents.newtype_variant_seed(self)?;
        if tag.is_empty() {
            return Ok(value);
        }
        Ok(Value::Tagged(Box::new(TaggedValue {
            tag: Tag::new(tag),
            value,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_value_wins_in_place() {
        let (value, repeated) =
            from_str("title: One\nvideo: x\ntitle: Two\nnested:\n  a: 1\n  a: 2\n").unwrap();
        let expected: Value =
            serde_yaml::from_str("title: Two\nvideo: x\nnested: {a: 2}\n").unwrap();
        assert_eq!(value, expected);
        assert_eq!(repeated, ["title", "a"]);
    }

    #[test]
    fn reads_what_the_library_reads_otherwise() {
        let yaml = "a: [1, -2, 3.5, true, ~, 'x']\nb: !custom {c: d}\n? [k]\n: v\n";
        let (value, repeated) = from_str(yaml).unwrap();
        let library: Value = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(value, library);
        assert!(repeated.is_empty());
    }
}
