//! Mail templates, in English, compiled into the binary: one file per
//! template id under `mail/templates/`, a `Subject:` line, a `---` line, then
//! the plain-text body. `{{name}}` placeholders are filled from the
//! template's data; rendering fails on an unknown or unfilled placeholder, and
//! a unit test renders every template.
//!
//! Adding a template: a file, a [`Template`] variant with its data, and the
//! two arms in [`Template::id`] and [`Template::render`].

use std::time::Duration;

/// Rendered message content, stored in `mail_payloads`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
}

/// A template together with the data it is rendered from.
#[derive(Debug, Clone)]
pub enum Template {
    /// `auth.login_code`: the one-time code of an email login challenge.
    LoginCode {
        code: String,
        /// How long the code stays valid (shown in whole minutes, at least one).
        ttl: Duration,
    },
    /// A notification kind's email (`notification` domain). The template id
    /// is the kind (a key of [`NOTIFICATION_SOURCES`]); `values` fill its
    /// placeholders (the intent's payload fields).
    Notification {
        kind: &'static str,
        values: Vec<(String, String)>,
    },
}

/// `mail_deliveries.template_id` of [`Template::LoginCode`].
pub const LOGIN_CODE: &str = "auth.login_code";

const LOGIN_CODE_SOURCE: &str = include_str!("templates/auth.login_code.txt");

macro_rules! notification_template {
    ($kind:literal) => {
        ($kind, include_str!(concat!("templates/", $kind, ".txt")))
    };
}

/// The emails of the notification catalog, keyed by kind.
pub const NOTIFICATION_SOURCES: &[(&str, &str)] = &[
    notification_template!("lobby.invite.received"),
    notification_template!("lobby.application.approved"),
    notification_template!("lobby.application.rejected"),
    notification_template!("lobby.membership.removed"),
    notification_template!("lobby.membership.blocked"),
    notification_template!("lobby.race_name.pending"),
    notification_template!("runtime.image_pull_failed"),
    notification_template!("runtime.container_start_failed"),
    notification_template!("runtime.start_config_invalid"),
    notification_template!("game.turn.reminder"),
    notification_template!("game.race.dropped"),
    notification_template!("game.finished"),
    notification_template!("game.generation.failed"),
];

/// Every template id with its source, for tests and documentation.
pub fn sources() -> impl Iterator<Item = (&'static str, &'static str)> {
    std::iter::once((LOGIN_CODE, LOGIN_CODE_SOURCE)).chain(NOTIFICATION_SOURCES.iter().copied())
}

/// The `(template id, source)` of a notification kind's email.
pub fn notification_source(kind: &str) -> Option<(&'static str, &'static str)> {
    NOTIFICATION_SOURCES
        .iter()
        .copied()
        .find(|(id, _)| *id == kind)
}

/// A template source that does not fit its data.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("template {template}: missing `Subject:` line or `---` separator")]
    Malformed { template: &'static str },
    #[error("template {template}: placeholder `{{{{{name}}}}}` has no value")]
    UnknownPlaceholder {
        template: &'static str,
        name: String,
    },
    #[error("template {template}: unterminated placeholder")]
    Unterminated { template: &'static str },
    #[error("no mail template for {template}")]
    Unknown { template: &'static str },
}

impl Template {
    /// The template id stored with the delivery.
    pub fn id(&self) -> &'static str {
        match self {
            Self::LoginCode { .. } => LOGIN_CODE,
            Self::Notification { kind, .. } => kind,
        }
    }

    pub fn render(&self) -> Result<Rendered, TemplateError> {
        match self {
            Self::LoginCode { code, ttl } => {
                let minutes = (ttl.as_secs() / 60).max(1);
                let ttl = if minutes == 1 {
                    "1 minute".to_owned()
                } else {
                    format!("{minutes} minutes")
                };
                render(
                    LOGIN_CODE,
                    LOGIN_CODE_SOURCE,
                    &[("code", code), ("ttl", &ttl)],
                )
            }
            Self::Notification { kind, values } => {
                let (id, source) =
                    notification_source(kind).ok_or(TemplateError::Unknown { template: kind })?;
                let values: Vec<(&str, &str)> = values
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                render(id, source, &values)
            }
        }
    }
}

/// Splits `source` into subject and body and fills the placeholders.
pub fn render(
    template: &'static str,
    source: &str,
    values: &[(&str, &str)],
) -> Result<Rendered, TemplateError> {
    let malformed = || TemplateError::Malformed { template };
    let (head, body) = source.split_once("\n---\n").ok_or_else(malformed)?;
    let subject = head
        .trim()
        .strip_prefix("Subject:")
        .ok_or_else(malformed)?
        .trim();
    let subject = fill(template, subject, values)?;
    // Mail bodies use CRLF line ends on the wire; lettre normalises them.
    let text_body = fill(template, body, values)?;
    Ok(Rendered {
        subject,
        text_body,
        html_body: None,
    })
}

fn fill(
    template: &'static str,
    text: &str,
    values: &[(&str, &str)],
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or(TemplateError::Unterminated { template })?;
        let name = after[..end].trim();
        let value = values
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
            .ok_or_else(|| TemplateError::UnknownPlaceholder {
                template,
                name: name.to_owned(),
            })?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_code_renders_the_code_and_the_lifetime_in_minutes() {
        let rendered = Template::LoginCode {
            code: "123456".into(),
            ttl: Duration::from_secs(600),
        }
        .render()
        .unwrap();
        assert_eq!(rendered.subject, "Your Galaxy login code");
        assert!(
            rendered
                .text_body
                .contains("Your Galaxy login code is 123456"),
            "{}",
            rendered.text_body
        );
        assert!(
            rendered.text_body.contains("expires in 10 minutes"),
            "{}",
            rendered.text_body
        );
        assert!(!rendered.text_body.contains("{{"));
        assert!(rendered.text_body.is_ascii(), "templates are English");
    }

    #[test]
    fn a_lifetime_under_a_minute_is_shown_as_one_minute() {
        let rendered = Template::LoginCode {
            code: "1".into(),
            ttl: Duration::from_secs(20),
        }
        .render()
        .unwrap();
        assert!(
            rendered.text_body.contains("expires in 1 minute and"),
            "{}",
            rendered.text_body
        );
    }

    #[test]
    fn every_template_has_a_subject_and_a_body() {
        for (id, source) in sources() {
            let (head, body) = source
                .split_once("\n---\n")
                .unwrap_or_else(|| panic!("{id}: no separator"));
            assert!(head.starts_with("Subject: "), "{id}");
            assert!(!body.trim().is_empty(), "{id}");
        }
    }

    #[test]
    fn an_unknown_placeholder_is_an_error_not_an_empty_string() {
        let err = render("t", "Subject: Hi {{who}}\n---\nbody\n", &[]).unwrap_err();
        assert_eq!(
            err,
            TemplateError::UnknownPlaceholder {
                template: "t",
                name: "who".into()
            }
        );
        assert_eq!(
            render("t", "Subject: x\n---\n{{open\n", &[]).unwrap_err(),
            TemplateError::Unterminated { template: "t" }
        );
        assert_eq!(
            render("t", "no separator", &[]).unwrap_err(),
            TemplateError::Malformed { template: "t" }
        );
    }
}
