//! Evaluator for parsed Go templates, following Go's `text/template` exec rules with
//! `missingkey=error`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Template;
use super::alias::{container_ptr, substitute};

mod print;
use super::funcs::{Ctx, FuncDef, PrintPtr, Special, Ty};
use super::limits::Limits;
use super::literal::Number;
use super::parse::{Arg, ArgKind, Branch, Command, Node, Pipe};
use super::value::{Bytes, Map, MapKind, Value};

/// Where and why execution failed.
#[derive(Debug)]
pub(crate) struct ExecError {
    /// Byte offset of the node, or `None` for errors without a node.
    pub pos: Option<(usize, usize)>,
    /// Name of the template (tree) being executed.
    pub tree: String,
    pub msg: String,
}

pub(crate) enum Flow {
    Normal,
    Break,
    Continue,
}

/// Errors are boxed: results stay two words wide on the hot path.
type R<T> = Result<T, Box<ExecError>>;

pub(crate) struct State<'t> {
    tmpl: &'t Template,
    tree: &'t str,
    pub out: Vec<u8>,
    vars: smallvec::SmallVec<[(&'t str, Value); 8]>,
    depth: usize,
    steps: u64,
    limits: Limits,
}

fn number_for(n: &Number, ty: Ty) -> Result<Value, String> {
    match ty {
        Ty::Any => n.ideal.clone(),
        Ty::Int => n
            .int
            .map(Value::Int)
            .ok_or_else(|| format!("expected integer; found {}", n.text)),
        Ty::Str => Err(format!("expected string; found {}", n.text)),
        Ty::Bool => Err(format!("expected bool; found {}", n.text)),
        Ty::Time => Err(format!("expected struct; found {}", n.text)),
    }
}

fn ty_name(ty: Ty) -> &'static str {
    match ty {
        Ty::Any => "interface {}",
        Ty::Str => "string",
        Ty::Int => "int",
        Ty::Bool => "bool",
        Ty::Time => "time.Time",
    }
}

/// Go's `validateType` for a computed value against a parameter type.
fn check_type(v: Value, ty: Ty) -> Result<Value, String> {
    check_type_ref(&v, ty).map(|()| v)
}

/// [`check_type`] of a value that stays where it is.
fn check_type_ref(v: &Value, ty: Ty) -> Result<(), String> {
    let ok = match (v, ty) {
        (_, Ty::Any) => true,
        (Value::Nil, _) => return Err(format!("invalid value; expected {}", ty_name(ty))),
        (Value::Str(_), Ty::Str) => true,
        (Value::Int(_) | Value::Uint(_), Ty::Int) => true,
        (Value::Bool(_), Ty::Bool) => true,
        (Value::Time(_), Ty::Time) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "wrong type for value; expected {}; got {}",
            ty_name(ty),
            v.type_name()
        ))
    }
}

impl<'t> State<'t> {
    pub(crate) fn new(tmpl: &'t Template, tree: &'t str, limits: Limits) -> Self {
        Self {
            tmpl,
            tree,
            out: Vec::with_capacity(out_capacity(tmpl)),
            vars: smallvec::SmallVec::new(),
            depth: 0,
            steps: 0,
            limits,
        }
    }

    #[cold]
    fn err<T>(&self, node: Option<(usize, usize)>, msg: impl Into<String>) -> R<T> {
        Err(Box::new(ExecError {
            pos: node,
            tree: self.tree.to_string(),
            msg: msg.into(),
        }))
    }

    fn step(&mut self, pos: usize) -> R<()> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return self.err(
                Some((pos, pos)),
                format!(
                    "template exceeded the maximum of {} evaluation steps",
                    self.limits.max_steps
                ),
            );
        }
        Ok(())
    }

    fn write(&mut self, b: &[u8], pos: usize) -> R<()> {
        if self.out.len() + b.len() > self.limits.max_output {
            return self.err(
                Some((pos, pos)),
                format!(
                    "template output exceeds the maximum of {} bytes",
                    self.limits.max_output
                ),
            );
        }
        self.out.extend_from_slice(b);
        Ok(())
    }

    pub(crate) fn run(&mut self, list: &'t [Node], dot: Value) -> R<()> {
        self.vars.push(("$", dot.clone()));
        self.walk_list(&dot, list)?;
        Ok(())
    }

    fn walk_list(&mut self, dot: &Value, list: &'t [Node]) -> R<Flow> {
        for n in list {
            match self.walk(dot, n)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value, node: &'t Node) -> R<Flow> {
        match node {
            Node::Text(t) => {
                self.write(t, 0)?;
            }
            Node::Action(pipe) => {
                self.step(pipe.pos)?;
                if self.print_direct(dot, pipe)? || self.print_call(dot, pipe)? {
                    return Ok(Flow::Normal);
                }
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print_value(&v, pipe.pos)?;
                }
            }
            Node::If(b) | Node::With(b) => {
                self.step(b.pipe.pos)?;
                let mark = self.vars.len();
                let v = self.eval_pipeline(dot, &b.pipe)?;
                let flow = if v.truth() {
                    if matches!(node, Node::With(_)) {
                        self.walk_list(&v, &b.list)?
                    } else {
                        self.walk_list(dot, &b.list)?
                    }
                } else if let Some(e) = &b.else_list {
                    self.walk_list(dot, e)?
                } else {
                    Flow::Normal
                };
                self.vars.truncate(mark);
                return Ok(flow);
            }
            Node::Range(b) => {
                self.step(b.pipe.pos)?;
                let mark = self.vars.len();
                let r = self.walk_range(dot, b);
                self.vars.truncate(mark);
                r?;
            }
            Node::Template { pos, name, pipe } => {
                self.step(*pos)?;
                let Some((tree_name, list)) = self.tmpl.trees.get_key_value(name) else {
                    return self.err(Some((*pos, *pos)), format!("no such template {name:?}"));
                };
                let newdot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Nil,
                };
                if self.depth + 1 >= self.limits.max_depth {
                    return self.err(
                        Some((*pos, *pos)),
                        format!(
                            "exceeded maximum template depth ({})",
                            self.limits.max_depth
                        ),
                    );
                }
                let saved_vars =
                    std::mem::replace(&mut self.vars, smallvec::smallvec![("$", newdot.clone())]);
                let saved_tree = std::mem::replace(&mut self.tree, tree_name.as_str());
                self.depth += 1;
                let r = self.walk_list(&newdot, list);
                self.depth -= 1;
                self.tree = saved_tree;
                self.vars = saved_vars;
                r?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn range_iter(
        &mut self,
        b: &'t Branch,
        key: impl FnOnce() -> Value,
        elem: &Value,
        mark: usize,
    ) -> R<Flow> {
        self.step(b.pipe.pos)?;
        let n = b.pipe.decl.len();
        let mut key = Some(key);
        let mut take_key = || key.take().map(|k| k()).unwrap_or_default();
        if n > 0 {
            if b.pipe.is_assign {
                if n > 1 {
                    self.set_var(&b.pipe.decl[0], take_key(), b.pipe.pos)?;
                } else {
                    self.set_var(&b.pipe.decl[0], elem.clone(), b.pipe.pos)?;
                }
            } else {
                let l = self.vars.len();
                self.vars[l - 1].1 = elem.clone();
            }
        }
        if n > 1 {
            if b.pipe.is_assign {
                self.set_var(&b.pipe.decl[1], elem.clone(), b.pipe.pos)?;
            } else {
                let l = self.vars.len();
                self.vars[l - 2].1 = take_key();
            }
        }
        let f = self.walk_list(elem, &b.list);
        self.vars.truncate(mark);
        match f? {
            Flow::Break => Ok(Flow::Break),
            _ => Ok(Flow::Normal),
        }
    }

    fn walk_range(&mut self, dot: &Value, b: &'t Branch) -> R<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mark = self.vars.len();
        let mut any = false;
        match &val {
            Value::List(l) => {
                for (i, e) in l.iter().enumerate() {
                    any = true;
                    if let Flow::Break = self.range_iter(b, || Value::Int(i as i64), e, mark)? {
                        break;
                    }
                }
            }
            Value::Map(m, _) => {
                for (k, e) in m.iter() {
                    any = true;
                    if let Flow::Break =
                        self.range_iter(b, || Value::Str(Bytes::from(Arc::clone(k))), e, mark)?
                    {
                        break;
                    }
                }
            }
            Value::Int(n) | Value::Int64(n) => {
                let int64 = matches!(val, Value::Int64(_));
                let num = |i: i64| {
                    if int64 {
                        Value::Int64(i)
                    } else {
                        Value::Int(i)
                    }
                };
                if b.pipe.decl.len() > 1 {
                    return self.err(
                        Some((b.pipe.pos, b.pipe.pos)),
                        format!("can't use {n} to iterate over more than one variable"),
                    );
                }
                for i in 0..*n {
                    any = true;
                    if let Flow::Break = self.range_iter(b, || num(i), &num(i), mark)? {
                        break;
                    }
                }
            }
            Value::Nil => {}
            other => {
                return self.err(
                    Some((b.pipe.pos, b.pipe.pos)),
                    format!(
                        "range can't iterate over {}",
                        String::from_utf8_lossy(&other.to_go_string())
                    ),
                );
            }
        }
        if !any && let Some(e) = &b.else_list {
            self.walk_list(dot, e)?;
        }
        Ok(())
    }

    fn set_var(&mut self, name: &str, v: Value, pos: usize) -> R<()> {
        for slot in self.vars.iter_mut().rev() {
            if same_name(slot.0, name) {
                slot.1 = v;
                return Ok(());
            }
        }
        self.err(Some((pos, pos)), format!("undefined variable: {name}"))
    }

    /// Go maps are references: after `set $d.x "k" v` every later use of `$d` sees the key,
    /// and so does every other variable holding the same map (`$e := $d`, `$e := $d.x`).
    /// The engine's maps are shared immutable values, so the changed map is written back:
    /// into the variable (through the field path), and into every variable that holds the
    /// old map (or a map or list containing it), keeping aliases aliased.
    fn write_back(&mut self, name: &str, idents: &[String], v: Value, pos: usize) -> R<()> {
        let root = self.var_value(name, (pos, pos))?;
        let mut cur = &root;
        for id in idents {
            match cur {
                Value::Map(m, _) => match m.get(id.as_str()) {
                    Some(inner) => cur = inner,
                    None => return Ok(()),
                },
                _ => return Ok(()),
            }
        }
        let Some(old) = container_ptr(cur) else {
            return Ok(());
        };
        if container_ptr(&v) == Some(old) {
            return Ok(());
        }
        let mut memo: Vec<(usize, Value)> = vec![(old, v)];
        // the replaced values stay alive until the end: no address in `memo` gets reused
        let mut replaced = Vec::new();
        for slot in self.vars.iter_mut() {
            if let Some(new) = substitute(&slot.1, &mut memo) {
                replaced.push(std::mem::replace(&mut slot.1, new));
            }
        }
        drop(replaced);
        Ok(())
    }

    fn var_value(&self, name: &str, pos: (usize, usize)) -> R<Value> {
        for slot in self.vars.iter().rev() {
            if same_name(slot.0, name) {
                return Ok(slot.1.clone());
            }
        }
        self.err(Some(pos), format!("undefined variable: {name}"))
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'t Pipe) -> R<Value> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or_default();
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone(), pipe.pos)?;
            } else {
                self.vars.push((name.as_str(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, cmd: &Command, final_: &Option<Value>) -> R<()> {
        if cmd.args.len() > 1 || final_.is_some() {
            let a = &cmd.args[0];
            let text = self.tmpl.src.get(a.pos..a.end).unwrap_or("");
            return self.err(
                Some((a.pos, a.end)),
                format!("can't give argument to non-function {text}"),
            );
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &'t Command, final_: Option<Value>) -> R<Value> {
        self.step(cmd.pos)?;
        let first = &cmd.args[0];
        match &first.kind {
            ArgKind::Field(idents) => {
                let has_args = cmd.args.len() > 1 || final_.is_some();
                self.eval_field_chain(dot, idents, first, has_args)
            }
            ArgKind::Chain(inner, idents) => {
                if matches!(inner.kind, ArgKind::Nil) {
                    return self.err(
                        Some((first.pos, first.end)),
                        "indirection through explicit nil",
                    );
                }
                let recv = self.eval_arg(dot, inner, Ty::Any)?;
                let has_args = cmd.args.len() > 1 || final_.is_some();
                self.eval_field_chain(&recv, idents, first, has_args)
            }
            ArgKind::Variable(name, idents) => {
                let v = self.var_value(name, (first.pos, first.end))?;
                if idents.is_empty() {
                    self.not_a_function(cmd, &final_)?;
                    return Ok(v);
                }
                let has_args = cmd.args.len() > 1 || final_.is_some();
                self.eval_field_chain(&v, idents, first, has_args)
            }
            ArgKind::Func(f) => self.eval_call(dot, f, first, &cmd.args[1..], final_),
            ArgKind::Pipe(p) => {
                self.not_a_function(cmd, &final_)?;
                self.eval_pipeline(dot, p)
            }
            ArgKind::Nil => self.err(Some((first.pos, first.end)), "nil is not a command"),
            _ => {
                self.not_a_function(cmd, &final_)?;
                self.eval_arg(dot, first, Ty::Any)
            }
        }
    }

    fn eval_field_chain(
        &self,
        recv: &Value,
        idents: &[String],
        node: &Arg,
        has_args: bool,
    ) -> R<Value> {
        let n = idents.len();
        let mut cur = recv;
        for (i, name) in idents.iter().enumerate() {
            cur = self.eval_field(cur, name, node, has_args && i == n - 1)?;
        }
        Ok(cur.clone())
    }

    fn eval_field<'v>(
        &self,
        recv: &'v Value,
        name: &str,
        node: &Arg,
        has_args: bool,
    ) -> R<&'v Value> {
        let at = Some((node.pos, node.end));
        match recv {
            Value::Nil => self.err(at, format!("nil data; no entry for key {name:?}")),
            Value::Map(m, _) => {
                if has_args {
                    return self.err(at, format!("{name} is not a method but has arguments"));
                }
                match m.get(name) {
                    Some(v) => Ok(v),
                    None => self.err(at, format!("map has no entry for key {name:?}")),
                }
            }
            other => self.err(
                at,
                format!("can't evaluate field {name} in type {}", other.type_name()),
            ),
        }
    }

    fn eval_arg(&mut self, dot: &Value, arg: &'t Arg, ty: Ty) -> R<Value> {
        let at = Some((arg.pos, arg.end));
        let v = match &arg.kind {
            ArgKind::Dot => dot.clone(),
            ArgKind::Nil => {
                if ty == Ty::Any {
                    return Ok(Value::Nil);
                }
                return self.err(at, format!("cannot assign nil to {}", ty_name(ty)));
            }
            ArgKind::Field(idents) => self.eval_field_chain(dot, idents, arg, false)?,
            ArgKind::Variable(name, idents) => {
                let v = self.var_value(name, (arg.pos, arg.end))?;
                self.eval_field_chain(&v, idents, arg, false)?
            }
            ArgKind::Pipe(p) => self.eval_pipeline(dot, p)?,
            ArgKind::Func(f) => self.eval_call(dot, f, arg, &[], None)?,
            ArgKind::Chain(inner, idents) => {
                if matches!(inner.kind, ArgKind::Nil) {
                    return self.err(at, "indirection through explicit nil");
                }
                let recv = self.eval_arg(dot, inner, Ty::Any)?;
                self.eval_field_chain(&recv, idents, arg, false)?
            }
            ArgKind::Bool(b) => {
                if matches!(ty, Ty::Any | Ty::Bool) {
                    return Ok(Value::Bool(*b));
                }
                return self.err(at, format!("expected {}; found {b}", ty_name(ty)));
            }
            ArgKind::Number(n) => {
                return number_for(n, ty).or_else(|e| self.err(at, e));
            }
            ArgKind::Str(s, _) => {
                if matches!(ty, Ty::Any | Ty::Str) {
                    return Ok(s.clone());
                }
                let text = self.tmpl.src.get(arg.pos..arg.end).unwrap_or("");
                return self.err(
                    at,
                    format!(
                        "expected {}; found {text}",
                        match ty {
                            Ty::Int => "integer",
                            _ => ty_name(ty),
                        }
                    ),
                );
            }
        };
        check_type(v, ty).or_else(|e| self.err(at, e))
    }

    /// Go's argument count check of a call.
    /// `n`: the arguments written plus the piped-in value, if any.
    fn check_arity(&self, f: &'static FuncDef, node: &Arg, n: usize) -> R<()> {
        let at = Some((node.pos, node.end));
        if f.variadic {
            if n < f.params.len().saturating_sub(1) {
                return self.err(
                    at,
                    format!(
                        "wrong number of args for {}: want at least {} got {n}",
                        f.name,
                        f.params.len() - 1
                    ),
                );
            }
        } else if n != f.params.len() {
            return self.err(
                at,
                format!(
                    "wrong number of args for {}: want {} got {n}",
                    f.name,
                    f.params.len()
                ),
            );
        }
        Ok(())
    }

    /// The arguments of a call, evaluated and checked against the parameter types.
    fn call_args(
        &mut self,
        dot: &Value,
        f: &'static FuncDef,
        node: &Arg,
        args: &'t [Arg],
        final_: Option<Value>,
    ) -> R<super::funcs::Args> {
        let n = args.len() + usize::from(final_.is_some());
        let ty_at = |i: usize| -> Ty {
            if f.variadic && i + 1 >= f.params.len() {
                f.params.last().copied().unwrap_or(Ty::Any)
            } else {
                f.params.get(i).copied().unwrap_or(Ty::Any)
            }
        };
        let mut argv = super::funcs::Args::new();
        for (i, a) in args.iter().enumerate() {
            argv.push(self.eval_arg(dot, a, ty_at(i))?);
        }
        if let Some(fv) = final_ {
            let t = ty_at(n - 1);
            argv.push(check_type(fv, t).or_else(|e| self.err(Some((node.pos, node.end)), e))?);
        }
        Ok(argv)
    }

    /// The error of a function that failed, as Go words it.
    #[cold]
    fn call_error<T>(&self, f: &FuncDef, node: &Arg, e: String) -> R<T> {
        let at = Some((node.pos, node.end));
        if e == super::funcs::NEEDS_CRYPTO_MSG {
            return self.err(
                at,
                format!(
                    "function {:?} needs eso-core's template-crypto feature (compiled without it)",
                    f.name
                ),
            );
        }
        if e == super::funcs::UNSUPPORTED_MSG {
            return self.err(
                at,
                format!("function {} is not supported by this build", f.name),
            );
        }
        self.err(at, format!("error calling {}: {e}", f.name))
    }

    fn eval_call(
        &mut self,
        dot: &Value,
        f: &'static FuncDef,
        node: &'t Arg,
        args: &'t [Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        self.check_arity(f, node, args.len() + usize::from(final_.is_some()))?;
        match f.special {
            Special::And | Special::Or => {
                let want = f.special == Special::Or;
                let mut v = Value::Nil;
                for a in args {
                    v = self.eval_arg(dot, a, Ty::Any)?;
                    if v.truth() == want {
                        return Ok(v);
                    }
                }
                if let Some(fv) = final_ {
                    v = fv;
                }
                return Ok(v);
            }
            Special::Dict => {
                if final_.is_none()
                    && let Some(m) = self.dict_of_constant_keys(dot, args)?
                {
                    return Ok(m);
                }
            }
            Special::None => {}
        }
        let argv = self.call_args(dot, f, node, args, final_)?;
        let ctx = Ctx {
            limits: self.limits,
        };
        match (f.call)(&ctx, argv) {
            Ok(v) => {
                if let Value::Str(s) = &v
                    && s.len() > self.limits.max_output
                {
                    return self.err(
                        Some((node.pos, node.end)),
                        format!("error calling {}: result too large", f.name),
                    );
                }
                if f.mutates_first
                    && let Some(Arg {
                        kind: ArgKind::Variable(name, idents),
                        pos,
                        ..
                    }) = args.first()
                {
                    self.write_back(name, idents, v.clone(), *pos)?;
                }
                Ok(v)
            }
            Err(e) => self.call_error(f, node, e),
        }
    }
}

impl<'t> State<'t> {
    /// `dict` whose keys are all string constants: the map built from the parsed keys and
    /// the evaluated values (what the general call gives, without converting each key's
    /// bytes to a new key at every call). `None` for any other argument list.
    fn dict_of_constant_keys(&mut self, dot: &Value, args: &'t [Arg]) -> R<Option<Value>> {
        if !args.len().is_multiple_of(2) {
            return Ok(None);
        }
        let keys = args.iter().step_by(2);
        if !keys
            .clone()
            .all(|a| matches!(a.kind, ArgKind::Str(_, Some(_))))
        {
            return Ok(None);
        }
        let mut m = Map::new();
        for (k, v) in keys.zip(args.iter().skip(1).step_by(2)) {
            let v = self.eval_arg(dot, v, Ty::Any)?;
            if let ArgKind::Str(_, Some(key)) = &k.kind {
                m.insert(Arc::clone(key), v);
            }
        }
        Ok(Some(Value::map(m)))
    }
}

/// Variable names are equal: compared in line (they are a few bytes long, shorter than the
/// call of a general compare).
#[inline]
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// Renders `tree_name` of `tmpl` over `data`.
pub(crate) fn execute(
    tmpl: &Template,
    data: Value,
    limits: Limits,
) -> Result<Vec<u8>, Box<ExecError>> {
    let Some((name, list)) = tmpl.trees.get_key_value(&tmpl.name) else {
        return Err(Box::new(ExecError {
            pos: None,
            tree: tmpl.name.clone(),
            msg: "incomplete or empty template".into(),
        }));
    };
    let mut st = State::new(tmpl, name.as_str(), limits);
    st.run(list, data)?;
    tmpl.out_hint.store(st.out.len(), Ordering::Relaxed);
    Ok(st.out)
}

/// The output buffer's first size: the last output's length, or twice the template's text
/// before the first render (most output is the text with short values filled in).
fn out_capacity(tmpl: &Template) -> usize {
    match tmpl.out_hint.load(Ordering::Relaxed) {
        0 => tmpl.src.len().saturating_mul(2),
        n => n,
    }
    .clamp(64, 1 << 16)
}

/// The data value ESO passes: `map[string]string`.
pub(crate) fn string_map_value<'a, I>(entries: I) -> Value
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
{
    let m = entries
        .into_iter()
        .map(|(k, v)| (Arc::from(k), Value::Str(Arc::from(v))))
        .collect();
    Value::Map(Arc::new(m), MapKind::Strings)
}
