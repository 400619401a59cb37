//! A document as a PDF: its frozen HTML as readable text (`html2text`, as email text parts are
//! derived) on A4 pages, with a footer naming the document and the SHA-256 of its content on
//! every page, and for a signed document the signature block at the end.
//!
//! The text is set in Courier, one of the PDF base-14 fonts every reader has: nothing to embed,
//! and a fixed advance (0.6 em) makes line breaking exact. Its WinAnsi encoding covers Western
//! European text; other characters print as `?` (the content hash is of the HTML, not of this
//! rendering, so nothing is lost from what was signed).

use chrono::{DateTime, Utc};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use uuid::Uuid;

use crate::model::email_templates::text_of_html;

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const BODY_SIZE: f32 = 10.0;
const LEADING: f32 = 13.0;
const TITLE_SIZE: f32 = 13.0;
const FOOTER_SIZE: f32 = 7.0;
/// Courier advances 0.6 em per character: 78 columns at 10 pt fill 468 pt of the 483 pt line.
const COLUMNS: usize = 78;
const TITLE_COLUMNS: usize = 60;
/// The lowest baseline a body line may have: the footer sits below it.
const BODY_BOTTOM: f32 = 72.0;

/// What the signature block shows.
#[derive(Debug, Clone)]
pub struct SignatureBlock<'a> {
    pub signer_name: &'a str,
    pub signed_at: DateTime<Utc>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub content_sha256: &'a str,
}

/// What goes on the pages.
#[derive(Debug, Clone)]
pub struct PdfInput<'a> {
    pub id: Uuid,
    pub title: &'a str,
    pub content_html: &'a str,
    pub content_sha256: &'a str,
    pub signature: Option<SignatureBlock<'a>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Title,
    Body,
}

/// The document as PDF bytes.
pub fn render(input: &PdfInput<'_>) -> Vec<u8> {
    let pages = paginate(lines(input));
    let total = pages.len();
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    // Two objects per page (the page and its content stream) from 6 on.
    let page_ref = |i: usize| Ref::new(6 + 2 * i as i32);
    let content_ref = |i: usize| Ref::new(7 + 2 * i as i32);

    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids((0..total).map(page_ref)).count(total as i32);
    for (name, id) in [(b"Courier".as_slice(), regular), (b"Courier-Bold".as_slice(), bold)] {
        pdf.type1_font(id).base_font(Name(name)).encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.document_info(info).title(TextStr(input.title)).producer(TextStr("intakeflow"));

    for (i, page_lines) in pages.iter().enumerate() {
        let mut page = pdf.page(page_ref(i));
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
        page.parent(tree);
        page.contents(content_ref(i));
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        fonts.pair(Name(b"F1"), regular);
        fonts.pair(Name(b"F2"), bold);
        fonts.finish();
        resources.finish();
        page.finish();

        let mut content = Content::new();
        let mut y = PAGE_HEIGHT - MARGIN;
        for (style, text) in page_lines {
            let (font, size) = match style {
                Style::Title => (Name(b"F2"), TITLE_SIZE),
                Style::Body => (Name(b"F1"), BODY_SIZE),
            };
            if !text.is_empty() {
                show(&mut content, font, size, MARGIN, y, text);
            }
            y -= if *style == Style::Title { TITLE_SIZE + 5.0 } else { LEADING };
        }
        let footer = format!("Document {} - page {} of {}", input.id, i + 1, total);
        show(&mut content, Name(b"F1"), FOOTER_SIZE, MARGIN, 44.0, &footer);
        show(&mut content, Name(b"F1"), FOOTER_SIZE, MARGIN, 34.0, &format!("SHA-256 {}", input.content_sha256));
        pdf.stream(content_ref(i), &content.finish());
    }
    pdf.finish()
}

fn show(content: &mut Content, font: Name<'_>, size: f32, x: f32, y: f32, text: &str) {
    content.begin_text();
    content.set_font(font, size);
    content.next_line(x, y);
    content.show(Str(&win_ansi(text)));
    content.end_text();
}

/// Every line of the document, styled, before it is cut into pages.
fn lines(input: &PdfInput<'_>) -> Vec<(Style, String)> {
    let mut out: Vec<(Style, String)> =
        wrap(input.title.trim(), TITLE_COLUMNS).into_iter().map(|l| (Style::Title, l)).collect();
    out.push((Style::Body, String::new()));
    for line in text_of_html(input.content_html).lines() {
        out.extend(wrap(line, COLUMNS).into_iter().map(|l| (Style::Body, l)));
    }
    if let Some(s) = &input.signature {
        out.push((Style::Body, String::new()));
        out.push((Style::Body, "-".repeat(COLUMNS)));
        out.push((Style::Title, "Signature".into()));
        let mut block = vec![
            format!("Signed electronically by: {}", s.signer_name),
            format!("Signed at: {}", s.signed_at.format("%Y-%m-%d %H:%M:%S UTC")),
            format!("From IP address: {}", s.ip.unwrap_or("unknown")),
            format!("User agent: {}", s.user_agent.unwrap_or("unknown")),
            "Content SHA-256 the signer confirmed:".into(),
            format!("  {}", s.content_sha256),
        ];
        for line in block.drain(..) {
            out.extend(wrap(&line, COLUMNS).into_iter().map(|l| (Style::Body, l)));
        }
    }
    out
}

/// Cuts lines into pages by their heights, so no line runs into the footer.
fn paginate(lines: Vec<(Style, String)>) -> Vec<Vec<(Style, String)>> {
    let mut pages = vec![Vec::new()];
    let mut y = PAGE_HEIGHT - MARGIN;
    for line in lines {
        if y < BODY_BOTTOM {
            pages.push(Vec::new());
            y = PAGE_HEIGHT - MARGIN;
        }
        y -= if line.0 == Style::Title { TITLE_SIZE + 5.0 } else { LEADING };
        if let Some(page) = pages.last_mut() {
            page.push(line);
        }
    }
    pages
}

/// Breaks a line at spaces to at most `width` characters; a word longer than the line is cut.
fn wrap(line: &str, width: usize) -> Vec<String> {
    let line = line.trim_end();
    if line.chars().count() <= width {
        return vec![line.to_owned()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    for word in line.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        let len = current.chars().count();
        if len > 0 && len + 1 + word.len() <= width {
            current.push(' ');
            current.extend(word);
            continue;
        }
        if len > 0 {
            out.push(std::mem::take(&mut current));
        }
        while word.len() > width {
            out.push(word.drain(..width).collect());
        }
        current = word.into_iter().collect();
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Text in the WinAnsi encoding the fonts use; characters it lacks become `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c as u32 {
            0x20..=0x7e | 0xa0..=0xff => c as u32 as u8,
            _ => match c {
                '€' => 0x80,
                '‚' => 0x82,
                '„' => 0x84,
                '…' => 0x85,
                '‘' => 0x91,
                '’' => 0x92,
                '“' => 0x93,
                '”' => 0x94,
                '•' => 0x95,
                '–' => 0x96,
                '—' => 0x97,
                '™' => 0x99,
                '\t' => b' ',
                _ => b'?',
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("abcdefghij k", 4), ["abcd", "efgh", "ij k"]);
        assert_eq!(wrap("", 4), [""]);
    }

    #[test]
    fn long_documents_break_into_pages() {
        let html = "<p>line</p>".repeat(300);
        let input =
            PdfInput { id: Uuid::nil(), title: "T", content_html: &html, content_sha256: "ab", signature: None };
        let pages = paginate(lines(&input));
        assert!(pages.len() > 2, "{}", pages.len());
        let pdf = render(&input);
        assert!(pdf.starts_with(b"%PDF-"));
        assert_eq!(win_ansi("é€☃"), [0xe9, 0x80, b'?']);
    }
}
