//! The syntax of conditions, and the check of the names they use against a scenario.
//!
//! ```text
//! condition  := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not" unary | comparison
//! comparison := primary (("==" | "!=" | "<" | "<=" | ">" | ">=") primary)?
//! primary    := integer | count | function "(" arguments ")" | "(" condition ")"
//! ```
//!
//! Numbers and truths are told apart while parsing, so `lost_acknowledged` alone or
//! `crashed(broker-1) == 1` is an error at the lesson's line, not a surprise while playing.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use kafkascope_sim::command::Command;
use kafkascope_sim::ids::{NodeId, TopicPartition};
use kafkascope_sim::scenario::{CheckerId, Count, Scenario};

use super::{suggest, Arg, ArgValue, ConditionError, Expr, Func, Num, Param};
use kafkascope_sim::scenario::Cmp;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// A name or a number: letters, digits, `_`, `-` and `.`.
    Word,
    LParen,
    RParen,
    Comma,
    Cmp(Cmp),
    End,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    span: Range<usize>,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn tokenize(src: &str) -> Result<Vec<Token>, ConditionError> {
    let mut out = Vec::new();
    let mut chars = src.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, c)| c);
        let mut two = |tok: Tok, out: &mut Vec<Token>| {
            chars.next();
            out.push(Token {
                tok,
                span: i..i + 2,
            });
        };
        match (c, next) {
            (c, _) if c.is_whitespace() => {}
            (c, _) if is_word_char(c) => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = chars.peek() {
                    if !is_word_char(d) {
                        break;
                    }
                    end = j + d.len_utf8();
                    chars.next();
                }
                out.push(Token {
                    tok: Tok::Word,
                    span: i..end,
                });
            }
            ('(', _) => out.push(Token {
                tok: Tok::LParen,
                span: i..i + 1,
            }),
            (')', _) => out.push(Token {
                tok: Tok::RParen,
                span: i..i + 1,
            }),
            (',', _) => out.push(Token {
                tok: Tok::Comma,
                span: i..i + 1,
            }),
            ('=', Some('=')) => two(Tok::Cmp(Cmp::Eq), &mut out),
            ('!', Some('=')) => two(Tok::Cmp(Cmp::Ne), &mut out),
            ('<', Some('=')) => two(Tok::Cmp(Cmp::Le), &mut out),
            ('>', Some('=')) => two(Tok::Cmp(Cmp::Ge), &mut out),
            ('<', _) => out.push(Token {
                tok: Tok::Cmp(Cmp::Lt),
                span: i..i + 1,
            }),
            ('>', _) => out.push(Token {
                tok: Tok::Cmp(Cmp::Gt),
                span: i..i + 1,
            }),
            _ => {
                // Spellings from other languages get the word this one uses.
                let doubled = next == Some(c) && matches!(c, '&' | '|');
                let len = if doubled { 2 } else { c.len_utf8() };
                let help = match c {
                    '=' => "compare with `==`".to_string(),
                    '!' => "negate with `not`".to_string(),
                    '&' => "combine with `and`".to_string(),
                    '|' => "combine with `or`".to_string(),
                    _ => "a condition has names, numbers, `(`, `)`, `,`, comparisons \
                          (== != < <= > >=), `and`, `or` and `not`"
                        .to_string(),
                };
                return Err(ConditionError::new(
                    i..i + len,
                    format!("unexpected `{}`", &src[i..i + len]),
                    Some(help),
                ));
            }
        }
    }
    out.push(Token {
        tok: Tok::End,
        span: src.len()..src.len(),
    });
    Ok(out)
}

/// A parsed piece, before we know whether its context wants a number or a truth.
enum Typed {
    Bool(Expr),
    Num(Num),
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
}

type Res<T> = Result<T, ConditionError>;
/// One level of the grammar: what it parsed, and where.
type Level<'a> = fn(&mut Parser<'a>) -> Res<(Typed, Range<usize>)>;

pub(super) fn parse(src: &str) -> Res<Expr> {
    let toks = tokenize(src)?;
    if toks.len() == 1 {
        return Err(ConditionError::new(
            0..src.len(),
            "the condition is empty",
            Some("for example: lost_acknowledged == 0".into()),
        ));
    }
    let mut p = Parser { src, toks, pos: 0 };
    let (t, span) = p.or()?;
    let expr = p.boolean(t, span)?;
    let tok = p.peek();
    if tok.tok != Tok::End {
        let span = tok.span.clone();
        let (message, help) = match tok.tok {
            Tok::RParen => ("this `)` closes nothing".to_string(), None),
            _ => (
                format!("expected `and`, `or` or the end, found `{}`", p.text(&span)),
                Some("combine conditions with `and` or `or`".to_string()),
            ),
        };
        return Err(ConditionError::new(span, message, help));
    }
    Ok(expr)
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Token {
        &self.toks[self.pos]
    }

    fn peek_at(&self, k: usize) -> &Token {
        &self.toks[(self.pos + k).min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.toks[self.pos].clone();
        if t.tok != Tok::End {
            self.pos += 1;
        }
        t
    }

    fn text(&self, span: &Range<usize>) -> &'a str {
        &self.src[span.clone()]
    }

    fn is_word(&self, word: &str) -> bool {
        let t = self.peek();
        t.tok == Tok::Word && self.text(&t.span) == word
    }

    /// What to call a token in a message.
    fn describe(&self, t: &Token) -> String {
        match t.tok {
            Tok::End => "the end".into(),
            _ => format!("`{}`", self.text(&t.span)),
        }
    }

    fn boolean(&self, t: Typed, span: Range<usize>) -> Res<Expr> {
        match t {
            Typed::Bool(e) => Ok(e),
            Typed::Num(n) => {
                let shown = match &n {
                    Num::Int(_) => self.text(&span).trim().to_string(),
                    n => n.to_string(),
                };
                Err(ConditionError::new(
                    span,
                    format!("`{shown}` is a number, not a condition"),
                    Some(format!("compare it: {shown} == 0")),
                ))
            }
        }
    }

    fn number(&self, t: Typed, span: Range<usize>) -> Res<Num> {
        match t {
            Typed::Num(n) => Ok(n),
            Typed::Bool(e) => Err(ConditionError::new(
                span,
                format!("`{e}` is true or false, not a number"),
                Some(format!("use it alone, or negate it: not {e}")),
            )),
        }
    }

    fn or(&mut self) -> Res<(Typed, Range<usize>)> {
        self.chain(true)
    }

    fn and(&mut self) -> Res<(Typed, Range<usize>)> {
        self.chain(false)
    }

    /// `operand (or operand)*`, or the same with `and`: a single operand passes through
    /// untouched (it may be a number in parentheses); two or more must all be truths.
    fn chain(&mut self, or: bool) -> Res<(Typed, Range<usize>)> {
        let (word, next): (&str, Level<'a>) = if or {
            ("or", Parser::and)
        } else {
            ("and", Parser::unary)
        };
        let (first, span) = next(self)?;
        if !self.is_word(word) {
            return Ok((first, span));
        }
        let mut all = Vec::new();
        let mut add = |e: Expr| match (or, e) {
            // `a or (b or c)` is one list: the explanation and the display stay flat.
            (true, Expr::Or(xs)) | (false, Expr::And(xs)) => all.extend(xs),
            (_, e) => all.push(e),
        };
        add(self.boolean(first, span.clone())?);
        let mut end = span.end;
        while self.is_word(word) {
            self.bump();
            let (t, s) = next(self)?;
            end = s.end;
            add(self.boolean(t, s)?);
        }
        let e = if or { Expr::Or(all) } else { Expr::And(all) };
        Ok((Typed::Bool(e), span.start..end))
    }

    fn unary(&mut self) -> Res<(Typed, Range<usize>)> {
        if self.is_word("not") {
            let start = self.bump().span.start;
            let (t, span) = self.unary()?;
            let e = self.boolean(t, span.clone())?;
            return Ok((Typed::Bool(Expr::Not(Box::new(e))), start..span.end));
        }
        let (left, lspan) = self.primary()?;
        let Tok::Cmp(op) = self.peek().tok else {
            return Ok((left, lspan));
        };
        self.bump();
        let left = self.number(left, lspan.clone())?;
        let (right, rspan) = self.primary()?;
        let right = self.number(right, rspan.clone())?;
        if let Tok::Cmp(_) = self.peek().tok {
            let t = self.peek().span.clone();
            let whole = lspan.start..rspan.end;
            return Err(ConditionError::new(
                t.clone(),
                "comparisons do not chain",
                Some(format!(
                    "compare twice and combine with `and`: {} and {} {} ...",
                    self.text(&whole),
                    self.text(&rspan),
                    self.text(&t)
                )),
            ));
        }
        Ok((
            Typed::Bool(Expr::Compare(left, op, right)),
            lspan.start..rspan.end,
        ))
    }

    fn primary(&mut self) -> Res<(Typed, Range<usize>)> {
        let t = self.peek().clone();
        match t.tok {
            Tok::LParen => {
                self.bump();
                let (inner, _) = self.or()?;
                let close = self.peek().clone();
                if close.tok != Tok::RParen {
                    return Err(ConditionError::new(
                        t.span.clone(),
                        "this `(` is not closed",
                        Some(format!(
                            "add `)` (found {} where it should be)",
                            self.describe(&close)
                        )),
                    ));
                }
                self.bump();
                Ok((inner, t.span.start..close.span.end))
            }
            Tok::Word => {
                let word = self.text(&t.span);
                if self.peek_at(1).tok == Tok::LParen {
                    return self.call(word, t.span);
                }
                self.bump();
                self.bare(word, t.span)
            }
            Tok::End if self.pos == 0 => unreachable!("empty input is caught first"),
            _ => Err(ConditionError::new(
                t.span.clone(),
                format!(
                    "expected a count, a function or `(`, found {}",
                    self.describe(&t)
                ),
                Some("for example: lost_acknowledged == 0, or crashed(broker-1)".into()),
            )),
        }
    }

    /// A word without parentheses: a number or a count.
    fn bare(&self, word: &'a str, span: Range<usize>) -> Res<(Typed, Range<usize>)> {
        if word.bytes().all(|b| b.is_ascii_digit()) {
            return match word.parse() {
                Ok(n) => Ok((Typed::Num(Num::Int(n)), span)),
                Err(_) => Err(ConditionError::new(span, "this number is too large", None)),
            };
        }
        if let Some(c) = Count::ALL.into_iter().find(|c| c.name() == word) {
            return Ok((Typed::Num(Num::Count(c)), span));
        }
        if matches!(word, "and" | "or") {
            return Err(ConditionError::new(
                span,
                format!("`{word}` needs a condition on each side"),
                None,
            ));
        }
        if let Some(f) = Func::by_name(word) {
            return Err(ConditionError::new(
                span,
                format!("`{word}` needs an argument"),
                Some(format!("for example: {}", f.example())),
            ));
        }
        if let Some(c) = CheckerId::ALL.into_iter().find(|c| c.name() == word) {
            return Err(ConditionError::new(
                span,
                format!("`{word}` is a checker"),
                Some(format!(
                    "write holds({}) or violated({})",
                    c.name(),
                    c.name()
                )),
            ));
        }
        let known = Count::ALL
            .iter()
            .map(|c| c.name())
            .chain(Func::ALL.iter().map(|f| f.name()));
        let help = match suggest(word, known) {
            Some(s) if Func::by_name(s).is_some() => format!(
                "did you mean `{s}`? for example: {}",
                Func::by_name(s).expect("a function").example()
            ),
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "the counts are {}; functions take an argument, like leader(orders-0)",
                Count::ALL.map(|c| c.name()).join(", ")
            ),
        };
        Err(ConditionError::new(
            span.clone(),
            format!("unknown name `{word}`"),
            Some(help),
        ))
    }

    /// `name(arguments)`; the word is the current token and `(` the next.
    fn call(&mut self, name: &'a str, name_span: Range<usize>) -> Res<(Typed, Range<usize>)> {
        let Some(func) = Func::by_name(name) else {
            let help = if Count::ALL.iter().any(|c| c.name() == name) {
                format!("`{name}` is a count of the whole run: write it without parentheses")
            } else {
                match suggest(name, Func::ALL.iter().map(|f| f.name())) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "the functions are {}",
                        Func::ALL.map(|f| f.name()).join(", ")
                    ),
                }
            };
            return Err(ConditionError::new(
                name_span,
                format!("unknown function `{name}`"),
                Some(help),
            ));
        };
        self.bump();
        let open = self.bump().span;
        let (required, optional) = func.params();
        let mut args = Vec::new();
        for (i, &param) in required.iter().chain(optional).enumerate() {
            let t = self.peek().clone();
            if i >= required.len() {
                if t.tok != Tok::Comma {
                    break;
                }
                self.bump();
            } else if i > 0 {
                if t.tok != Tok::Comma {
                    return Err(self.arity(func, t.span));
                }
                self.bump();
            }
            args.push(self.arg(func, param)?);
        }
        let close = self.peek().clone();
        match close.tok {
            Tok::RParen => {
                self.bump();
            }
            Tok::Comma => return Err(self.arity(func, close.span)),
            Tok::End => {
                return Err(ConditionError::new(
                    open,
                    "this `(` is not closed",
                    Some("add `)`".into()),
                ))
            }
            _ => {
                return Err(ConditionError::new(
                    close.span.clone(),
                    format!("expected `)`, found {}", self.describe(&close)),
                    Some(format!("for example: {}", func.example())),
                ))
            }
        }
        let span = name_span.start..close.span.end;
        let typed = if func.boolean() {
            Typed::Bool(Expr::Call(func, args))
        } else {
            Typed::Num(Num::Call(func, args))
        };
        Ok((typed, span))
    }

    fn arity(&self, func: Func, span: Range<usize>) -> ConditionError {
        let (required, optional) = func.params();
        let takes = match (required.len(), optional.len()) {
            (1, 0) => "one argument".to_string(),
            (r, 0) => format!("{r} arguments"),
            (r, o) => format!("{r} or {} arguments", r + o),
        };
        ConditionError::new(
            span,
            format!("`{}` takes {takes}", func.name()),
            Some(format!("for example: {}", func.example())),
        )
    }

    fn arg(&mut self, func: Func, param: Param) -> Res<Arg> {
        let t = self.peek().clone();
        if t.tok != Tok::Word {
            let what = match param {
                Param::Partition => "a partition",
                Param::Broker => "a broker",
                Param::Group => "a group",
                Param::Consumer => "a consumer",
                Param::Checker => "a checker",
                Param::Subject => "a node",
            };
            return Err(ConditionError::new(
                t.span.clone(),
                format!(
                    "`{}` needs {what} here, found {}",
                    func.name(),
                    self.describe(&t)
                ),
                Some(format!("for example: {}", func.example())),
            ));
        }
        self.bump();
        let word = self.text(&t.span);
        let value = match param {
            Param::Partition => ArgValue::Partition(self.partition(word, t.span.clone())?),
            Param::Subject if word == "leader" => {
                if !self.is_word("of") {
                    return Err(ConditionError::new(
                        t.span.clone(),
                        "`leader` here needs the partition it leads",
                        Some(format!("write {}(leader of orders-0)", func.name())),
                    ));
                }
                self.bump();
                let p = self.peek().clone();
                if p.tok != Tok::Word {
                    return Err(ConditionError::new(
                        p.span.clone(),
                        format!(
                            "expected a partition after `leader of`, found {}",
                            self.describe(&p)
                        ),
                        Some(format!("write {}(leader of orders-0)", func.name())),
                    ));
                }
                self.bump();
                let tp = self.partition(self.text(&p.span), p.span.clone())?;
                return Ok(Arg {
                    value: ArgValue::LeaderOf(tp),
                    span: t.span.start..p.span.end,
                });
            }
            Param::Subject | Param::Broker | Param::Consumer => ArgValue::Node(word.to_string()),
            Param::Group => ArgValue::Group(word.to_string()),
            Param::Checker => match CheckerId::ALL.into_iter().find(|c| c.name() == word) {
                Some(c) => ArgValue::Checker(c),
                None => {
                    let help = match suggest(word, CheckerId::ALL.iter().map(|c| c.name())) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!(
                            "the checkers are {}",
                            CheckerId::ALL.map(|c| c.name()).join(", ")
                        ),
                    };
                    return Err(ConditionError::new(
                        t.span,
                        format!("unknown checker `{word}`"),
                        Some(help),
                    ));
                }
            },
        };
        Ok(Arg {
            value,
            span: t.span,
        })
    }

    fn partition(&self, word: &str, span: Range<usize>) -> Res<TopicPartition> {
        TopicPartition::parse(word).ok_or_else(|| {
            ConditionError::new(
                span,
                format!("`{word}` is not a partition"),
                Some(format!("a partition is its topic and its number: {word}-0")),
            )
        })
    }
}

// ---- names against a scenario ----

/// Every topic the scenario has or creates while it runs, with its largest partition count.
fn topics(s: &Scenario) -> BTreeMap<Arc<str>, u32> {
    let mut t: BTreeMap<Arc<str>, u32> = s
        .all_topics()
        .into_iter()
        .map(|t| (t.name, t.partitions))
        .collect();
    // Creations first: a fault list need not be in time order.
    for f in &s.faults {
        if let Command::CreateTopic {
            name, partitions, ..
        } = &f.command
        {
            let n = t.entry(name.clone()).or_default();
            *n = (*n).max(*partitions);
        }
    }
    for f in &s.faults {
        if let Command::AddPartitions { topic, partitions } = &f.command {
            if let Some(n) = t.get_mut(topic) {
                *n = (*n).max(*partitions);
            }
        }
    }
    t
}

/// Every node of the scenario, as the simulation creates them.
pub(super) fn nodes(s: &Scenario) -> Vec<NodeId> {
    let mut n = vec![NodeId::Controller];
    n.extend(s.broker_ids().into_iter().map(NodeId::Broker));
    n.extend((0..s.producers.len()).map(|i| NodeId::Producer(i as u16)));
    if s.reader {
        n.push(NodeId::Reader);
    }
    n.extend((0..s.consumers.len()).map(|i| NodeId::Consumer(i as u16)));
    n
}

/// The node a name means in this scenario, if it has it.
pub(super) fn resolve_node(s: &Scenario, name: &str) -> Option<NodeId> {
    let id = s.names().parse(name)?;
    nodes(s).contains(&id).then_some(id)
}

fn each_arg<'e>(e: &'e Expr, out: &mut Vec<(Func, usize, &'e Arg)>) {
    let call = |f: Func, args: &'e [Arg], out: &mut Vec<(Func, usize, &'e Arg)>| {
        out.extend(args.iter().enumerate().map(|(i, a)| (f, i, a)))
    };
    match e {
        Expr::Or(xs) | Expr::And(xs) => xs.iter().for_each(|x| each_arg(x, out)),
        Expr::Not(x) => each_arg(x, out),
        Expr::Compare(a, _, b) => {
            for n in [a, b] {
                if let Num::Call(f, args) = n {
                    call(*f, args, out);
                }
            }
        }
        Expr::Call(f, args) => call(*f, args, out),
    }
}

pub(super) fn check_names(e: &Expr, s: &Scenario) -> Vec<ConditionError> {
    let topics = topics(s);
    let names = s.names();
    let all_nodes: Vec<String> = nodes(s).into_iter().map(|n| names.name(n)).collect();
    let groups: Vec<&str> = {
        let mut g: Vec<&str> = s
            .consumers
            .iter()
            .filter_map(|c| c.group.as_deref())
            .collect();
        g.dedup();
        g.sort_unstable();
        g.dedup();
        g
    };
    let mut args = Vec::new();
    each_arg(e, &mut args);
    let mut out = Vec::new();
    for (func, index, arg) in args {
        let param = {
            let (r, o) = func.params();
            r.iter().chain(o).nth(index).copied()
        };
        let err = |message: String, help: Option<String>| {
            ConditionError::new(arg.span.clone(), message, help)
        };
        match &arg.value {
            ArgValue::Partition(tp) | ArgValue::LeaderOf(tp) => {
                if let Some(e) = check_partition(tp, &topics) {
                    out.push(err(e.0, e.1));
                }
            }
            ArgValue::Node(n) => {
                let want = |id: NodeId| match param {
                    Some(Param::Broker) => matches!(id, NodeId::Broker(_)),
                    Some(Param::Consumer) => matches!(id, NodeId::Consumer(_)),
                    _ => true,
                };
                let (kind, candidates): (&str, Vec<&str>) = match param {
                    Some(Param::Broker) => (
                        "broker",
                        all_nodes
                            .iter()
                            .filter(|n| n.starts_with("broker-"))
                            .map(|n| n.as_str())
                            .collect(),
                    ),
                    Some(Param::Consumer) => (
                        "consumer",
                        all_nodes
                            .iter()
                            .filter(|n| n.starts_with("consumer-"))
                            .map(|n| n.as_str())
                            .collect(),
                    ),
                    _ => ("node", all_nodes.iter().map(|n| n.as_str()).collect()),
                };
                match resolve_node(s, n) {
                    Some(id) if want(id) => {}
                    found => {
                        let message = match found {
                            Some(_) => format!(
                                "`{}` takes a {kind} here, and `{n}` is not one",
                                func.name()
                            ),
                            None => format!("this scenario has no {kind} `{n}`"),
                        };
                        out.push(err(message, Some(did_you_mean(n, &candidates, kind))));
                    }
                }
            }
            ArgValue::Group(g) => {
                let standalone = matches!(func, Func::Lag | Func::Processed)
                    && resolve_node(s, g).is_some_and(|id| match id {
                        NodeId::Consumer(i) => s.consumers[i as usize].group.is_none(),
                        _ => false,
                    });
                if !groups.contains(&g.as_str()) && !standalone {
                    out.push(err(
                        format!("this scenario has no consumer group `{g}`"),
                        Some(did_you_mean(g, &groups, "group")),
                    ));
                }
            }
            ArgValue::Checker(_) => {}
        }
    }
    out
}

fn did_you_mean(name: &str, candidates: &[&str], kind: &str) -> String {
    match suggest(name, candidates.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None if candidates.is_empty() => format!("it has no {kind}s"),
        None => format!("its {kind}s: {}", candidates.join(", ")),
    }
}

fn check_partition(
    tp: &TopicPartition,
    topics: &BTreeMap<Arc<str>, u32>,
) -> Option<(String, Option<String>)> {
    match topics.get(&tp.topic) {
        None => {
            let help = match suggest(&tp.topic, topics.keys().map(|t| &**t)) {
                Some(t) => format!("did you mean `{t}-{}`?", tp.partition),
                None => format!(
                    "its topics: {}",
                    topics.keys().map(|t| &**t).collect::<Vec<_>>().join(", ")
                ),
            };
            Some((
                format!("this scenario has no topic `{}`", tp.topic),
                Some(help),
            ))
        }
        Some(&n) if tp.partition >= n => {
            let range = match n {
                0 => "no partitions".to_string(),
                1 => format!("1 partition: {}-0", tp.topic),
                n => format!("{n} partitions: {t}-0 to {t}-{}", n - 1, t = tp.topic),
            };
            Some((
                format!("`{}` has {range}", tp.topic),
                Some(format!(
                    "partitions are numbered from 0; did you mean `{}-{}`?",
                    tp.topic,
                    n.saturating_sub(1)
                )),
            ))
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests;
