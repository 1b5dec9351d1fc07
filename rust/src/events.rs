//! Whole events: continuation lines join the event of the line they continue.
//!
//! A Java exception is one log line followed by `\tat …` frames, `Caused by: …` and
//! `... 12 more`; a Python one by `Traceback (most recent call last):`, indented
//! `File …` lines and the exception line. Read line by line, the frames are noise and
//! the head line loses its context; read as one event, a person sees the whole trace.
//!
//! The rule is data (`EventSpec`: the model file's optional `events` field, defaulting
//! to `DEFAULT_EVENT_RULE`, twin of Python's `lookskip.classify.events.EVENT_RULE`):
//! a line continues the current event when it matches `continuation` (indented, stack
//! frames, `Caused by:`, `Traceback`), or when it has no timestamp (`timestamp`
//! searched in its first `head_bytes` bytes) while the event's head line has one.
//! An event holds at most `max_lines` lines, so a file whose only timestamp is on
//! its first line does not become one event.

use regex_automata::meta::Regex;
use regex_automata::Input;
use serde::Deserialize;

use crate::error::Result;

/// `(continuation, timestamp, head_bytes, max_lines)` of the shipped rule.
pub const DEFAULT_EVENT_RULE: (&str, &str, usize, usize) = (
    r"^(?:[ \t]+\S|at [\w$.<>/]+\(|Caused by: |Suppressed: |\.\.\. \d+ (?:more|common frames omitted)|Traceback \(most recent call last\):|During handling of the above exception|The above exception was the direct cause)",
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d|\d{4}/\d\d/\d\d[T ]\d\d:\d\d|\d\d/\d\d/\d\d \d\d:\d\d:\d\d|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d|\d\d/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d\d:\d\d|\b\d\d-\d\d \d\d:\d\d:\d\d|\b\d{6} \d{6}\b|\b\d{8}-\d\d:\d\d:\d\d|\b1\d{9}(?:\.\d+)?\b|\b\d\d:\d\d:\d\d",
    64,
    200,
);

/// The events rule as written in the model file.
#[derive(Debug, Clone, Deserialize)]
pub struct EventSpec {
    pub continuation: String,
    pub timestamp: String,
    pub head_bytes: usize,
    pub max_lines: usize,
}

impl Default for EventSpec {
    fn default() -> Self {
        let (c, t, h, m) = DEFAULT_EVENT_RULE;
        Self {
            continuation: c.into(),
            timestamp: t.into(),
            head_bytes: h,
            max_lines: m,
        }
    }
}

/// The compiled rule.
pub struct EventRule {
    continuation: Regex,
    timestamp: Regex,
    pub head_bytes: usize,
    pub max_lines: usize,
}

impl EventRule {
    pub fn new(spec: &EventSpec) -> Result<Self> {
        Ok(Self {
            continuation: crate::rx::compile("events.continuation", &spec.continuation)?,
            timestamp: crate::rx::compile("events.timestamp", &spec.timestamp)?,
            head_bytes: spec.head_bytes.max(1),
            max_lines: spec.max_lines.max(1),
        })
    }

    /// A timestamp within the line's first `head_bytes` bytes.
    pub fn has_timestamp(&self, line: &[u8]) -> bool {
        let head = &line[..line.len().min(self.head_bytes)];
        self.timestamp.is_match(Input::new(head))
    }

    /// Whether `line` continues an event whose head line has a timestamp or not.
    pub fn continues(&self, line: &[u8], head_has_timestamp: bool) -> bool {
        self.continuation.is_match(line) || (head_has_timestamp && !self.has_timestamp(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(lines: &[&str]) -> Vec<(usize, usize)> {
        let rule = EventRule::new(&EventSpec::default()).unwrap();
        let mut out: Vec<(usize, usize)> = Vec::new();
        let mut head_ts = false;
        for (i, l) in lines.iter().enumerate() {
            let n = i + 1;
            match out.last_mut() {
                Some(last) if rule.continues(l.as_bytes(), head_ts) => last.1 = n,
                _ => {
                    head_ts = rule.has_timestamp(l.as_bytes());
                    out.push((n, n));
                }
            }
        }
        out
    }

    #[test]
    fn java_and_python_traces_are_one_event() {
        let java = [
            "2024-05-01 10:00:00,123 ERROR [main] c.a.Service - request failed",
            "java.lang.IllegalStateException: pool exhausted",
            "\tat com.acme.Pool.get(Pool.java:42)",
            "\tat com.acme.Service.handle(Service.java:7)",
            "Caused by: java.net.SocketTimeoutException: Read timed out",
            "\t... 12 more",
            "2024-05-01 10:00:01,000 INFO [main] c.a.Service - next",
        ];
        assert_eq!(spans(&java), vec![(1, 6), (7, 7)]);
        let python = [
            "2024-05-01T10:00:00Z ERROR worker: task failed",
            "Traceback (most recent call last):",
            "  File \"/app/w.py\", line 3, in run",
            "    x = 1 / 0",
            "ZeroDivisionError: division by zero",
            "2024-05-01T10:00:02Z INFO worker: idle",
        ];
        assert_eq!(spans(&python), vec![(1, 5), (6, 6)]);
        // without timestamps only the continuation shapes join
        let bare = [
            "error here",
            "  indented",
            "next line",
            "at a.B.c(B.java:1)",
        ];
        assert_eq!(spans(&bare), vec![(1, 2), (3, 4)]);
        for ts in [
            "Jun 14 15:16:01 host sshd[1]: x",
            "17/06/09 20:10:40 INFO x",
            "081109 203615 148 INFO x",
            "03-17 16:13:38.811  1702 E x",
            "20171223-22:15:29:606|Step|x",
            "1117838570 node x",
            "[Sun Dec 04 04:47:44 2005] [error] x",
        ] {
            let rule = EventRule::new(&EventSpec::default()).unwrap();
            assert!(rule.has_timestamp(ts.as_bytes()), "{ts}");
        }
    }
}
