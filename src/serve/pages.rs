//! The service's pages and mails, from Handlebars templates: the built-in ones in
//! `templates/serve/`, each replaceable by a file of the same name in the `serve/` folder of
//! the site's `digest.templates` folder. Pages are HTML with every value escaped; mails are
//! plain text.
//!
//! Templates see `lang` (the page's language), `site` (`title`, `url`), `heading`, and `t`: the
//! texts in the site's language (`lang: zh…` gives Chinese, anything else English), so that a
//! site can change the markup and keep the translations, or write its own words.

use std::path::{Path, PathBuf};

use handlebars::Handlebars;
use serde_json::{json, Map, Value};

/// A template of the service, by the file it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// `layout.html.hbs`: the frame of every page (a partial block, `{{> @partial-block}}`).
    Layout,
    /// `subscribe.html.hbs`: the sign-up form.
    Subscribe,
    /// `message.html.hbs`: a heading, paragraphs and a link (every outcome page).
    Message,
    /// `unsubscribe.html.hbs`: the one button that unsubscribes.
    Unsubscribe,
    /// `preferences.html.hbs`: categories to choose, and a button to leave.
    Preferences,
    /// `confirm-mail.txt.hbs`: the body of the confirmation mail.
    ConfirmMail,
    /// `preferences-mail.txt.hbs`: the body of the mail sent to an address that signs up again.
    PreferencesMail,
}

impl Template {
    /// Every template.
    pub const ALL: [Template; 7] = [
        Template::Layout,
        Template::Subscribe,
        Template::Message,
        Template::Unsubscribe,
        Template::Preferences,
        Template::ConfirmMail,
        Template::PreferencesMail,
    ];

    /// The template's file name.
    pub fn file(self) -> &'static str {
        match self {
            Template::Layout => "layout.html.hbs",
            Template::Subscribe => "subscribe.html.hbs",
            Template::Message => "message.html.hbs",
            Template::Unsubscribe => "unsubscribe.html.hbs",
            Template::Preferences => "preferences.html.hbs",
            Template::ConfirmMail => "confirm-mail.txt.hbs",
            Template::PreferencesMail => "preferences-mail.txt.hbs",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Template::Layout => "layout",
            Template::Subscribe => "subscribe",
            Template::Message => "message",
            Template::Unsubscribe => "unsubscribe",
            Template::Preferences => "preferences",
            Template::ConfirmMail => "confirm-mail",
            Template::PreferencesMail => "preferences-mail",
        }
    }

    fn built_in(self) -> &'static str {
        match self {
            Template::Layout => include_str!("../../templates/serve/layout.html.hbs"),
            Template::Subscribe => include_str!("../../templates/serve/subscribe.html.hbs"),
            Template::Message => include_str!("../../templates/serve/message.html.hbs"),
            Template::Unsubscribe => include_str!("../../templates/serve/unsubscribe.html.hbs"),
            Template::Preferences => include_str!("../../templates/serve/preferences.html.hbs"),
            Template::ConfirmMail => include_str!("../../templates/serve/confirm-mail.txt.hbs"),
            Template::PreferencesMail => {
                include_str!("../../templates/serve/preferences-mail.txt.hbs")
            }
        }
    }

    fn is_text(self) -> bool {
        matches!(self, Template::ConfirmMail | Template::PreferencesMail)
    }
}

/// The language of the pages and mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// The language for the site's `lang`: Chinese for `zh…`, else English.
    pub fn of(site_lang: Option<&str>) -> Lang {
        match site_lang {
            Some(l) if l.trim().to_ascii_lowercase().starts_with("zh") => Lang::Zh,
            _ => Lang::En,
        }
    }

    /// The `lang` attribute of the pages.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }
}

/// Every text of the pages and mails: key, English, Chinese. `{site}`, `{hours}` and `{days}`
/// are filled in.
const TEXTS: &[(&str, &str, &str)] = &[
    ("subscribe_heading", "Subscribe to the weekly digest", "订阅每周摘要"),
    ("subscribe_intro", "Once a week, the new posts of {site} in one email. We first send you a link to confirm; nothing else comes before you open it.", "每周一封邮件，汇总{site}的新文章。我们会先发送一个确认链接；打开之前，您不会收到任何其他邮件。"),
    ("address", "Email address", "电子邮件地址"),
    ("name", "Name (optional)", "称呼（可选）"),
    ("categories", "Categories", "栏目"),
    ("categories_hint", "Choose none to get every category.", "不选则接收全部栏目。"),
    ("subscribe_button", "Subscribe", "订阅"),
    ("check_heading", "Check your mail", "请查收邮件"),
    ("check_body", "If this address can get the digest, a message is on its way to it with a link to confirm the subscription (or, if it is subscribed already, a link to its preferences). The link works for {hours} hours.", "如果该地址可以接收摘要，一封邮件正在发往该地址，内含确认订阅的链接（如已订阅，则为修改订阅设置的链接）。链接在 {hours} 小时内有效。"),
    ("back", "Back to the site", "返回网站"),
    ("confirmed_heading", "You are subscribed", "订阅成功"),
    ("confirmed_body", "The next weekly digest of {site} comes to your inbox.", "下一期{site}每周摘要将发送到您的邮箱。"),
    ("preferences_link", "Change your categories", "修改订阅栏目"),
    ("unsubscribe_heading", "Unsubscribe", "退订"),
    ("unsubscribe_intro", "Press the button, and the weekly digest of {site} no longer comes to this address:", "点击下方按钮后，此地址将不再收到{site}的每周摘要："),
    ("unsubscribe_button", "Unsubscribe", "退订"),
    ("unsubscribe_preferences", "Or change which categories you get", "或者修改接收的栏目"),
    ("unsubscribed_heading", "You are unsubscribed", "已退订"),
    ("unsubscribed_body", "No more digests go to this address. You can subscribe again at any time.", "此地址将不再收到摘要。您可以随时重新订阅。"),
    ("subscribe_again", "Subscribe again", "重新订阅"),
    ("preferences_heading", "Your subscription", "您的订阅"),
    ("preferences_save", "Save", "保存"),
    ("preferences_leave", "Unsubscribe from the digest", "退订摘要"),
    ("saved_heading", "Saved", "已保存"),
    ("saved_body", "Your categories are saved; the next digest follows them.", "您的栏目设置已保存，下一期摘要将按此发送。"),
    ("not_subscribed_heading", "Not subscribed", "未订阅"),
    ("not_subscribed_body", "This address does not get the digest now.", "此地址目前没有订阅摘要。"),
    ("error_heading", "That did not work", "操作未成功"),
    ("error_link", "This link is not valid: it was changed, or it does not come from us.", "此链接无效：链接已被修改，或并非由我们发出。"),
    ("error_expired", "This link has expired. Sign up again to get a new one.", "此链接已过期。请重新订阅以获取新链接。"),
    ("error_used", "This link was used already, or a newer one replaced it.", "此链接已使用过，或已被更新的链接取代。"),
    ("error_form", "The form could not be read.", "无法读取表单。"),
    ("error_one_click", "An unsubscribe request must say List-Unsubscribe=One-Click.", "退订请求必须包含 List-Unsubscribe=One-Click。"),
    ("error_limited", "Too many requests. Please try again later.", "请求过多，请稍后再试。"),
    ("error_not_found", "There is no such page.", "没有这个页面。"),
    ("error_method", "This page cannot be used that way.", "不能以这种方式使用此页面。"),
    ("error_too_large", "The request is too large.", "请求过大。"),
    ("error_timeout", "The request took too long.", "请求超时。"),
    ("error_unavailable", "This cannot be done right now. Please try again later.", "暂时无法完成此操作，请稍后再试。"),
    ("field_missing", "Please fill this in.", "请填写此项。"),
    ("field_repeated", "This was given more than once.", "此项填写了多次。"),
    ("field_too_long", "This is too long.", "内容过长。"),
    ("field_forbidden", "This contains a character that is not allowed.", "包含不允许的字符。"),
    ("field_invalid_address", "This is not an email address the digest can be sent to.", "这不是可以接收摘要的电子邮件地址。"),
    ("field_unknown_category", "This site has no such category.", "本站没有这个栏目。"),
    ("confirm_subject", "Confirm your subscription to {site}", "请确认订阅{site}"),
    ("confirm_mail", "Someone (we hope you) asked for the weekly digest of {site} at this address. Open this link to confirm:", "有人（希望是您本人）请求用此地址订阅{site}的每周摘要。请打开以下链接确认："),
    ("mail_expiry", "The link works for {hours} hours.", "链接在 {hours} 小时内有效。"),
    ("mail_ignore", "If it was not you, ignore this mail: nothing is sent to you unless the link is opened.", "如果不是您本人操作，请忽略此邮件：除非打开链接，否则您不会收到任何邮件。"),
    ("preferences_subject", "Your subscription to {site}", "您对{site}的订阅"),
    ("preferences_mail", "Someone (we hope you) asked for the weekly digest of {site} at this address, which gets it already. To change your categories or unsubscribe, open this link (it works for {days} days):", "有人（希望是您本人）请求用此地址订阅{site}的每周摘要，而此地址已经订阅。如需修改栏目或退订，请打开以下链接（{days} 天内有效）："),
    ("mail_ignore_known", "If it was not you, ignore this mail: nothing changes.", "如果不是您本人操作，请忽略此邮件：订阅不会有任何改变。"),
];

/// Why the templates cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PagesError {
    /// A site's template could not be read.
    #[error("reading the template {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A template is not valid Handlebars.
    #[error("the template {file} is not valid Handlebars: {reason}")]
    Syntax {
        /// The file (the site's, or the built-in name).
        file: String,
        /// What Handlebars said.
        reason: String,
    },
    /// A template failed while rendering.
    #[error("rendering the template {file} failed: {reason}")]
    Render {
        /// The file name.
        file: &'static str,
        /// What Handlebars said.
        reason: String,
    },
}

/// The templates, ready to render in the site's language.
#[derive(Debug)]
pub struct Pages {
    html: Handlebars<'static>,
    text: Handlebars<'static>,
    lang: Lang,
    texts: Map<String, Value>,
    site: Value,
}

/// What a site sees of itself in the templates.
#[derive(Debug, Clone)]
pub struct SiteInfo {
    /// The site's title, as plain text.
    pub title: String,
    /// The site's root URL; empty when unknown.
    pub url: String,
}

impl Pages {
    /// Loads the templates: each from `overrides` (the `serve/` folder of the site's templates)
    /// when that folder holds its file, else the built-in one. `hours` and `days` are how long
    /// confirmation and preferences links work.
    pub fn new(
        site: &SiteInfo,
        lang: Lang,
        overrides: Option<&Path>,
        hours: u32,
        days: u32,
    ) -> Result<Pages, PagesError> {
        let mut html = Handlebars::new();
        let mut text = Handlebars::new();
        text.register_escape_fn(handlebars::no_escape);
        for template in Template::ALL {
            let (source, file) = match overrides.map(|dir| dir.join(template.file())) {
                Some(path) if path.is_file() => {
                    let source =
                        std::fs::read_to_string(&path).map_err(|source| PagesError::Read {
                            path: path.clone(),
                            source,
                        })?;
                    (source, path.display().to_string())
                }
                _ => (
                    template.built_in().to_string(),
                    format!("templates/serve/{}", template.file()),
                ),
            };
            let syntax = |e: handlebars::TemplateError| PagesError::Syntax {
                file: file.clone(),
                reason: e.to_string(),
            };
            match template {
                Template::Layout => html
                    .register_partial(template.name(), source)
                    .map_err(syntax)?,
                t if t.is_text() => text
                    .register_template_string(t.name(), source)
                    .map_err(syntax)?,
                t => html
                    .register_template_string(t.name(), source)
                    .map_err(syntax)?,
            }
        }
        let texts = TEXTS
            .iter()
            .map(|(key, en, zh)| {
                let text = match lang {
                    Lang::En => *en,
                    Lang::Zh => *zh,
                };
                let text = text
                    .replace("{site}", &site.title)
                    .replace("{hours}", &hours.to_string())
                    .replace("{days}", &days.to_string());
                (key.to_string(), Value::String(text))
            })
            .collect();
        Ok(Pages {
            html,
            text,
            lang,
            texts,
            site: json!({"title": site.title, "url": site.url}),
        })
    }

    /// The language of the pages.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The text under `key` in the site's language (empty for an unknown key).
    pub fn text(&self, key: &str) -> &str {
        self.texts.get(key).and_then(Value::as_str).unwrap_or("")
    }

    /// Renders `template` over `data` (an object), with `lang`, `site` and `t` added.
    pub fn render(&self, template: Template, data: Value) -> Result<String, PagesError> {
        let mut data = match data {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        data.insert("lang".into(), Value::String(self.lang.tag().into()));
        data.insert("site".into(), self.site.clone());
        data.insert("t".into(), Value::Object(self.texts.clone()));
        let registry = if template.is_text() {
            &self.text
        } else {
            &self.html
        };
        registry
            .render(template.name(), &Value::Object(data))
            .map_err(|e| PagesError::Render {
                file: template.file(),
                reason: e.to_string(),
            })
    }

    /// A message page: `heading`, then `paragraphs`, then a link, if any.
    pub fn message(
        &self,
        heading: &str,
        paragraphs: &[&str],
        link: Option<(&str, &str)>,
    ) -> Result<String, PagesError> {
        let link = link.map(|(href, text)| json!({"href": href, "text": text}));
        self.render(
            Template::Message,
            json!({"heading": heading, "paragraphs": paragraphs, "link": link}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> SiteInfo {
        SiteInfo {
            title: "财经 <新闻>".into(),
            url: "https://finews.example.com/".into(),
        }
    }

    #[test]
    fn every_text_has_both_languages_and_pages_escape_values() {
        for (key, en, zh) in TEXTS {
            assert!(!en.is_empty() && !zh.is_empty(), "{key}");
        }
        let pages = Pages::new(&site(), Lang::Zh, None, 48, 400).unwrap();
        let html = pages
            .message(
                "<b>x</b>",
                &["a \"quoted\" & <i>"],
                Some(("javascript:\"", "t")),
            )
            .unwrap();
        assert!(html.contains("lang=\"zh-CN\""));
        assert!(html.contains("财经 &lt;新闻&gt;"));
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(!html.contains("<i>"));
        assert!(html.contains("href=\"javascript:&quot;\""));
        let mail = pages
            .render(Template::ConfirmMail, json!({"link": "https://x/?a=1&b=2"}))
            .unwrap();
        assert!(mail.contains("https://x/?a=1&b=2"));
        assert!(mail.contains("48 小时"));
        assert!(mail.contains("财经 <新闻>"));
    }

    #[test]
    fn the_language_follows_the_site() {
        assert_eq!(Lang::of(Some("zh-CN")), Lang::Zh);
        assert_eq!(Lang::of(Some("ZH_tw")), Lang::Zh);
        assert_eq!(Lang::of(Some("en-US")), Lang::En);
        assert_eq!(Lang::of(None), Lang::En);
        let pages = Pages::new(&site(), Lang::En, None, 24, 30).unwrap();
        assert_eq!(pages.text("subscribe_button"), "Subscribe");
    }

    #[test]
    fn a_site_template_replaces_the_built_in_one_by_file_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("message.html.hbs"),
            "<p id=mine>{{heading}}</p>",
        )
        .unwrap();
        let pages = Pages::new(&site(), Lang::En, Some(dir.path()), 24, 30).unwrap();
        assert_eq!(
            pages.message("a&b", &[], None).unwrap(),
            "<p id=mine>a&amp;b</p>"
        );
        // The others stay built in.
        assert!(pages
            .render(Template::Subscribe, json!({}))
            .unwrap()
            .contains("action=\"subscribe\""));
        std::fs::write(dir.path().join("layout.html.hbs"), "{{#if}}").unwrap();
        let error = Pages::new(&site(), Lang::En, Some(dir.path()), 24, 30).unwrap_err();
        assert!(error.to_string().contains("layout.html.hbs"), "{error}");
    }
}
