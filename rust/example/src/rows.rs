//! The rows fixture (`interop/rows.jsonl` and its variants): JSON lines, one row each, read with
//! serde_json, with every value already in a Rust type. Symbols and columns keep the fixture's
//! order (serde_json's `preserve_order` feature).

use serde_json::{Map, Value as Json};

/// One row of the fixture.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// names the row in clients.toml's `omit_rows`
    pub id: String,
    /// the table name, unescaped
    pub table: String,
    /// the tags, (name, value), sent before the columns
    pub symbols: Vec<(String, String)>,
    /// the fields
    pub columns: Vec<Column>,
    /// the designated timestamp; `None`: let the server assign it
    pub timestamp: Option<Time>,
    /// the same row as one ILP line, without its line end; raw examples send it. It may contain
    /// an escaped newline (a backslash, then `\n`) inside a string value. `None` when the
    /// fixture's `ilp` is null: the row has no text form (it holds an array).
    pub ilp: Option<String>,
}

/// One field of a row.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub value: Value,
    /// the fixture's `binary` flag: the value must arrive in binary form
    pub binary: bool,
}

/// A column's value, by the fixture's `type`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Integer(i64),
    /// NaN and the infinities included (the fixture writes them as strings)
    Float(f64),
    String(String),
    Boolean(bool),
    Timestamp(Time),
    Array(Array),
    Decimal(Decimal),
}

/// An instant as the fixture writes it: a number of units since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Time {
    pub value: i64,
    pub unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    Nanos,
    Micros,
    Millis,
}

/// A DOUBLE array: its shape and its values flat, in row-major order (the last index varies
/// fastest). An empty array has a 0 in its shape and no values.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

/// A DECIMAL: value = unscaled × 10^-scale. `unscaled` and `text` are strings, as in the
/// fixture: they exceed 64 bits (and 128).
#[derive(Debug, Clone, PartialEq)]
pub struct Decimal {
    pub scale: u32,
    /// the unscaled integer, in decimal digits with an optional `-`
    pub unscaled: String,
    /// the same value as the fixture writes it (`"-123.4500"`)
    pub text: String,
}

impl Decimal {
    /// The unscaled integer in big-endian two's complement, in as few bytes as hold it (its
    /// sign in the top bit of the first byte): the layout of ILP's binary DECIMAL.
    pub fn twos_complement(&self) -> Vec<u8> {
        let (negative, digits) = match self.unscaled.strip_prefix('-') {
            Some(digits) => (true, digits),
            None => (false, self.unscaled.as_str()),
        };
        // The magnitude, big-endian, with a spare zero byte in front for the sign bit.
        let mut bytes = vec![0u8];
        for digit in digits.bytes().map(|b| u32::from(b - b'0')) {
            let mut carry = digit;
            for byte in bytes.iter_mut().rev() {
                let product = u32::from(*byte) * 10 + carry;
                *byte = product as u8;
                carry = product >> 8;
            }
            if carry > 0 {
                bytes.insert(0, carry as u8);
            }
            if bytes[0] != 0 {
                bytes.insert(0, 0); // keep the spare sign byte
            }
        }
        if negative {
            // -m = !m + 1
            let mut carry = true;
            for byte in bytes.iter_mut().rev() {
                let (sum, overflow) = (!*byte).overflowing_add(u8::from(carry));
                *byte = sum;
                carry = overflow;
            }
        }
        // Drop the leading bytes that only repeat the sign.
        let sign = if negative { 0xff } else { 0x00 };
        while bytes.len() > 1 && bytes[0] == sign && (bytes[1] & 0x80 == sign & 0x80) {
            bytes.remove(0);
        }
        bytes
    }
}

/// Reads a rows fixture: JSON lines, one row each (blank lines skipped).
pub fn load(path: &str) -> Result<Vec<Row>, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("{path}: {error}"))?;
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        rows.push(parse_row(line).map_err(|error| format!("{path}:{}: {error}", index + 1))?);
    }
    if rows.is_empty() {
        return Err(format!("{path}: no rows"));
    }
    Ok(rows)
}

fn parse_row(line: &str) -> Result<Row, String> {
    let json: Json = serde_json::from_str(line).map_err(|error| error.to_string())?;
    let text = |name: &str| json.get(name).and_then(Json::as_str).unwrap_or("").to_string();
    let (id, table) = (text("id"), text("table"));
    if id.is_empty() || table.is_empty() || json.get("ilp").is_none() {
        return Err("a row needs an id, a table and its ilp (text, or null)".into());
    }
    let ilp = match &json["ilp"] {
        Json::Null => None,
        Json::String(line) => Some(line.clone()),
        _ => return Err(format!("row {id}: ilp: not a string or null")),
    };
    let mut symbols = Vec::new();
    for (name, value) in object(&json, "symbols").map_err(|error| format!("row {id}: {error}"))? {
        let value = value.as_str().ok_or_else(|| format!("row {id}: symbol {name}: not a string"))?;
        symbols.push((name.clone(), value.to_string()));
    }
    let mut columns = Vec::new();
    for (name, spec) in object(&json, "columns").map_err(|error| format!("row {id}: {error}"))? {
        let value = parse_value(spec).map_err(|error| format!("row {id}: column {name}: {error}"))?;
        let binary = spec.get("binary").and_then(Json::as_bool).unwrap_or(false);
        columns.push(Column { name: name.clone(), value, binary });
    }
    let timestamp = match json.get("timestamp") {
        None | Some(Json::Null) => None,
        Some(spec) => Some(parse_time(spec).map_err(|error| format!("row {id}: timestamp: {error}"))?),
    };
    Ok(Row { id, table, symbols, columns, timestamp, ilp })
}

fn object<'a>(json: &'a Json, name: &str) -> Result<&'a Map<String, Json>, String> {
    json.get(name).and_then(Json::as_object).ok_or_else(|| format!("{name}: not a JSON object"))
}

fn parse_value(spec: &Json) -> Result<Value, String> {
    let value = &spec["value"];
    let kind = spec.get("type").and_then(Json::as_str).unwrap_or("");
    let wrong = || format!("{kind} value {value}: not of its type");
    Ok(match kind {
        // serde_json keeps an integer literal exact up to the i64 extremes.
        "integer" => Value::Integer(value.as_i64().ok_or_else(wrong)?),
        "float" => Value::Float(float(value)?),
        "string" => Value::String(value.as_str().ok_or_else(wrong)?.to_string()),
        "boolean" => Value::Boolean(value.as_bool().ok_or_else(wrong)?),
        "timestamp" => Value::Timestamp(parse_time(spec)?),
        "array" => {
            let shape: Vec<usize> = match &spec["shape"] {
                Json::Array(dims) => dims.iter().map(|d| d.as_u64().map(|d| d as usize)).collect::<Option<_>>(),
                _ => None,
            }
            .ok_or_else(|| {
                "shape: a list of sizes expected (a NULL array is not sent by these examples)".to_string()
            })?;
            let mut values = Vec::new();
            flatten(value, &shape, &mut values)?;
            Value::Array(Array { shape, values })
        }
        "decimal" => {
            let unscaled = spec["unscaled"].as_str().unwrap_or("");
            let digits = unscaled.strip_prefix('-').unwrap_or(unscaled);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "unscaled {unscaled:?}: an integer expected (a NULL decimal is not sent by these examples)"
                ));
            }
            let scale = spec["scale"].as_u64().filter(|&s| s <= 76).ok_or("scale: 0 to 76 expected")? as u32;
            Value::Decimal(Decimal {
                scale,
                unscaled: unscaled.to_string(),
                text: value.as_str().ok_or_else(wrong)?.to_string(),
            })
        }
        other => return Err(format!("unknown type {other:?}")),
    })
}

/// A float: a JSON number, or one of the strings "NaN", "Infinity", "-Infinity" (JSON has no
/// literal for them).
fn float(value: &Json) -> Result<f64, String> {
    match value {
        Json::String(text) if text == "NaN" => Ok(f64::NAN),
        Json::String(text) if text == "Infinity" => Ok(f64::INFINITY),
        Json::String(text) if text == "-Infinity" => Ok(f64::NEG_INFINITY),
        _ => value.as_f64().ok_or_else(|| format!("{value} is not a number")),
    }
}

/// Appends the values of a nested JSON array of the given shape to `out`, in row-major order,
/// and checks that every level has its dimension's length.
fn flatten(value: &Json, shape: &[usize], out: &mut Vec<f64>) -> Result<(), String> {
    let Some((&length, inner)) = shape.split_first() else {
        out.push(float(value)?);
        return Ok(());
    };
    let items = value.as_array().ok_or_else(|| format!("{value}: a list expected"))?;
    if items.is_empty() && shape.contains(&0) {
        return Ok(()); // an empty array is written [] whatever its shape
    }
    if items.len() != length {
        return Err(format!("{} values where the shape says {length}", items.len()));
    }
    items.iter().try_for_each(|item| flatten(item, inner, out))
}

fn parse_time(spec: &Json) -> Result<Time, String> {
    let value = spec["value"].as_i64().ok_or_else(|| format!("value {}: an integer expected", spec["value"]))?;
    let unit = match spec.get("unit").and_then(Json::as_str) {
        Some("ns") => Unit::Nanos,
        Some("us") => Unit::Micros,
        Some("ms") => Unit::Millis,
        other => return Err(format!("unknown unit {other:?}")),
    };
    Ok(Time { value, unit })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decimal(unscaled: &str) -> Vec<u8> {
        Decimal { scale: 0, unscaled: unscaled.into(), text: String::new() }.twos_complement()
    }

    #[test]
    fn decimals_in_minimal_twos_complement() {
        assert_eq!(decimal("0"), [0x00]);
        assert_eq!(decimal("127"), [0x7f]);
        assert_eq!(decimal("128"), [0x00, 0x80]);
        assert_eq!(decimal("-128"), [0x80]);
        assert_eq!(decimal("-129"), [0xff, 0x7f]);
        assert_eq!(decimal("-1"), [0xff]);
        assert_eq!(decimal("-1234500"), (-1234500i32).to_be_bytes()[1..]);
        let wide = "-123456789012345678901234567890123456789";
        let expected = wide.parse::<i128>().unwrap().to_be_bytes();
        assert_eq!(decimal(wide), expected);
    }

    #[test]
    fn rows_keep_their_order_and_types() {
        let line =
            r#"{"id": "r", "table": "t", "symbols": {"z": "1", "a": "2"}, "timestamp": null, "ilp": null, "columns": {
            "n": {"type": "float", "value": "NaN", "binary": true},
            "m": {"type": "array", "element": "double", "shape": [2, 2], "value": [[1.0, 2.0], [3.0, "-Infinity"]]},
            "e": {"type": "array", "element": "double", "shape": [2, 0], "value": []},
            "i": {"type": "integer", "value": -9223372036854775808},
            "f": {"type": "float", "value": -1.5e-300}}}"#
                .replace('\n', "");
        let row = parse_row(&line).unwrap();
        assert_eq!(row.symbols, [("z".into(), "1".into()), ("a".into(), "2".into())]);
        let names: Vec<&str> = row.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["n", "m", "e", "i", "f"]);
        assert!(matches!(row.columns[0].value, Value::Float(v) if v.is_nan()) && row.columns[0].binary);
        let Value::Array(array) = &row.columns[1].value else { panic!() };
        assert_eq!(array.shape, [2, 2]);
        assert_eq!(array.values[..3], [1.0, 2.0, 3.0]);
        assert_eq!(array.values[3], f64::NEG_INFINITY);
        assert_eq!(row.columns[2].value, Value::Array(Array { shape: vec![2, 0], values: vec![] }));
        assert_eq!(row.columns[3].value, Value::Integer(i64::MIN));
        assert_eq!(row.columns[4].value, Value::Float(-1.5e-300));
        assert_eq!((row.timestamp, row.ilp), (None, None));
        let ragged = line.replace(r#"[[1.0, 2.0], [3.0, "-Infinity"]]"#, "[[1.0, 2.0], [3.0]]");
        assert!(parse_row(&ragged).is_err());
    }
}
