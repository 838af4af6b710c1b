//! A parser for the gateway's Server-Sent Events stream
//! (`GET /api/v1/user/events`, docs/auth.md): messages are separated by a
//! blank line; each has `id:` (the cursor), `event:` (the kind, or `ready`,
//! `reset`, `session.invalidated`) and `data:` (JSON) fields; lines starting
//! with `:` are comments. Bytes are fed as they arrive, in chunks that may
//! split lines anywhere.

/// One message of the stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// The `id:` field (the push cursor), if the message had one.
    pub id: Option<String>,
    /// The `event:` field; `message` when absent (the SSE default).
    pub event: String,
    /// The `data:` lines, joined by `\n`.
    pub data: String,
}

/// Incremental parser: [`Parser::feed`] bytes, get the complete messages.
#[derive(Debug, Default)]
pub struct Parser {
    buffer: Vec<u8>,
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
}

impl Parser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; answers the messages completed by them.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Message> {
        self.buffer.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
            let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line);
            if let Some(message) = self.line(&line) {
                out.push(message);
            }
        }
        out
    }

    /// One line; a blank line completes the message being built.
    fn line(&mut self, line: &str) -> Option<Message> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "id" => self.id = Some(value.to_owned()),
            "event" => self.event = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<Message> {
        let (id, event, data) = (self.id.take(), self.event.take(), self.data.take());
        if id.is_none() && event.is_none() && data.is_none() {
            return None;
        }
        Some(Message {
            id,
            event: event.unwrap_or_else(|| "message".to_owned()),
            data: data.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = ": connected\n\
        event: ready\n\
        data: {\"session_id\":\"s\",\"user_id\":\"u\"}\n\
        \n\
        id: 00000000000000000042\n\
        event: game.turn.ready\n\
        data: {\"kind\":\"game.turn.ready\",\"cursor\":\"00000000000000000042\",\"payload\":{\"game_id\":\"g\",\"turn\":3}}\n\
        \n\
        : keep-alive\n\
        \n\
        event: session.invalidated\n\
        data: {}\n\
        \n";

    #[test]
    fn messages_are_split_on_blank_lines_and_comments_skipped() {
        let messages = Parser::new().feed(STREAM.as_bytes());
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert_eq!(messages[0].event, "ready");
        assert_eq!(messages[0].id, None);
        assert_eq!(messages[1].id.as_deref(), Some("00000000000000000042"));
        assert_eq!(messages[1].event, "game.turn.ready");
        assert!(
            messages[1]
                .data
                .starts_with("{\"kind\":\"game.turn.ready\"")
        );
        assert_eq!(messages[2].event, "session.invalidated");
    }

    #[test]
    fn chunks_may_split_lines_anywhere() {
        let mut parser = Parser::new();
        let mut messages = Vec::new();
        for chunk in STREAM.as_bytes().chunks(7) {
            messages.extend(parser.feed(chunk));
        }
        assert_eq!(messages, Parser::new().feed(STREAM.as_bytes()));
    }

    #[test]
    fn crlf_multi_line_data_and_no_space_after_the_colon() {
        let messages = Parser::new().feed(b"data:a\r\ndata: b\r\n\r\n");
        assert_eq!(
            messages,
            vec![Message {
                id: None,
                event: "message".into(),
                data: "a\nb".into(),
            }]
        );
    }

    #[test]
    fn an_unfinished_message_waits_for_its_blank_line() {
        let mut parser = Parser::new();
        assert!(parser.feed(b"event: reset\ndata: {}\n").is_empty());
        assert_eq!(parser.feed(b"\n")[0].event, "reset");
    }
}
