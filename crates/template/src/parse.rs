//! Parser: tokens to [`Tree`]s, following Go's `text/template/parse` grammar and its checks
//! (undefined functions and variables, `break` outside `range`, misplaced `else`/`end`).

use std::collections::HashSet;
use std::sync::Arc;

use crate::ast::{Arg, Branch, Command, Node, Pipe, Tree};
use crate::lex::{Item, Kw, Tok, lex, unquote_body};
use crate::value::Value;

/// A parse failure: byte position in the source and Go's message.
#[derive(Debug)]
pub(crate) struct ParseError {
    pub(crate) pos: usize,
    pub(crate) msg: String,
}

type PResult<T> = Result<T, ParseError>;

/// Maximum nesting of parenthesised pipelines and control structures (Go's parser has a
/// similar guard with the same message).
const MAX_DEPTH: usize = 100;

/// Everything one `Parse` call produced: the main body and the `define`d templates.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) main: Tree,
    pub(crate) defines: Vec<Tree>,
}

struct Parser<'a> {
    items: Vec<Item>,
    i: usize,
    name: String,
    source: Arc<str>,
    has_func: &'a dyn Fn(&str) -> bool,
    vars: Vec<String>,
    range_depth: usize,
    action_start: Option<usize>,
    depth: usize,
    defines: Vec<Tree>,
}

/// Parse `src` as template `name`; `has_func` tells which function names exist.
pub(crate) fn parse(name: &str, src: &str, has_func: &dyn Fn(&str) -> bool) -> PResult<Parsed> {
    let items = lex(src);
    let source: Arc<str> = Arc::from(src);
    let mut p = Parser {
        items,
        i: 0,
        name: name.to_string(),
        source: source.clone(),
        has_func,
        vars: vec!["$".into()],
        range_depth: 0,
        action_start: None,
        depth: 0,
        defines: Vec::new(),
    };
    let root = p.parse_top()?;
    Ok(Parsed {
        main: Tree {
            name: name.to_string(),
            parse_name: name.to_string(),
            source,
            root,
        },
        defines: p.defines,
    })
}

/// Go's `IsEmptyTree`: only whitespace text (and nothing else) counts as empty.
pub(crate) fn is_empty_tree(nodes: &[Node]) -> bool {
    nodes.iter().all(|n| match n {
        Node::Text(t) => t.trim().is_empty(),
        _ => false,
    })
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Text(s) => format!("{s:?}"),
        Tok::LeftDelim => "<left delim>".into(),
        Tok::RightDelim => "<right delim>".into(),
        Tok::Ident(s) => format!("<{s}>"),
        Tok::Field(s) => format!("<.{s}>"),
        Tok::Variable(s) => format!("<{s}>"),
        Tok::Dot => "<.>".into(),
        Tok::Number(s) | Tok::Char(s) => format!("{s:?}"),
        Tok::Str(src, _) => src.clone(),
        Tok::Bool(b) => format!("{b:?}"),
        Tok::Nil => "<nil>".into(),
        Tok::Pipe => "\"|\"".into(),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Assign => "\"=\"".into(),
        Tok::Comma => "\",\"".into(),
        Tok::Space => "\" \"".into(),
        Tok::Keyword(k) => format!("<{}>", k.as_str()),
        Tok::Error(msg) => msg.clone(),
        Tok::Eof => "EOF".into(),
    }
}

impl Parser<'_> {
    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> PResult<T> {
        Err(ParseError {
            pos,
            msg: msg.into(),
        })
    }

    fn peek(&self) -> &Item {
        &self.items[self.i.min(self.items.len() - 1)]
    }

    fn next(&mut self) -> Item {
        let it = self.items[self.i.min(self.items.len() - 1)].clone();
        if self.i < self.items.len() {
            self.i += 1;
        }
        it
    }

    fn skip_space(&mut self) {
        while matches!(self.peek().tok, Tok::Space) {
            self.i += 1;
        }
    }

    fn next_non_space(&mut self) -> Item {
        self.skip_space();
        self.next()
    }

    fn peek_non_space(&mut self) -> &Item {
        self.skip_space();
        self.peek()
    }

    fn line_of(&self, pos: usize) -> usize {
        let end = pos.min(self.source.len());
        1 + self.source.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
    }

    fn unexpected<T>(&self, it: &Item, context: &str) -> PResult<T> {
        if let Tok::Error(msg) = &it.tok {
            // Current Go reports lexer errors as they are, noting where a multi-line action
            // started.
            let mut extra = String::new();
            if let Some(start) = self.action_start {
                let (al, tl) = (self.line_of(start), self.line_of(it.pos));
                if al != tl {
                    extra = format!(" in action started at {}:{al}", self.name);
                    if msg.ends_with(" action") {
                        extra = extra[" in action".len()..].to_string();
                    }
                }
            }
            return self.err(it.pos, format!("{msg}{extra}"));
        }
        self.err(
            it.pos,
            format!("unexpected {} in {context}", describe(&it.tok)),
        )
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut nodes = Vec::new();
        loop {
            match self.peek().tok.clone() {
                Tok::Eof => break,
                Tok::LeftDelim => {
                    let save = self.i;
                    self.next();
                    if matches!(self.peek_non_space().tok, Tok::Keyword(Kw::Define)) {
                        self.next();
                        self.parse_define()?;
                        continue;
                    }
                    self.i = save;
                    match self.text_or_action()? {
                        Step::Node(n) => nodes.push(n),
                        Step::End(pos) => return self.err(pos, "unexpected {{end}}"),
                        Step::Else(pos, _) => return self.err(pos, "unexpected {{else}}"),
                    }
                }
                _ => match self.text_or_action()? {
                    Step::Node(n) => nodes.push(n),
                    Step::End(pos) => return self.err(pos, "unexpected {{end}}"),
                    Step::Else(pos, _) => return self.err(pos, "unexpected {{else}}"),
                },
            }
        }
        Ok(nodes)
    }

    fn parse_define(&mut self) -> PResult<()> {
        let context = "define clause";
        let name_item = self.next_non_space();
        let name = match &name_item.tok {
            Tok::Str(_, v) => v.clone(),
            _ => return self.unexpected(&name_item, context),
        };
        let close = self.next_non_space();
        if close.tok != Tok::RightDelim {
            return self.unexpected(&close, context);
        }
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        if let End::Else(pos, _) = end {
            return self.err(pos, "unexpected {{else}}");
        }
        self.add_define(name, list, name_item.pos)
    }

    /// Go's `Tree.add`: a second non-empty definition of a name in one parse is an error; an
    /// empty one never replaces a non-empty one.
    fn add_define(&mut self, name: String, root: Vec<Node>, pos: usize) -> PResult<()> {
        if let Some(i) = self.defines.iter().position(|t| t.name == name) {
            if is_empty_tree(&self.defines[i].root) {
                self.defines.remove(i);
            } else if is_empty_tree(&root) {
                return Ok(());
            } else {
                return self.err(
                    pos,
                    format!("template: multiple definition of template {name:?}"),
                );
            }
        }
        self.defines.push(Tree {
            name,
            parse_name: self.name.clone(),
            source: self.source.clone(),
            root,
        });
        Ok(())
    }

    /// Parse nodes until `{{end}}` or `{{else}}`.
    fn item_list(&mut self) -> PResult<(Vec<Node>, End)> {
        let mut nodes = Vec::new();
        loop {
            if matches!(self.peek().tok, Tok::Eof) {
                let pos = self.peek().pos;
                return self.err(pos, "unexpected EOF");
            }
            match self.text_or_action()? {
                Step::Node(n) => nodes.push(n),
                Step::End(_) => return Ok((nodes, End::End)),
                Step::Else(pos, kw) => return Ok((nodes, End::Else(pos, kw))),
            }
        }
    }

    fn text_or_action(&mut self) -> PResult<Step> {
        let it = self.next();
        match it.tok {
            Tok::Text(t) => Ok(Step::Node(Node::Text(t))),
            Tok::LeftDelim => {
                let saved = self.action_start.replace(it.pos);
                let r = self.action();
                self.action_start = saved;
                r
            }
            _ => self.unexpected(&it, "input"),
        }
    }

    fn action(&mut self) -> PResult<Step> {
        let it = self.next_non_space();
        match it.tok {
            Tok::Keyword(Kw::Block) => return self.block_control(it.pos).map(Step::Node),
            Tok::Keyword(Kw::Break) => return self.break_control(it.pos, true).map(Step::Node),
            Tok::Keyword(Kw::Continue) => {
                return self.break_control(it.pos, false).map(Step::Node);
            }
            Tok::Keyword(Kw::Else) => return self.else_control(it.pos),
            Tok::Keyword(Kw::End) => {
                let close = self.next_non_space();
                if close.tok != Tok::RightDelim {
                    return self.unexpected(&close, "end");
                }
                return Ok(Step::End(it.pos));
            }
            Tok::Keyword(Kw::If) => return self.control(Kw::If).map(Step::Node),
            Tok::Keyword(Kw::Range) => return self.control(Kw::Range).map(Step::Node),
            Tok::Keyword(Kw::With) => return self.control(Kw::With).map(Step::Node),
            Tok::Keyword(Kw::Template) => return self.template_control(it.pos).map(Step::Node),
            _ => {}
        }
        self.i -= 1;
        let pipe = self.pipeline("command", Tok::RightDelim)?;
        Ok(Step::Node(Node::Action(pipe)))
    }

    fn break_control(&mut self, pos: usize, is_break: bool) -> PResult<Node> {
        let word = if is_break { "break" } else { "continue" };
        let close = self.next_non_space();
        if close.tok != Tok::RightDelim {
            return self.unexpected(&close, &format!("{{{{{word}}}}}"));
        }
        if self.range_depth == 0 {
            return self.err(pos, format!("{{{{{word}}}}} outside {{{{range}}}}"));
        }
        Ok(if is_break {
            Node::Break
        } else {
            Node::Continue
        })
    }

    fn else_control(&mut self, pos: usize) -> PResult<Step> {
        let peek = self.peek_non_space().clone();
        match peek.tok {
            Tok::Keyword(Kw::If) => Ok(Step::Else(pos, Some(Kw::If))),
            Tok::Keyword(Kw::With) => Ok(Step::Else(pos, Some(Kw::With))),
            _ => {
                let close = self.next_non_space();
                if close.tok != Tok::RightDelim {
                    return self.unexpected(&close, "else");
                }
                Ok(Step::Else(pos, None))
            }
        }
    }

    fn control(&mut self, kind: Kw) -> PResult<Node> {
        self.enter()?;
        let r = self.control_inner(kind);
        self.depth -= 1;
        r
    }

    fn control_inner(&mut self, kind: Kw) -> PResult<Node> {
        let var_mark = self.vars.len();
        let context = kind.as_str();
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        if kind == Kw::Range {
            self.range_depth += 1;
        }
        let (list, end) = self.item_list()?;
        if kind == Kw::Range {
            self.range_depth -= 1;
        }
        let else_list = match end {
            End::End => None,
            End::Else(_, chained) => {
                match chained {
                    Some(k)
                        if (k == Kw::If && kind == Kw::If)
                            || (k == Kw::With && kind == Kw::With) =>
                    {
                        // "else if"/"else with": the nested control consumes the single {{end}}.
                        self.next_non_space(); // the `if`/`with` keyword
                        let nested = self.control(k)?;
                        Some(vec![nested])
                    }
                    Some(k) => {
                        let it = self.next_non_space();
                        return self.err(it.pos, format!("unexpected <{}> in else", k.as_str()));
                    }
                    None => {
                        let (else_list, end2) = self.item_list()?;
                        if let End::Else(p2, _) = end2 {
                            return self.err(p2, "expected end; found {{else}}");
                        }
                        Some(else_list)
                    }
                }
            }
        };
        self.vars.truncate(var_mark);
        let branch = Branch {
            pipe,
            list,
            else_list,
        };
        Ok(match kind {
            Kw::If => Node::If(branch),
            Kw::Range => Node::Range(branch),
            _ => Node::With(branch),
        })
    }

    fn template_control(&mut self, pos: usize) -> PResult<Node> {
        let context = "template clause";
        let name_item = self.next_non_space();
        let name = match &name_item.tok {
            Tok::Str(_, v) => v.clone(),
            _ => return self.unexpected(&name_item, context),
        };
        let pipe = if matches!(self.peek_non_space().tok, Tok::RightDelim) {
            self.next();
            None
        } else {
            Some(self.pipeline(context, Tok::RightDelim)?)
        };
        Ok(Node::Template { pos, name, pipe })
    }

    fn block_control(&mut self, pos: usize) -> PResult<Node> {
        self.enter()?;
        let r = self.block_inner(pos);
        self.depth -= 1;
        r
    }

    fn block_inner(&mut self, pos: usize) -> PResult<Node> {
        let context = "block clause";
        let name_item = self.next_non_space();
        let name = match &name_item.tok {
            Tok::Str(_, v) => v.clone(),
            _ => return self.unexpected(&name_item, context),
        };
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        if let End::Else(p, _) = end {
            return self.err(p, "unexpected {{else}}");
        }
        self.add_define(name.clone(), list, name_item.pos)?;
        Ok(Node::Template {
            pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> PResult<Pipe> {
        self.enter()?;
        let r = self.pipeline_inner(context, end);
        self.depth -= 1;
        r
    }

    /// Bound recursion on nested parentheses and control structures, so hostile input (a
    /// LogQL query is user input) cannot exhaust the stack.
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            let pos = self.peek().pos;
            return self.err(pos, "max expression depth exceeded");
        }
        Ok(())
    }

    fn pipeline_inner(&mut self, context: &str, end: Tok) -> PResult<Pipe> {
        let pos = self.peek_non_space().pos;
        let mut pipe = Pipe {
            pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations.
        'decls: loop {
            let save = self.i;
            let v = self.peek_non_space().clone();
            let Tok::Variable(name) = &v.tok else { break };
            self.next();
            let next = self.peek_non_space().clone();
            match next.tok {
                Tok::Declare | Tok::Assign => {
                    pipe.is_assign = next.tok == Tok::Assign;
                    self.next();
                    if pipe.is_assign && !self.vars.contains(name) {
                        return self.err(v.pos, format!("undefined variable {name:?}"));
                    }
                    pipe.decl.push(name.clone());
                    self.vars.push(name.clone());
                    break 'decls;
                }
                Tok::Comma => {
                    self.next();
                    pipe.decl.push(name.clone());
                    self.vars.push(name.clone());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().tok {
                            Tok::Variable(_) | Tok::RightDelim | Tok::RParen => continue 'decls,
                            _ => return self.err(next.pos, "range can only initialize variables"),
                        }
                    }
                    return self.err(next.pos, format!("too many declarations in {context}"));
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        loop {
            let it = self.next_non_space();
            if it.tok == end {
                if pipe.cmds.is_empty() {
                    return self.err(it.pos, format!("missing value for {context}"));
                }
                for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                    match c.args.first() {
                        Some(
                            Arg::Field { .. }
                            | Arg::Chain { .. }
                            | Arg::Ident { .. }
                            | Arg::Pipe(_)
                            | Arg::Variable { .. },
                        ) => {}
                        Some(a) => {
                            return self.err(
                                a.pos(),
                                format!("non executable command in pipeline stage {}", i + 1),
                            );
                        }
                        None => {}
                    }
                }
                return Ok(pipe);
            }
            match it.tok {
                Tok::Bool(_)
                | Tok::Char(_)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Ident(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::Str(..)
                | Tok::Variable(_)
                | Tok::LParen => {
                    self.i -= 1;
                    let c = self.command()?;
                    pipe.cmds.push(c);
                }
                _ => return self.unexpected(&it, context),
            }
        }
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command { args: Vec::new() };
        loop {
            self.skip_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let it = self.next();
            match it.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RParen => {
                    self.i -= 1;
                }
                Tok::Pipe => {}
                _ => return self.unexpected(&it, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.err(pos, "empty command");
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if let Tok::Field(_) = self.peek().tok {
            // Go positions the combined node at the first chained field.
            let chain_pos = self.peek().pos;
            let mut fields = Vec::new();
            while let Tok::Field(f) = &self.peek().tok {
                fields.push(f.clone());
                self.next();
            }
            let pos = node.pos();
            return Ok(Some(match node {
                Arg::Field { mut idents, .. } => {
                    idents.extend(fields);
                    Arg::Field {
                        pos: chain_pos,
                        idents,
                    }
                }
                Arg::Variable {
                    name, mut idents, ..
                } => {
                    idents.extend(fields);
                    Arg::Variable {
                        pos: chain_pos,
                        name,
                        idents,
                    }
                }
                Arg::Literal { text, .. } => {
                    return self.err(pos, format!("unexpected . after term {text:?}"));
                }
                Arg::Dot(_) => return self.err(pos, "unexpected . after term \".\""),
                Arg::Nil(_) => return self.err(pos, "unexpected . after term \"nil\""),
                other => Arg::Chain {
                    pos: chain_pos,
                    node: Box::new(other),
                    fields,
                },
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let it = self.next_non_space();
        let pos = it.pos;
        Ok(Some(match it.tok {
            Tok::Ident(name) => {
                if !(self.has_func)(&name) {
                    return self.err(pos, format!("function {name:?} not defined"));
                }
                Arg::Ident { pos, name }
            }
            Tok::Dot => Arg::Dot(pos),
            Tok::Nil => Arg::Nil(pos),
            Tok::Variable(name) => {
                if !self.vars.contains(&name) {
                    return self.err(pos, format!("undefined variable {name:?}"));
                }
                Arg::Variable {
                    pos,
                    name,
                    idents: Vec::new(),
                }
            }
            Tok::Field(f) => Arg::Field {
                pos,
                idents: vec![f],
            },
            Tok::Bool(b) => Arg::Literal {
                pos,
                text: b.to_string(),
                value: Value::Bool(b),
            },
            Tok::Number(text) => {
                let value = number_value(&text).map_err(|msg| ParseError { pos, msg })?;
                Arg::Literal { pos, text, value }
            }
            Tok::Char(text) => {
                let body = &text[1..text.len() - 1];
                let s = unquote_body(body).map_err(|_| ParseError {
                    pos,
                    msg: format!("malformed character constant: {text}"),
                })?;
                let mut cs = s.chars();
                let (Some(c), None) = (cs.next(), cs.next()) else {
                    return self.err(pos, format!("malformed character constant: {text}"));
                };
                Arg::Literal {
                    pos,
                    text,
                    value: Value::Int(i64::from(c as u32)),
                }
            }
            Tok::Str(text, v) => Arg::Literal {
                pos,
                text,
                value: Value::String(v),
            },
            Tok::LParen => {
                let p = self.pipeline("parenthesized pipeline", Tok::RParen)?;
                Arg::Pipe(Box::new(p))
            }
            _ => {
                self.i -= 1;
                return Ok(None);
            }
        }))
    }
}

/// The value of a number literal as Go's `idealConstant` would give it to an `any` parameter:
/// float64 when written with `.`/exponent, else int.
fn number_value(text: &str) -> Result<Value, String> {
    let illegal = || format!("illegal number syntax: {text:?}");
    if text.ends_with('i') {
        return Err(format!("complex numbers are not supported: {text:?}"));
    }
    let clean = text.replace('_', "");
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, &clean[..]),
    };
    let lower = body.to_ascii_lowercase();
    let radix_int = |digits: &str, radix: u32| -> Result<Value, String> {
        let u = u64::from_str_radix(digits, radix).map_err(|_| illegal())?;
        let i = i64::try_from(u).map_err(|_| format!("{text} overflows int"))?;
        Ok(Value::Int(if neg { -i } else { i }))
    };
    if let Some(h) = lower.strip_prefix("0x") {
        if h.contains('p') || h.contains('.') {
            return Err(illegal());
        }
        return radix_int(h, 16);
    }
    if let Some(o) = lower.strip_prefix("0o") {
        return radix_int(o, 8);
    }
    if let Some(b) = lower.strip_prefix("0b") {
        return radix_int(b, 2);
    }
    if body.contains(['.', 'e', 'E']) {
        let f: f64 = body.parse().map_err(|_| illegal())?;
        return Ok(Value::Float(if neg { -f } else { f }));
    }
    if body.len() > 1 && body.starts_with('0') {
        // Go treats a leading 0 as octal.
        return radix_int(&body[1..], 8);
    }
    match body.parse::<i64>() {
        Ok(i) => Ok(Value::Int(if neg { -i } else { i })),
        Err(_) if body.bytes().all(|b| b.is_ascii_digit()) && !body.is_empty() => {
            Err(format!("{text} overflows int"))
        }
        Err(_) => Err(illegal()),
    }
}

enum Step {
    Node(Node),
    End(usize),
    Else(usize, Option<Kw>),
}

enum End {
    End,
    Else(usize, Option<Kw>),
}

/// Calls `f` on every argument of every pipeline in `nodes`, descending into parenthesised
/// pipelines, chains and the bodies of `if`/`range`/`with`: the one walk behind the
/// introspection helpers below.
fn walk_args(nodes: &[Node], f: &mut dyn FnMut(&Arg)) {
    fn arg(a: &Arg, f: &mut dyn FnMut(&Arg)) {
        f(a);
        match a {
            Arg::Pipe(p) => pipe(p, f),
            Arg::Chain { node, .. } => arg(node, f),
            _ => {}
        }
    }
    fn pipe(p: &Pipe, f: &mut dyn FnMut(&Arg)) {
        for c in &p.cmds {
            for a in &c.args {
                arg(a, f);
            }
        }
    }
    for n in nodes {
        match n {
            Node::Action(p) => pipe(p, f),
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                pipe(&b.pipe, f);
                walk_args(&b.list, f);
                if let Some(e) = &b.else_list {
                    walk_args(e, f);
                }
            }
            Node::Template { pipe: Some(p), .. } => pipe(p, f),
            _ => {}
        }
    }
}

/// Collect every identifier used in a field chain (`.a.b` gives `a`, `b`), like Loki's
/// `listNodeFields`, so callers know which labels a template reads.
pub(crate) fn field_names(nodes: &[Node], out: &mut Vec<String>) {
    walk_args(nodes, &mut |a| {
        if let Arg::Field { idents, .. } = a {
            out.extend(idents.iter().cloned());
        }
    });
}

/// Collect the names of every function a tree calls.
pub(crate) fn called_functions(nodes: &[Node], out: &mut HashSet<String>) {
    walk_args(nodes, &mut |a| {
        if let Arg::Ident { name, .. } = a {
            out.insert(name.clone());
        }
    });
}
