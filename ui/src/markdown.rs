//! The lessons' Markdown in egui: paragraphs, `- ` lists, `**bold**`, `` `code` `` and fenced
//! code blocks: what the lesson format allows (`lessons/README.md`), nothing more. The blocks
//! come from the lessons crate's [`kafkascope_lessons::markdown`]; the spans are drawn here.
//!
//! egui's default fonts have no bold face, so bold is drawn in the strong text colour; code is
//! monospace on a darker background. Each paragraph is one [`LayoutJob`], so it wraps to the
//! panel's width like any label.

use bevy_egui::egui::{self, text::LayoutJob, Color32, FontId, TextFormat};
use kafkascope_lessons::markdown::{blocks, Block};

/// Colours and size of the text.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub size: f32,
    pub text: Color32,
    pub strong: Color32,
    pub code: Color32,
    pub code_bg: Color32,
}

/// What a span of inline text is drawn as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    Plain,
    Bold,
    Code,
}

/// Splits one paragraph into plain, bold and code spans. Markers without a partner are text.
pub fn spans(text: &str) -> Vec<(String, Span)> {
    let mut out: Vec<(String, Span)> = Vec::new();
    let mut push = |s: &str, k: Span| {
        if s.is_empty() {
            return;
        }
        match out.last_mut() {
            Some((last, lk)) if *lk == k => last.push_str(s),
            _ => out.push((s.to_string(), k)),
        }
    };
    let mut bold = false;
    let mut rest = text;
    while !rest.is_empty() {
        let next_code = rest.find('`');
        let next_bold = rest.find("**");
        match (next_code, next_bold) {
            (Some(c), b) if b.is_none_or(|b| c < b) => {
                let kind = if bold { Span::Bold } else { Span::Plain };
                push(&rest[..c], kind);
                match rest[c + 1..].find('`') {
                    Some(end) => {
                        push(&rest[c + 1..c + 1 + end], Span::Code);
                        rest = &rest[c + 2 + end..];
                    }
                    None => {
                        push(&rest[c..], kind);
                        rest = "";
                    }
                }
            }
            (_, Some(b)) => {
                let kind = if bold { Span::Bold } else { Span::Plain };
                push(&rest[..b], kind);
                // A `**` that opens bold needs a partner later on.
                if bold || rest[b + 2..].contains("**") {
                    bold = !bold;
                } else {
                    push("**", kind);
                }
                rest = &rest[b + 2..];
            }
            _ => {
                push(rest, if bold { Span::Bold } else { Span::Plain });
                rest = "";
            }
        }
    }
    out
}

/// One paragraph as a layout job.
pub fn job(text: &str, style: &Style) -> LayoutJob {
    let mut job = LayoutJob::default();
    for (s, kind) in spans(text) {
        let format = match kind {
            Span::Plain => TextFormat::simple(FontId::proportional(style.size), style.text),
            Span::Bold => TextFormat::simple(FontId::proportional(style.size), style.strong),
            Span::Code => TextFormat {
                background: style.code_bg,
                ..TextFormat::simple(FontId::monospace(style.size * 0.92), style.code)
            },
        };
        job.append(&s, 0.0, format);
    }
    job
}

/// Draws `md` into `ui`, wrapped to its width.
pub fn show(ui: &mut egui::Ui, md: &str, style: &Style) {
    let gap = style.size * 0.55;
    let mut first = true;
    let mut after_item = false;
    for block in blocks(md) {
        let item = matches!(block, Block::Item(_));
        if !first {
            ui.add_space(if item && after_item { 2.0 } else { gap });
        }
        first = false;
        after_item = item;
        match block {
            Block::Paragraph(text) => {
                ui.add(egui::Label::new(job(&text, style)).wrap());
            }
            Block::Item(text) => {
                ui.horizontal_top(|ui| {
                    ui.add_space(4.0);
                    ui.label(
                        egui::RichText::new("•")
                            .size(style.size)
                            .color(style.strong),
                    );
                    ui.vertical(|ui| {
                        ui.add(egui::Label::new(job(&text, style)).wrap());
                    });
                });
            }
            Block::Code(lines) => {
                egui::Frame::new()
                    .fill(style.code_bg)
                    .corner_radius(4.0)
                    .inner_margin(6.0)
                    .show(ui, |ui| {
                        ui.label(
                            egui::RichText::new(lines.join("\n"))
                                .font(FontId::monospace(style.size * 0.92))
                                .color(style.code),
                        );
                    });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bold_and_code_spans_and_unpaired_markers() {
        assert_eq!(
            spans("a **b `c`** d `e**f` 2**3"),
            vec![
                ("a ".to_string(), Span::Plain),
                ("b ".to_string(), Span::Bold),
                ("c".to_string(), Span::Code),
                (" d ".to_string(), Span::Plain),
                ("e**f".to_string(), Span::Code),
                (" 2**3".to_string(), Span::Plain),
            ]
        );
        assert_eq!(spans("`open"), vec![("`open".to_string(), Span::Plain)]);
    }
}
