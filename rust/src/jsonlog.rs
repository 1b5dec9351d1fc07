//! JSON-lines logs: a line that is a JSON object is scored on its message field.
//!
//! Structured loggers (bunyan, pino, zap, logrus, structlog, Docker's json-file) write
//! `{"time":…,"level":"error","msg":"connection refused",…}`: scored whole, the model
//! would read field names and timestamps, identical on every line, not the message.
//! So the *scored text* of such a line is `"<level> <message>"`: the message field
//! (the first of `fields` present as a string), preceded by the level field's value
//! so the level words the model and `look_floor` read stay a feature. Any other line,
//! or an object without a message field, is scored as it is. The row still shows the
//! line as written. Python's twin (the numpy reference) is `lookskip.classify.jsonlog`.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// Message fields, first present wins (Python: `jsonlog.JSON_FIELDS`).
pub const DEFAULT_JSON_FIELDS: [&str; 3] = ["msg", "message", "log"];
/// Level fields, first present wins (Python: `jsonlog.LEVEL_FIELDS`).
pub const LEVEL_FIELDS: [&str; 5] = ["level", "severity", "lvl", "levelname", "loglevel"];

/// Which fields a JSON line's message is read from; empty: JSON lines are not parsed.
#[derive(Clone, Debug)]
pub struct JsonFields {
    pub fields: Vec<String>,
}

impl Default for JsonFields {
    fn default() -> Self {
        Self {
            fields: DEFAULT_JSON_FIELDS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl JsonFields {
    pub fn new(fields: Vec<String>) -> Self {
        Self { fields }
    }

    /// The text the model scores for `line`: `"<level> <message>"` of a JSON object
    /// line with a string message field, else the line itself.
    pub fn scored_text<'a>(&self, line: &'a str) -> Cow<'a, str> {
        if self.fields.is_empty() {
            return Cow::Borrowed(line);
        }
        let trimmed = line.trim_start_matches([' ', '\t']);
        if !trimmed.starts_with('{') {
            return Cow::Borrowed(line);
        }
        let Ok(obj) = serde_json::from_str::<Map<String, Value>>(trimmed) else {
            return Cow::Borrowed(line);
        };
        let Some(msg) = self
            .fields
            .iter()
            .find_map(|f| obj.get(f.as_str()).and_then(Value::as_str))
        else {
            return Cow::Borrowed(line);
        };
        let msg = msg.trim_end_matches(['\n', '\r']);
        match LEVEL_FIELDS
            .iter()
            .find_map(|f| obj.get(*f).and_then(Value::as_str))
        {
            Some(level) => Cow::Owned(format!("{level} {msg}")),
            None => Cow::Owned(msg.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_scored_on_level_and_message() {
        let j = JsonFields::default();
        let line = r#"{"ts":"2024-05-01T10:00:00Z","level":"error","msg":"disk full","pid":7}"#;
        assert_eq!(j.scored_text(line), "error disk full");
        assert_eq!(
            j.scored_text(r#"{"log":"GET / 200\n","stream":"stdout"}"#),
            "GET / 200"
        );
        assert_eq!(
            j.scored_text(r#"{"message":"m","severity":"WARN"}"#),
            "WARN m"
        );
        // not an object, no message field, a non-string message, invalid JSON: as is
        for raw in [
            r#"plain {"msg":"x"}"#,
            r#"{"a":1}"#,
            r#"{"msg":3}"#,
            "{broken",
        ] {
            assert_eq!(j.scored_text(raw), raw);
        }
        let custom = JsonFields::new(vec!["text".into()]);
        assert_eq!(custom.scored_text(r#"{"text":"t","msg":"m"}"#), "t");
        assert_eq!(JsonFields::new(vec![]).scored_text(line), line);
    }
}
