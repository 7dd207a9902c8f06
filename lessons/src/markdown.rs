//! The Markdown subset a lesson's text may use (`lessons/README.md`): paragraphs, `- ` or `* `
//! list items, fenced code blocks. Inline `**bold**` and `` `code` `` are left in the text for
//! each front end to draw its own way: the terminal with ANSI bold, the app with egui spans.

/// One block of a lesson's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// A paragraph, its lines joined by single spaces.
    Paragraph(String),
    /// A list item, continuation lines joined to it.
    Item(String),
    /// The lines of a fenced code block, as written.
    Code(Vec<String>),
}

/// Splits `md` into paragraphs, list items and code blocks.
pub fn blocks(md: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    let mut in_code = false;
    for line in md.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            out.extend(current.take());
            if !in_code {
                current = Some(Block::Code(Vec::new()));
            }
            in_code = !in_code;
            continue;
        }
        if in_code {
            if let Some(Block::Code(lines)) = &mut current {
                lines.push(line.to_string());
            }
            continue;
        }
        if t.is_empty() {
            out.extend(current.take());
        } else if let Some(item) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) {
            out.extend(current.take());
            current = Some(Block::Item(item.trim().to_string()));
        } else {
            match &mut current {
                Some(Block::Paragraph(p)) | Some(Block::Item(p)) => {
                    p.push(' ');
                    p.push_str(t);
                }
                _ => {
                    out.extend(current.take());
                    current = Some(Block::Paragraph(t.to_string()));
                }
            }
        }
    }
    out.extend(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_lists_and_code_blocks_are_split() {
        let md = "A **log**: records\nare appended.\n\n- one\n- two `x`\n  continued\n* three\n\n```\ncrash broker-1\n  indented\n```\nEnd.";
        assert_eq!(
            blocks(md),
            vec![
                Block::Paragraph("A **log**: records are appended.".into()),
                Block::Item("one".into()),
                Block::Item("two `x` continued".into()),
                Block::Item("three".into()),
                Block::Code(vec!["crash broker-1".into(), "  indented".into()]),
                Block::Paragraph("End.".into()),
            ]
        );
    }

    #[test]
    fn an_unclosed_fence_keeps_its_lines_as_code() {
        assert_eq!(
            blocks("Run:\n```\nstep"),
            vec![
                Block::Paragraph("Run:".into()),
                Block::Code(vec!["step".into()])
            ]
        );
    }
}
