//! Executor: walks a [`Tree`] against a [`Value`] with Go's semantics (variables and scopes,
//! truthiness, `range` over lists/maps/ints, `break`/`continue`, pipelines that pass the
//! previous result as the last argument, short-circuit `and`/`or`, field and method chains,
//! missing-key modes) and Go's error texts and positions.

use std::collections::HashMap;
use std::sync::Arc;

use crate::ast::{Arg, Branch, Command, Node, Pipe, Tree};
use crate::error::Error;
use crate::format::{Stringer, sprint_value};
use crate::funcs::{Arity, CallCtx, FuncMap, parse_type_err};
use crate::gotime::{Time, duration_string};
use crate::htmlctx::HtmlCtx;
use crate::value::{MapKind, Value};
use crate::{Env, Escape, MissingKey, Options};

pub(crate) struct Exec<'a> {
    pub(crate) templates: &'a HashMap<String, Arc<Tree>>,
    pub(crate) overlay: Option<&'a HashMap<String, Arc<Tree>>>,
    pub(crate) funcs: &'a FuncMap,
    pub(crate) builtins: &'a FuncMap,
    pub(crate) env: &'a Env<'a>,
    pub(crate) options: &'a Options,
}

enum Flow {
    Normal,
    Break,
    Continue,
}

/// The node Go's executor would blame for an error (its `state.at(node)`).
#[derive(Clone, Copy)]
enum At<'a> {
    Arg(&'a Arg),
    /// A command (its arguments), e.g. for `error calling f`.
    Args(&'a [Arg]),
    Pipe(&'a Pipe),
    Template(usize, &'a str, Option<&'a Pipe>),
}

impl At<'_> {
    fn pos(&self) -> usize {
        match self {
            At::Arg(a) => a.pos(),
            At::Args(args) => args.first().map_or(0, Arg::pos),
            At::Pipe(p) => p.pos,
            At::Template(pos, ..) => *pos,
        }
    }

    fn context(&self) -> String {
        match self {
            At::Arg(a) => a.to_string(),
            At::Args(args) => args
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            At::Pipe(p) => p.to_string(),
            At::Template(_, name, Some(p)) => format!("{{{{template {name:?} {p}}}}}"),
            At::Template(_, name, None) => format!("{{{{template {name:?}}}}}"),
        }
    }
}

struct State<'a> {
    x: &'a Exec<'a>,
    html: Option<HtmlCtx>,
    tree: &'a Tree,
    cur: Option<At<'a>>,
    /// The last map lookup found its key with a nil value (Go: a nil interface).
    present_nil: bool,
    vars: Vec<(String, Value)>,
    depth: usize,
    out: String,
}

/// A Stringer backed by the registered `String` methods.
struct MethodStringer<'a> {
    funcs: &'a FuncMap,
    env: &'a Env<'a>,
}

impl Stringer for MethodStringer<'_> {
    fn stringify(&self, v: &Value) -> Option<String> {
        let t = v.method_type()?;
        let m = self.funcs.method(t, "String")?;
        let ctx = CallCtx {
            env: self.env,
            stringer: self,
        };
        match m(&ctx, v, &[]) {
            Ok(Value::String(s)) => Some(s),
            _ => None,
        }
    }
}

type R<T> = Result<T, Error>;

impl<'a> Exec<'a> {
    pub(crate) fn lookup(&self, name: &str) -> Option<&'a Tree> {
        if let Some(o) = self.overlay
            && let Some(t) = o.get(name)
        {
            return Some(t);
        }
        self.templates.get(name).map(|t| &**t)
    }

    pub(crate) fn run(&'a self, tree: &'a Tree, data: &Value) -> R<String> {
        let mut st = State {
            x: self,
            tree,
            cur: None,
            present_nil: false,
            html: (self.env.escape == Escape::Html).then(HtmlCtx::default),
            vars: vec![("$".to_string(), data.clone())],
            depth: 0,
            out: String::new(),
        };
        st.walk(data, &tree.root)?;
        Ok(st.out)
    }
}

impl<'a> State<'a> {
    fn stringer(&self) -> MethodStringer<'a> {
        MethodStringer {
            funcs: self.x.funcs,
            env: self.x.env,
        }
    }

    fn err(&self, pos: usize, context: String, msg: impl Into<String>) -> Error {
        let src = self.tree.source.as_bytes();
        let pos = pos.min(src.len());
        let text = &src[..pos];
        let (line, col) = match text.iter().rposition(|b| *b == b'\n') {
            None => (1, pos),
            Some(nl) => (
                1 + text.iter().filter(|b| **b == b'\n').count(),
                pos - (nl + 1),
            ),
        };
        Error::Exec {
            location: format!("{}:{}:{}", self.tree.parse_name, line, col),
            template: self.tree.name.clone(),
            context,
            message: msg.into(),
        }
    }

    fn at(&mut self, at: At<'a>) {
        self.cur = Some(at);
    }

    /// An error at the node Go's executor was last at.
    fn here(&self, msg: impl Into<String>) -> Error {
        match &self.cur {
            Some(at) => self.err(at.pos(), at.context(), msg),
            None => self.err(0, String::new(), msg),
        }
    }

    fn mark(&self) -> usize {
        self.vars.len()
    }

    fn var(&self, name: &str) -> Option<&Value> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    fn set_var(&mut self, name: &str, v: Value) -> bool {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = v;
            true
        } else {
            false
        }
    }

    fn write(&mut self, s: &str) -> R<()> {
        self.out.push_str(s);
        if self.out.len() > self.x.options.max_output_bytes {
            return Err(self.here(format!(
                "output exceeds the limit of {} bytes",
                self.x.options.max_output_bytes
            )));
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, nodes: &'a [Node]) -> R<Flow> {
        for n in nodes {
            match self.walk_node(dot, n)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_node(&mut self, dot: &Value, node: &'a Node) -> R<Flow> {
        match node {
            Node::Text(t) => {
                if let Some(h) = &mut self.html {
                    let t = h.feed(t);
                    self.write(&t)?;
                } else {
                    self.write(t)?;
                }
            }
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print_value(&v, pipe)?;
                }
            }
            Node::If(b) => return self.walk_if_with(dot, b, false),
            Node::With(b) => return self.walk_if_with(dot, b, true),
            Node::Range(b) => return self.walk_range(dot, b),
            Node::Template { pos, name, pipe } => {
                self.at(At::Template(*pos, name, pipe.as_ref()));
                let Some(tree) = self.x.lookup(name) else {
                    return Err(self.here(format!("template {name:?} not defined")));
                };
                if self.depth >= self.x.options.max_depth {
                    return Err(self.here(format!(
                        "exceeded maximum template depth ({})",
                        self.x.options.max_depth
                    )));
                }
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Nil,
                };
                let saved_vars =
                    std::mem::replace(&mut self.vars, vec![("$".to_string(), new_dot.clone())]);
                let saved_tree = std::mem::replace(&mut self.tree, tree);
                self.depth += 1;
                let res = self.walk(&new_dot, &tree.root);
                self.depth -= 1;
                self.tree = saved_tree;
                self.vars = saved_vars;
                res?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn print_value(&mut self, v: &Value, pipe: &'a Pipe) -> R<()> {
        let s = if self.html.is_none() {
            match v {
                Value::Nil => "<no value>".to_string(),
                other => sprint_value(other, &self.stringer()),
            }
        } else {
            // html/template skips untyped nil arguments: nothing but the context's escaping
            // of "" is printed.
            let raw = match v {
                Value::Nil => String::new(),
                other => sprint_value(other, &self.stringer()),
            };
            let prior = pipe.cmds.last().and_then(|c| match c.args.first() {
                Some(Arg::Ident { name, .. }) => Some(name.as_str()),
                _ => None,
            });
            let trusted = matches!(v, Value::Html(_));
            match &mut self.html {
                Some(h) => h.escape(&raw, trusted, prior),
                None => raw,
            }
        };
        self.write(&s)
    }

    fn walk_if_with(&mut self, dot: &Value, b: &'a Branch, is_with: bool) -> R<Flow> {
        let mark = self.mark();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let res = if val.is_true() {
            if is_with {
                self.walk(&val, &b.list)
            } else {
                self.walk(dot, &b.list)
            }
        } else if let Some(e) = &b.else_list {
            self.walk(dot, e)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        res
    }

    fn range_iter(&mut self, b: &'a Branch, key: Value, elem: Value) -> R<Flow> {
        let mark = self.mark();
        let decl = &b.pipe.decl;
        if b.pipe.is_assign {
            match decl.len() {
                1 => {
                    self.set_var(&decl[0], elem.clone());
                }
                2 => {
                    self.set_var(&decl[0], key);
                    self.set_var(&decl[1], elem.clone());
                }
                _ => {}
            }
        } else {
            match decl.len() {
                1 => self.vars.push((decl[0].clone(), elem.clone())),
                2 => {
                    self.vars.push((decl[0].clone(), key));
                    self.vars.push((decl[1].clone(), elem.clone()));
                }
                _ => {}
            }
        }
        let r = self.walk(&elem, &b.list);
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Value, b: &'a Branch) -> R<Flow> {
        let mark = self.mark();
        let val = self.eval_pipeline_cmds(dot, &b.pipe)?;
        // Go's evalPipeline declares the range variables with the whole value first, so
        // they are visible (as that value) in the else branch.
        if !b.pipe.is_assign {
            for name in &b.pipe.decl {
                self.vars.push((name.clone(), val.clone()));
            }
        }
        let mut ran = false;
        match &val {
            Value::List(l) => {
                for (i, e) in l.items.iter().enumerate() {
                    ran = true;
                    match self.range_iter(b, Value::from(i), e.clone())? {
                        Flow::Break => break,
                        Flow::Continue | Flow::Normal => {}
                    }
                }
            }
            Value::Map(m) if m.kind != MapKind::Struct => {
                for (k, e) in &m.entries {
                    ran = true;
                    match self.range_iter(b, Value::String(k.clone()), e.clone())? {
                        Flow::Break => break,
                        Flow::Continue | Flow::Normal => {}
                    }
                }
            }
            Value::Int(n) => {
                if b.pipe.decl.len() > 1 {
                    return Err(self.here(format!(
                        "can't use {n} to iterate over more than one variable"
                    )));
                }
                for i in 0..*n {
                    ran = true;
                    match self.range_iter(b, Value::Int(i), Value::Int(i))? {
                        Flow::Break => break,
                        Flow::Continue | Flow::Normal => {}
                    }
                }
            }
            Value::Nil => {}
            other => {
                return Err(self.here(format!(
                    "range can't iterate over {}",
                    sprint_value(other, &self.stringer())
                )));
            }
        }
        let res = if !ran && let Some(e) = &b.else_list {
            self.walk(dot, e)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        res.map(|_| Flow::Normal)
    }

    /// Evaluate the commands of a pipeline (no declarations).
    fn eval_pipeline_cmds(&mut self, dot: &Value, pipe: &'a Pipe) -> R<Value> {
        self.at(At::Pipe(pipe));
        let mut fin: Option<Value> = None;
        for c in &pipe.cmds {
            let v = self.eval_command(dot, c, fin.take())?;
            fin = Some(v);
        }
        Ok(fin.unwrap_or(Value::Nil))
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'a Pipe) -> R<Value> {
        let v = self.eval_pipeline_cmds(dot, pipe)?;
        for name in &pipe.decl {
            if pipe.is_assign {
                if !self.set_var(name, v.clone()) {
                    return Err(self.here(format!("undefined variable: {name}")));
                }
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn not_a_function(&self, cmd: &Command, fin: &Option<Value>) -> R<()> {
        if cmd.args.len() > 1 || fin.is_some() {
            return Err(self.here(format!(
                "can't give argument to non-function {}",
                cmd.args[0]
            )));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &'a Command, fin: Option<Value>) -> R<Value> {
        let first = &cmd.args[0];
        if !matches!(first, Arg::Ident { .. }) {
            self.at(At::Arg(first));
        }
        match first {
            Arg::Field { idents, .. } => {
                self.eval_field_chain(dot, dot.clone(), first, idents, &cmd.args, fin)
            }
            Arg::Chain { node, fields, .. } => {
                if matches!(**node, Arg::Nil(_)) {
                    return Err(self.here(format!("indirection through explicit nil in {first}")));
                }
                let recv = self.eval_arg(dot, node)?;
                self.eval_field_chain(dot, recv, first, fields, &cmd.args, fin)
            }
            Arg::Ident { name, .. } => self.eval_function(dot, name, first, &cmd.args, fin),
            Arg::Pipe(p) => {
                self.not_a_function(cmd, &fin)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable { name, idents, .. } => {
                let Some(v) = self.var(name).cloned() else {
                    return Err(self.here(format!("undefined variable: {name}")));
                };
                if idents.is_empty() {
                    self.not_a_function(cmd, &fin)?;
                    return Ok(v);
                }
                self.eval_field_chain(dot, v, first, idents, &cmd.args, fin)
            }
            Arg::Dot(_) => {
                self.not_a_function(cmd, &fin)?;
                Ok(dot.clone())
            }
            Arg::Nil(_) => Err(self.here("nil is not a command")),
            Arg::Literal { value, .. } => {
                self.not_a_function(cmd, &fin)?;
                Ok(value.clone())
            }
        }
    }

    fn eval_arg(&mut self, dot: &Value, a: &'a Arg) -> R<Value> {
        self.at(At::Arg(a));
        match a {
            Arg::Field { idents, .. } => {
                self.eval_field_chain(dot, dot.clone(), a, idents, &[], None)
            }
            Arg::Variable { name, idents, .. } => {
                let Some(v) = self.var(name).cloned() else {
                    return Err(self.here(format!("undefined variable: {name}")));
                };
                if idents.is_empty() {
                    return Ok(v);
                }
                self.eval_field_chain(dot, v, a, idents, &[], None)
            }
            Arg::Chain { node, fields, .. } => {
                if matches!(**node, Arg::Nil(_)) {
                    return Err(self.here(format!("indirection through explicit nil in {a}")));
                }
                let recv = self.eval_arg(dot, node)?;
                self.eval_field_chain(dot, recv, a, fields, &[], None)
            }
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Ok(Value::Nil),
            Arg::Ident { name, .. } => {
                self.eval_function(dot, name, a, std::slice::from_ref(a), None)
            }
            Arg::Literal { value, .. } => Ok(value.clone()),
            Arg::Pipe(p) => {
                let mark = self.mark();
                let v = self.eval_pipeline(dot, p);
                self.vars.truncate(mark);
                v
            }
        }
    }

    /// `args` is the whole command (args[0] is the field node itself), as in Go.
    fn eval_field_chain(
        &mut self,
        dot: &Value,
        mut recv: Value,
        node: &'a Arg,
        idents: &'a [String],
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let n = idents.len();
        for (i, id) in idents[..n - 1].iter().enumerate() {
            recv = self.eval_field(dot, id, node, &[], None, recv)?;
            // A key that is present with a nil value is a nil interface in Go: reading a
            // field through it fails, unlike a missing key.
            if recv.is_nil() && self.present_nil {
                return Err(self.here(format!(
                    "nil pointer evaluating interface {{}}.{}",
                    idents[i + 1]
                )));
            }
        }
        self.eval_field(dot, &idents[n - 1], node, args, fin, recv)
    }

    fn eval_method_args(
        &mut self,
        dot: &Value,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> R<Vec<Value>> {
        let mut out = Vec::with_capacity(args.len());
        for a in args.iter().skip(1) {
            out.push(self.eval_arg(dot, a)?);
        }
        if let Some(f) = fin {
            out.push(f);
        }
        Ok(out)
    }

    /// Errors here are reported at the node Go's executor was last at (`state.at`), which is
    /// the field node unless evaluating a chain's operand moved it.
    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        node: &'a Arg,
        args: &'a [Arg],
        fin: Option<Value>,
        recv: Value,
    ) -> R<Value> {
        let has_args = args.len() > 1 || fin.is_some();
        self.present_nil = false;
        if recv.is_nil() {
            if self.x.options.missing_key == MissingKey::Error {
                return Err(self.here(format!("nil data; no entry for key {name:?}")));
            }
            return Ok(Value::Nil);
        }
        // Registered methods come first, as Go's method sets do.
        if let Some(t) = recv.method_type()
            && let Some(m) = self.x.funcs.method(t, name).cloned()
        {
            let argv = self.eval_method_args(dot, args, fin)?;
            let st = self.stringer();
            let ctx = CallCtx {
                env: self.x.env,
                stringer: &st,
            };
            let r = m(&ctx, &recv, &argv);
            return r.map_err(|e| {
                self.at(At::Arg(node));
                match parse_type_err(&e) {
                    Some((_, expected, got)) => self.here(format!(
                        "wrong type for value; expected {expected}; got {got}"
                    )),
                    None => self.here(format!("error calling {name}: {e}")),
                }
            });
        }
        match &recv {
            Value::Time(t) => {
                let argv = self.eval_method_args(dot, args, fin)?;
                return time_method(t, name, &argv).map_err(|e| self.here(e));
            }
            Value::Duration(d) => {
                let argv = self.eval_method_args(dot, args, fin)?;
                return duration_method(*d, name, &argv).map_err(|e| self.here(e));
            }
            Value::Map(m) => match m.kind {
                MapKind::Struct => {
                    self.present_nil = false;
                    if let Some(v) = m.entries.get(name) {
                        self.present_nil = v.is_nil();
                        if has_args {
                            return Err(self.here(format!(
                                "{name} has arguments but cannot be invoked as function"
                            )));
                        }
                        return Ok(v.clone());
                    }
                }
                MapKind::Any | MapKind::Strings => {
                    if has_args {
                        return Err(self.here(format!("{name} is not a method but has arguments")));
                    }
                    if let Some(v) = m.entries.get(name) {
                        self.present_nil = v.is_nil();
                        return Ok(v.clone());
                    }
                    self.present_nil = false;
                    return match self.x.options.missing_key {
                        MissingKey::Default => Ok(Value::Nil),
                        MissingKey::Zero => Ok(if m.kind == MapKind::Strings {
                            Value::String(String::new())
                        } else {
                            // The zero value of interface{} is a nil interface.
                            self.present_nil = true;
                            Value::Nil
                        }),
                        MissingKey::Error => {
                            Err(self.here(format!("map has no entry for key {name:?}")))
                        }
                    };
                }
            },
            _ => {}
        }
        Err(self.here(format!(
            "can't evaluate field {name} in type {}",
            recv.type_name()
        )))
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        name: &str,
        node: &'a Arg,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        self.at(At::Arg(node));
        let user = self
            .x
            .env
            .funcs
            .and_then(|f| f.get_with_arity(name))
            .or_else(|| self.x.funcs.get_with_arity(name))
            .map(|(f, a)| (f.clone(), a));
        let (func, arity) = match user {
            Some(f) => f,
            None => {
                if name == "and" || name == "or" {
                    return self.eval_and_or(dot, name, args, fin);
                }
                match self.x.builtins.get_with_arity(name) {
                    Some((f, a)) => (f.clone(), a),
                    None => return Err(self.here(format!("{name:?} is not a defined function"))),
                }
            }
        };
        // Go checks the argument count before evaluating arguments, at the function name.
        let given = args.len().saturating_sub(1);
        let num_in = given + usize::from(fin.is_some());
        match arity {
            Arity::Exactly(n) if num_in != n => {
                return Err(self.here(format!(
                    "wrong number of args for {name}: want {n} got {num_in}"
                )));
            }
            Arity::AtLeast(n) if num_in < n => {
                return Err(self.here(format!(
                    "wrong number of args for {name}: want at least {n} got {given}"
                )));
            }
            _ => {}
        }
        let mut argv = Vec::with_capacity(args.len());
        for a in args.iter().skip(1) {
            argv.push(self.eval_arg(dot, a)?);
        }
        if let Some(f) = fin {
            argv.push(f);
        }
        let st = self.stringer();
        let ctx = CallCtx {
            env: self.x.env,
            stringer: &st,
        };
        let r = func(&ctx, &argv);
        r.map_err(|e| {
            if let Some((i, expected, got)) = parse_type_err(&e) {
                return self.type_error(args, given, i, expected, got);
            }
            // Go reports call errors at the whole command (`at <index .L 5>`).
            self.at(At::Args(args));
            self.here(format!("error calling {name}: {e}"))
        })
    }

    /// Go's argument conversion errors: literals (`expected string; found 1`), nil (`cannot
    /// assign nil to string`) and values (`wrong type for value; expected int; got string`),
    /// reported at the argument, or for the piped value at the last node visited.
    fn type_error(
        &mut self,
        args: &'a [Arg],
        given: usize,
        i: usize,
        expected: &str,
        got: &str,
    ) -> Error {
        let wrong = || {
            if got.is_empty() {
                format!("invalid value; expected {expected}")
            } else {
                format!("wrong type for value; expected {expected}; got {got}")
            }
        };
        if i >= given {
            return self.here(wrong());
        }
        let node = &args[i + 1];
        self.at(At::Arg(node));
        let kind = match expected {
            "int" => "integer",
            "float64" => "float",
            other => other,
        };
        match node {
            Arg::Literal { text, .. } => self.here(format!("expected {kind}; found {text}")),
            Arg::Nil(_) => self.here(format!("cannot assign nil to {expected}")),
            _ => self.here(wrong()),
        }
    }

    fn eval_and_or(
        &mut self,
        dot: &Value,
        name: &str,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let n = args.len() - 1 + usize::from(fin.is_some());
        if n == 0 {
            return Err(self.here(format!(
                "wrong number of args for {name}: want at least 1 got 0"
            )));
        }
        let want = name == "or";
        let mut v = Value::Nil;
        for a in args.iter().skip(1) {
            v = self.eval_arg(dot, a)?;
            if v.is_true() == want {
                return Ok(v);
            }
        }
        if let Some(f) = fin {
            v = f;
        }
        Ok(v)
    }
}

fn time_method(t: &Time, name: &str, args: &[Value]) -> Result<Value, String> {
    let no_args = |v: Value| -> Result<Value, String> {
        if args.is_empty() {
            Ok(v)
        } else {
            Err(format!(
                "wrong number of args for {name}: want 0 got {}",
                args.len()
            ))
        }
    };
    let dt = t.datetime();
    use chrono::{Datelike, Timelike};
    match name {
        "Format" => match args {
            [Value::String(l)] => Ok(Value::String(t.format(l))),
            _ => Err(format!(
                "wrong number of args for Format: want 1 got {}",
                args.len()
            )),
        },
        "String" => no_args(Value::String(t.go_string())),
        "Unix" => no_args(Value::Int(t.unix())),
        "UnixMilli" => no_args(Value::Int(
            i64::try_from(t.unix_nanos() / 1_000_000).unwrap_or(i64::MIN),
        )),
        "UnixMicro" => no_args(Value::Int(
            i64::try_from(t.unix_nanos() / 1_000).unwrap_or(i64::MIN),
        )),
        "UnixNano" => no_args(Value::Int(
            i64::try_from(t.unix_nanos()).unwrap_or(i64::MIN),
        )),
        "UTC" | "Local" => no_args(Value::Time(t.to_utc())),
        "IsZero" => no_args(Value::Bool(t.is_zero())),
        "Year" => no_args(Value::Int(i64::from(dt.year()))),
        "Month" => no_args(Value::String(t.format("January"))),
        "Day" => no_args(Value::Int(i64::from(dt.day()))),
        "Hour" => no_args(Value::Int(i64::from(dt.hour()))),
        "Minute" => no_args(Value::Int(i64::from(dt.minute()))),
        "Second" => no_args(Value::Int(i64::from(dt.second()))),
        "Nanosecond" => no_args(Value::Int(i64::from(dt.nanosecond()))),
        "YearDay" => no_args(Value::Int(i64::from(dt.ordinal()))),
        "Weekday" => no_args(Value::String(t.format("Monday"))),
        "Add" => match args {
            [Value::Duration(d) | Value::Int(d)] => Ok(Value::Time(t.add(*d))),
            // An integral constant such as 3600e9 is a valid Duration argument in Go.
            [Value::Float(f)] if f.fract() == 0.0 && f.abs() < 9.2e18 => {
                Ok(Value::Time(t.add(*f as i64)))
            }
            _ => Err("wrong type for value; expected time.Duration".into()),
        },
        "Sub" => match args {
            [Value::Time(u)] => Ok(Value::Duration(t.sub(u))),
            _ => Err("wrong type for value; expected time.Time".into()),
        },
        "Before" | "After" | "Equal" => match args {
            [Value::Time(u)] => {
                let (a, b) = (t.unix_nanos(), u.unix_nanos());
                Ok(Value::Bool(match name {
                    "Before" => a < b,
                    "After" => a > b,
                    _ => a == b,
                }))
            }
            _ => Err("wrong type for value; expected time.Time".into()),
        },
        _ => Err(format!("can't evaluate field {name} in type time.Time")),
    }
}

fn duration_method(d: i64, name: &str, args: &[Value]) -> Result<Value, String> {
    if !args.is_empty() {
        return Err(format!(
            "wrong number of args for {name}: want 0 got {}",
            args.len()
        ));
    }
    Ok(match name {
        "String" => Value::String(duration_string(d)),
        "Seconds" => Value::Float(d as f64 / 1e9),
        "Minutes" => Value::Float(d as f64 / 60e9),
        "Hours" => Value::Float(d as f64 / 3600e9),
        "Milliseconds" => Value::Int(d / 1_000_000),
        "Microseconds" => Value::Int(d / 1_000),
        "Nanoseconds" => Value::Int(d),
        "Abs" => Value::Duration(d.saturating_abs()),
        _ => return Err(format!("can't evaluate field {name} in type time.Duration")),
    })
}
