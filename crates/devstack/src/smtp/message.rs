//! A message as the server received it: the SMTP envelope plus the raw
//! RFC 5322 bytes, with helpers that decode headers and the text body.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, PartType};

/// One message accepted by the server (a `250` after `DATA`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// Envelope sender (`MAIL FROM`), without angle brackets.
    pub from: String,
    /// Envelope recipients (`RCPT TO`), in order, without angle brackets.
    pub to: Vec<String>,
    /// The message exactly as transferred after `DATA` (dot-unstuffed,
    /// CRLF line endings, without the final `.` line).
    pub data: Vec<u8>,
    /// When the server accepted the message.
    pub received_at: DateTime<Utc>,
    /// Whether the transaction ran over TLS (STARTTLS or implicit).
    pub tls: bool,
    /// The user name the client authenticated as, if it did.
    pub authenticated_as: Option<String>,
}

impl ReceivedMessage {
    /// The decoded value of the first header called `name` (case-insensitive):
    /// RFC 2047 encoded words are decoded for unstructured headers such as
    /// `Subject`; other headers come back unfolded and trimmed.
    pub fn header(&self, name: &str) -> Option<String> {
        let message = MessageParser::default().parse(&self.data)?;
        if let Some(text) = message.header(name)?.as_text() {
            return Some(unfold(text));
        }
        message.header_raw(name).map(unfold)
    }

    /// The decoded `Subject`.
    pub fn subject(&self) -> Option<String> {
        self.header("Subject")
    }

    /// The first text body (the `text/plain` part of a multipart message),
    /// with its transfer encoding and charset decoded and `\n` line ends.
    pub fn body_text(&self) -> Option<String> {
        let message = MessageParser::default().parse(&self.data)?;
        message.body_text(0).map(|text| text.replace("\r\n", "\n"))
    }

    /// The first HTML body, if the message has one.
    pub fn body_html(&self) -> Option<String> {
        let message = MessageParser::default().parse(&self.data)?;
        // mail-parser synthesises HTML from text when there is no HTML part;
        // only report a real one.
        match &message.html_part(0)?.body {
            PartType::Html(html) => Some(html.clone().into_owned()),
            _ => None,
        }
    }

    /// The raw message as (lossy) UTF-8, for diagnostics.
    pub fn raw_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.data)
    }
}

/// Joins folded header lines (RFC 5322 §2.2.3) and trims the result.
fn unfold(raw: &str) -> String {
    raw.replace("\r\n", "").replace('\n', "").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(raw: &str) -> ReceivedMessage {
        ReceivedMessage {
            from: "a@example.com".into(),
            to: vec!["b@example.com".into()],
            data: raw.replace('\n', "\r\n").into_bytes(),
            received_at: Utc::now(),
            tls: false,
            authenticated_as: None,
        }
    }

    #[test]
    fn header_lookup_is_case_insensitive_and_decodes_encoded_words() {
        let m = message(
            "From: Galaxy <galaxy@localhost>\nSubject: =?utf-8?b?4pi6?= code\nX-Custom: one\n two\n\nhello\n",
        );
        assert_eq!(m.header("subject").as_deref(), Some("☺ code"));
        assert_eq!(m.header("x-custom").as_deref(), Some("one two"));
        assert_eq!(
            m.header("From").as_deref(),
            Some("Galaxy <galaxy@localhost>")
        );
        assert_eq!(m.header("Missing"), None);
    }

    #[test]
    fn body_text_decodes_quoted_printable_and_picks_the_text_part() {
        let m = message(concat!(
            "Subject: x\n",
            "MIME-Version: 1.0\n",
            "Content-Type: multipart/alternative; boundary=\"b\"\n",
            "\n",
            "--b\n",
            "Content-Type: text/plain; charset=utf-8\n",
            "Content-Transfer-Encoding: quoted-printable\n",
            "\n",
            "Your code is 123456 =E2=98=BA\n",
            "--b\n",
            "Content-Type: text/html; charset=utf-8\n",
            "\n",
            "<p>Your code is <b>123456</b></p>\n",
            "--b--\n",
        ));
        assert_eq!(m.body_text().unwrap().trim_end(), "Your code is 123456 ☺");
        assert!(m.body_html().unwrap().contains("<b>123456</b>"));
    }

    #[test]
    fn a_plain_text_message_has_no_html_body() {
        let m = message("Subject: x\n\nplain\n");
        assert_eq!(m.body_text().unwrap().trim_end(), "plain");
        assert_eq!(m.body_html(), None);
    }
}
