//! Parser for Go `text/template`: tokens to an AST, with Go's checks (defined functions,
//! declared variables, `break`/`continue` inside `range`).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::funcs::{self, FuncDef};
use super::lex::{Item, Tok, lex};
use super::value::Value;

/// Maximum nesting of control structures and parentheses the parser accepts.
pub(crate) const MAX_PARSE_DEPTH: usize = 100;

#[derive(Debug)]
pub(crate) enum Node {
    Text(Arc<[u8]>),
    Action(Pipe),
    If(Branch),
    With(Branch),
    Range(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

#[derive(Debug)]
pub(crate) struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

#[derive(Debug)]
pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

#[derive(Debug)]
pub(crate) enum ArgKind {
    Field(Vec<String>),
    Chain(Box<Arg>, Vec<String>),
    Variable(String, Vec<String>),
    Func(&'static FuncDef),
    Dot,
    Nil,
    Bool(bool),
    Number(Box<Number>),
    /// A string constant, and for a key of `dict` that is UTF-8, the same text as a map key
    /// (taken from here instead of converted at every call).
    Str(Value, Option<Arc<str>>),
    Pipe(Box<Pipe>),
}

#[derive(Debug)]
pub(crate) struct Arg {
    pub pos: usize,
    pub end: usize,
    pub kind: ArgKind,
}

/// A parse failure: message and 1-based line.
#[derive(Debug)]
pub(crate) struct ParseError {
    pub line: usize,
    pub msg: String,
}

type PResult<T> = Result<T, ParseError>;

/// `dict`'s string constant keys (its arguments 1, 3, 5 ...), made map keys once.
fn dict_keys(cmd: &mut Command) {
    let Some((
        Arg {
            kind: ArgKind::Func(f),
            ..
        },
        args,
    )) = cmd.args.split_first_mut()
    else {
        return;
    };
    if f.special != funcs::Special::Dict {
        return;
    }
    for a in args.iter_mut().step_by(2) {
        if let ArgKind::Str(Value::Str(b), key) = &mut a.kind {
            *key = std::str::from_utf8(b).ok().map(Arc::from);
        }
    }
}

use super::literal::{Number, new_number, unquote};

/// Token buffers above this many tokens are not kept for the next parse.
const KEEP_TOKENS: usize = 4096;

thread_local! {
    /// The token buffer parses on this thread reuse (one allocation, not one per parse).
    static TOKENS: Cell<Vec<Item>> = const { Cell::new(Vec::new()) };
}

pub(crate) struct Parser<'a> {
    items: Vec<Item>,
    idx: usize,
    vars: Vec<&'a str>,
    /// The lexer's error message (the text of the `Error` token).
    lex_error: String,
    range_depth: usize,
    depth: usize,
    pub trees: BTreeMap<String, Vec<Node>>,
    /// The source, for the line numbers of errors.
    src: &'a str,
}

fn is_empty_tree(list: &[Node]) -> bool {
    list.iter().all(|n| match n {
        Node::Text(t) => t.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')),
        _ => false,
    })
}

/// How an error names a token of type `typ` and text `val` (an `Error` token's text is
/// the lexer's message).
fn describe(typ: Tok, val: &str) -> String {
    match typ {
        Tok::Eof => "EOF".into(),
        Tok::Error => val.to_string(),
        Tok::Block
        | Tok::Break
        | Tok::Continue
        | Tok::Define
        | Tok::Else
        | Tok::End
        | Tok::If
        | Tok::Range
        | Tok::Template
        | Tok::With
        | Tok::Nil => format!("<{val}>"),
        _ => {
            if val.chars().count() > 10 {
                let short: String = val.chars().take(10).collect();
                format!("{short:?}...")
            } else {
                format!("{val:?}")
            }
        }
    }
}

impl Drop for Parser<'_> {
    fn drop(&mut self) {
        if self.items.capacity() <= KEEP_TOKENS {
            let items = std::mem::take(&mut self.items);
            // during the thread's teardown there is nothing left to keep it for
            let _ = TOKENS.try_with(|t| t.set(items));
        }
    }
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str, left: &'a str, right: &'a str) -> Self {
        // the token buffer of the thread's last parse (its tokens are positions only)
        let mut items = TOKENS.try_with(Cell::take).unwrap_or_default();
        let lex_error = lex(src, left, right, &mut items);
        Self {
            items,
            lex_error,
            idx: 0,
            vars: vec!["$"],
            range_depth: 0,
            depth: 0,
            trees: BTreeMap::new(),
            src,
        }
    }

    fn eof_item(&self) -> Item {
        Item {
            typ: Tok::Eof,
            pos: 0,
            end: 0,
        }
    }

    /// The text of a token.
    fn val(&self, item: &Item) -> &'a str {
        item.text(self.src)
    }

    /// How an error names a token.
    fn describe(&self, item: &Item) -> String {
        let val = match item.typ {
            Tok::Error => self.lex_error.as_str(),
            _ => self.val(item),
        };
        describe(item.typ, val)
    }

    fn next(&mut self) -> Item {
        let it = self
            .items
            .get(self.idx)
            .copied()
            .unwrap_or_else(|| self.eof_item());
        if self.idx < self.items.len() {
            self.idx += 1;
        }
        it
    }

    fn peek(&self) -> Item {
        self.items
            .get(self.idx)
            .copied()
            .unwrap_or_else(|| self.eof_item())
    }

    fn backup(&mut self) {
        self.idx = self.idx.saturating_sub(1);
    }

    fn next_non_space(&mut self) -> Item {
        while self
            .items
            .get(self.idx)
            .is_some_and(|i| i.typ == Tok::Space)
        {
            self.idx += 1;
        }
        self.next()
    }

    fn peek_non_space(&mut self) -> Item {
        let it = self.next_non_space();
        self.backup();
        it
    }

    /// The line (1-based) of a token, counted when an error needs it. The end of input is on
    /// the line of the last token.
    fn line_of(&self, item: &Item) -> usize {
        let pos = match item.typ {
            Tok::Eof => self.items.last().map_or(0, |i| i.pos),
            _ => item.pos,
        };
        let before = self.src.as_bytes().get(..pos).unwrap_or_default();
        1 + before.iter().filter(|b| **b == b'\n').count()
    }

    fn err_at<T>(&self, item: &Item, msg: String) -> PResult<T> {
        Err(ParseError {
            line: self.line_of(item),
            msg,
        })
    }

    fn cur_line(&self) -> usize {
        self.items
            .get(self.idx.saturating_sub(1))
            .map_or(1, |i| self.line_of(i))
    }

    fn errorf<T>(&self, msg: String) -> PResult<T> {
        Err(ParseError {
            line: self.cur_line(),
            msg,
        })
    }

    fn unexpected<T>(&self, item: &Item, context: &str) -> PResult<T> {
        if item.typ == Tok::Error {
            return self.err_at(item, self.lex_error.clone());
        }
        self.err_at(
            item,
            format!("unexpected {} in {context}", self.describe(item)),
        )
    }

    fn expect(&mut self, typ: Tok, context: &str) -> PResult<Item> {
        let it = self.next_non_space();
        if it.typ != typ {
            return self.unexpected(&it, context);
        }
        Ok(it)
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return self.errorf(format!("template nesting deeper than {MAX_PARSE_DEPTH}"));
        }
        Ok(())
    }

    /// Parses the whole input; the main tree is stored under `name`.
    pub(crate) fn parse(mut self, name: &str) -> PResult<BTreeMap<String, Vec<Node>>> {
        // a text and a node per action, and the text after: the list of a template without
        // comments never grows (nodes are large to move)
        let actions = self
            .items
            .iter()
            .filter(|i| i.typ == Tok::LeftDelim)
            .count();
        let mut root = Vec::with_capacity(2 * actions + 1);
        loop {
            let it = self.peek();
            if it.typ == Tok::Eof {
                break;
            }
            if it.typ == Tok::LeftDelim {
                let save = self.idx;
                self.next();
                let d = self.next_non_space();
                if d.typ == Tok::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = save;
            }
            match self.text_or_action()? {
                Item2::Node(n) => root.push(n),
                Item2::End(it) | Item2::Else(it) => {
                    return self.err_at(&it, format!("unexpected {}", self.describe(&it)));
                }
                Item2::None => {}
            }
        }
        self.add_tree(name.to_string(), root)?;
        Ok(std::mem::take(&mut self.trees))
    }

    fn add_tree(&mut self, name: String, list: Vec<Node>) -> PResult<()> {
        match self.trees.get(&name) {
            Some(existing) if !is_empty_tree(existing) => {
                if !is_empty_tree(&list) {
                    return self.errorf(format!(
                        "template: multiple definition of template {name:?}"
                    ));
                }
            }
            _ => {
                self.trees.insert(name, list);
            }
        }
        Ok(())
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let name = self.parse_template_name("define")?;
        self.expect(Tok::RightDelim, "define clause")?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$"]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        if !matches!(end, Item2::End(_)) {
            return self.errorf(format!(
                "unexpected {} in define clause",
                self.end_desc(&end)
            ));
        }
        self.add_tree(name, list)
    }

    fn end_desc(&self, e: &Item2) -> String {
        match e {
            Item2::Else(_) => "{{else}}".into(),
            Item2::End(_) => "{{end}}".into(),
            _ => "EOF".into(),
        }
    }

    fn parse_template_name(&mut self, context: &str) -> PResult<String> {
        let it = self.next_non_space();
        match it.typ {
            Tok::String | Tok::RawString => match unquote(self.val(&it)) {
                Some(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
                None => self.err_at(&it, "syntax error".into()),
            },
            _ => self.unexpected(&it, context),
        }
    }

    /// Parses nodes until `{{end}}` or `{{else}}` (returned) or EOF (error).
    fn item_list(&mut self) -> PResult<(Vec<Node>, Item2)> {
        let mut list = Vec::new();
        loop {
            if self.peek_non_space().typ == Tok::Eof {
                return self.errorf("unexpected EOF".into());
            }
            match self.text_or_action()? {
                Item2::Node(n) => list.push(n),
                Item2::None => {}
                e => return Ok((list, e)),
            }
        }
    }

    fn text_or_action(&mut self) -> PResult<Item2> {
        let it = self.next_non_space();
        match it.typ {
            Tok::Text => Ok(Item2::Node(Node::Text(Arc::from(self.val(&it).as_bytes())))),
            Tok::LeftDelim => self.action(),
            Tok::Comment => Ok(Item2::None),
            _ => self.unexpected(&it, "input"),
        }
    }

    fn action(&mut self) -> PResult<Item2> {
        let it = self.next_non_space();
        match it.typ {
            Tok::Block => self.block_control().map(Item2::Node),
            Tok::Break | Tok::Continue => {
                let is_break = it.typ == Tok::Break;
                let word = if is_break { "break" } else { "continue" };
                if self.range_depth == 0 {
                    return self.err_at(&it, format!("{{{{{word}}}}} outside {{{{range}}}}"));
                }
                self.expect(Tok::RightDelim, word)?;
                Ok(Item2::Node(if is_break {
                    Node::Break
                } else {
                    Node::Continue
                }))
            }
            Tok::Else => {
                let p = self.peek_non_space();
                if p.typ == Tok::If || p.typ == Tok::With {
                    return Ok(Item2::Else(p));
                }
                self.expect(Tok::RightDelim, "else")?;
                Ok(Item2::Else(it))
            }
            Tok::End => {
                self.expect(Tok::RightDelim, "end")?;
                Ok(Item2::End(it))
            }
            Tok::If => self.control("if").map(|b| Item2::Node(Node::If(b))),
            Tok::Range => self.control("range").map(|b| Item2::Node(Node::Range(b))),
            Tok::With => self.control("with").map(|b| Item2::Node(Node::With(b))),
            Tok::Template => self.template_control().map(Item2::Node),
            _ => {
                self.backup();
                let pipe = self.pipeline("command", Tok::RightDelim)?;
                Ok(Item2::Node(Node::Action(pipe)))
            }
        }
    }

    fn control(&mut self, context: &'static str) -> PResult<Branch> {
        self.enter()?;
        let mark = self.vars.len();
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        match next {
            Item2::End(_) => {}
            Item2::Else(ref e) => {
                // `else if` / `else with` chain: the nested control consumes the single {{end}}.
                if (context == "if" && e.typ == Tok::If)
                    || (context == "with" && e.typ == Tok::With)
                {
                    self.next_non_space();
                    let b = self.control(context)?;
                    else_list = Some(vec![if context == "if" {
                        Node::If(b)
                    } else {
                        Node::With(b)
                    }]);
                } else if e.typ == Tok::If || e.typ == Tok::With {
                    let it = self.next_non_space();
                    return self.unexpected(&it, "else");
                } else {
                    let (l, end) = self.item_list()?;
                    if !matches!(end, Item2::End(_)) {
                        return self.errorf(format!("expected end; found {}", self.end_desc(&end)));
                    }
                    else_list = Some(l);
                }
            }
            _ => return self.errorf("unexpected EOF".into()),
        }
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn template_control(&mut self) -> PResult<Node> {
        let pos = self.peek().pos;
        let name = self.parse_template_name("template clause")?;
        let mut pipe = None;
        if self.next_non_space().typ != Tok::RightDelim {
            self.backup();
            pipe = Some(self.pipeline("template clause", Tok::RightDelim)?);
        }
        Ok(Node::Template { pos, name, pipe })
    }

    fn block_control(&mut self) -> PResult<Node> {
        self.enter()?;
        let pos = self.peek().pos;
        let name = self.parse_template_name("block clause")?;
        let pipe = self.pipeline("block clause", Tok::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$"]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        if !matches!(end, Item2::End(_)) {
            return self.errorf(format!(
                "unexpected {} in block clause",
                self.end_desc(&end)
            ));
        }
        self.add_tree(name.clone(), list)?;
        self.depth -= 1;
        Ok(Node::Template {
            pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> PResult<Pipe> {
        let pos = self.peek_non_space().pos;
        let mut pipe = Pipe {
            pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // declarations
        'decls: loop {
            let save = self.idx;
            let v = self.peek_non_space();
            if v.typ != Tok::Variable {
                break;
            }
            self.next_non_space();
            let nxt = self.peek_non_space();
            match nxt.typ {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = nxt.typ == Tok::Assign;
                    self.next_non_space();
                    let name = self.val(&v);
                    if pipe.is_assign && !self.vars.contains(&name) {
                        return self.err_at(&v, format!("undefined variable {name:?}"));
                    }
                    pipe.decl.push(name.to_string());
                    self.vars.push(name);
                    break;
                }
                Tok::Char if self.val(&nxt) == "," => {
                    self.next_non_space();
                    let name = self.val(&v);
                    pipe.decl.push(name.to_string());
                    self.vars.push(name);
                    if context == "range" && pipe.decl.len() < 2 {
                        let p = self.peek_non_space();
                        if matches!(p.typ, Tok::Variable | Tok::RightDelim | Tok::RightParen) {
                            continue 'decls;
                        }
                        return self.errorf("range can only initialize variables".into());
                    }
                    return self.errorf(format!("too many declarations in {context}"));
                }
                _ => {
                    // not a declaration: put the variable back
                    self.idx = save;
                    break;
                }
            }
        }
        loop {
            let tok = self.next_non_space();
            if tok.typ == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match tok.typ {
                Tok::Bool
                | Tok::CharConstant
                | Tok::Dot
                | Tok::Field
                | Tok::Identifier
                | Tok::Number
                | Tok::Nil
                | Tok::RawString
                | Tok::String
                | Tok::Variable
                | Tok::LeftParen => {
                    self.backup();
                    let c = self.command()?;
                    pipe.cmds.push(c);
                }
                _ => return self.unexpected(&tok, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.errorf(format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if let Some(a) = c.args.first()
                && matches!(
                    a.kind,
                    ArgKind::Bool(_)
                        | ArgKind::Dot
                        | ArgKind::Nil
                        | ArgKind::Number(_)
                        | ArgKind::Str(..)
                )
            {
                return self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let tok = self.next();
            match tok.typ {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => self.backup(),
                Tok::Pipe => {}
                _ => return self.unexpected(&tok, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.errorf("empty command".into());
        }
        dict_keys(&mut cmd);
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != Tok::Field {
            return Ok(Some(node));
        }
        let mut fields = Vec::new();
        let mut end = node.end;
        while self.peek().typ == Tok::Field {
            let f = self.next();
            end = f.end;
            fields.push(self.val(&f)[1..].to_string());
        }
        let pos = node.pos;
        let kind = match node.kind {
            ArgKind::Field(mut idents) => {
                idents.extend(fields);
                ArgKind::Field(idents)
            }
            ArgKind::Variable(name, mut idents) => {
                idents.extend(fields);
                ArgKind::Variable(name, idents)
            }
            ArgKind::Bool(_)
            | ArgKind::Str(..)
            | ArgKind::Number(_)
            | ArgKind::Nil
            | ArgKind::Dot => {
                return self.errorf(format!(
                    "unexpected . after term {:?}",
                    self.src.get(node.pos..node.end).unwrap_or("")
                ));
            }
            other => ArgKind::Chain(
                Box::new(Arg {
                    pos: node.pos,
                    end: node.end,
                    kind: other,
                }),
                fields,
            ),
        };
        Ok(Some(Arg { pos, end, kind }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let tok = self.next_non_space();
        let pos = tok.pos;
        let end = tok.end;
        let val = self.val(&tok);
        let kind = match tok.typ {
            Tok::Identifier => match funcs::lookup(val) {
                Some(f) => ArgKind::Func(f),
                None => return self.err_at(&tok, format!("function {val:?} not defined")),
            },
            Tok::Dot => ArgKind::Dot,
            Tok::Nil => ArgKind::Nil,
            Tok::Variable => {
                if !self.vars.contains(&val) {
                    return self.err_at(&tok, format!("undefined variable {val:?}"));
                }
                // `$x.y` is lexed as one variable token "$x" then fields; `$` alone is root
                ArgKind::Variable(val.to_string(), Vec::new())
            }
            Tok::Field => ArgKind::Field(vec![val[1..].to_string()]),
            Tok::Bool => ArgKind::Bool(val == "true"),
            Tok::CharConstant | Tok::Number => {
                match new_number(val, tok.typ == Tok::CharConstant) {
                    Ok(n) => ArgKind::Number(Box::new(n)),
                    Err(e) => return self.err_at(&tok, e),
                }
            }
            Tok::LeftParen => {
                self.enter()?;
                let p = self.pipeline("parenthesized pipeline", Tok::RightParen)?;
                self.depth -= 1;
                let close = self
                    .items
                    .get(self.idx.saturating_sub(1))
                    .map_or(end, |i| i.pos + 1);
                return Ok(Some(Arg {
                    pos,
                    end: close,
                    kind: ArgKind::Pipe(Box::new(p)),
                }));
            }
            Tok::String | Tok::RawString => match unquote(val) {
                Some(b) => ArgKind::Str(Value::byte_vec(b), None),
                None => return self.err_at(&tok, "syntax error".into()),
            },
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(Arg { pos, end, kind }))
    }
}

pub(crate) enum Item2 {
    Node(Node),
    End(Item),
    Else(Item),
    None,
}
