//! The lessons' Markdown as terminal text: paragraphs wrapped to the width, `- ` lists with a
//! hanging indent, `**bold**` in bold when the terminal has colour (and plain otherwise, so
//! snapshots and pipes read cleanly), `` `code` `` kept as written.

use crate::markdown::{blocks, Block};

/// Renders `md` wrapped to `width` columns, each line prefixed with `indent`.
pub fn render(md: &str, width: usize, indent: &str, color: bool) -> String {
    let mut out = String::new();
    let mut after_item = false;
    for block in blocks(md) {
        let item = matches!(block, Block::Item(_));
        if !(out.is_empty() || item && after_item) {
            out.push('\n');
        }
        after_item = item;
        match block {
            Block::Paragraph(text) => wrap(&mut out, &text, width, indent, indent, color),
            Block::Item(text) => {
                let rest = format!("{indent}  ");
                wrap(&mut out, &text, width, &format!("{indent}- "), &rest, color)
            }
            Block::Code(lines) => {
                for l in lines {
                    out += &format!("{indent}    {l}\n");
                }
            }
        }
    }
    out
}

/// Bold markers become ANSI bold (or vanish); width counts what is visible.
fn style(word: &str, color: bool) -> (String, usize) {
    let visible = word.replace("**", "");
    let n = visible.chars().count();
    if !color || !word.contains("**") {
        return (visible, n);
    }
    let mut s = String::new();
    let mut bold = false;
    for (i, part) in word.split("**").enumerate() {
        if i > 0 {
            bold = !bold;
            s += if bold { "\x1b[1m" } else { "\x1b[0m" };
        }
        s += part;
    }
    if bold {
        s += "\x1b[0m";
    }
    (s, n)
}

fn wrap(out: &mut String, text: &str, width: usize, first: &str, rest: &str, color: bool) {
    let mut line = first.to_string();
    let mut len = first.chars().count();
    let mut empty = true;
    // Bold spans cross words: carry the state so each word is styled on its own.
    let mut open = false;
    for w in text.split_whitespace() {
        let marked = if open {
            format!("**{w}")
        } else {
            w.to_string()
        };
        let toggles = w.matches("**").count();
        if toggles % 2 == 1 {
            open = !open;
        }
        let marked = if open { format!("{marked}**") } else { marked };
        let (text, n) = style(&marked, color);
        if !empty && len + 1 + n > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = rest.to_string();
            len = rest.chars().count();
            empty = true;
        }
        if !empty {
            line.push(' ');
            len += 1;
        }
        line += &text;
        len += n;
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_lists_and_bold_wrap_to_the_width() {
        let md = "A topic partition is a **log**: producers append records at the end.\n\n- one **two\nthree** four\n- five";
        assert_eq!(
            render(md, 30, "  ", false),
            "  A topic partition is a log:\n  producers append records at\n  the end.\n\n  - one two three four\n  - five\n"
        );
        let colored = render("a **b c** d", 80, "", true);
        assert_eq!(colored, "a \x1b[1mb\x1b[0m \x1b[1mc\x1b[0m d\n");
    }
}
