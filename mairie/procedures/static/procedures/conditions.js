// Live conditional fields on a procedure's page (the resident's filling page, the builder's
// preview). Without this script every field is shown and the server ignores the answers of
// fields whose condition is false; with it, such fields are hidden (and disabled, so they are
// not posted) as soon as the answers they depend on change.
//
// The conditions are written in the small language of mairie/procedures/expressions.py
// (docs/procedures-expressions.md). This file evaluates the same language with the same rules
// (a missing answer is None, comparing values of different kinds is false, numeric text is a
// number…). Anything it does not understand makes the field stay visible: a field is only
// hidden when the evaluator is sure its condition is false.
//
// Data comes from the page: a <script type="application/json" id="procedure-conditions">
// block (never executed) lists the conditional inputs and the saved answers the conditions
// read; the <script> element loading this module carries the translated announcements.

const DATA_ID = "procedure-conditions";
const ADDRESS_PARTS = {
  street: "street", rue: "street", postcode: "postcode", code_postal: "postcode",
  city: "city", ville: "city", commune: "city",
};
const FUNCTIONS = { len: 1, lower: 1, contains: 2, days_since: 1 };
const NUMERIC_TEXT = /^\s*-?\d+(?:[.,]\d+)?\s*$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

class Unsupported extends Error {}

class DateValue {
  constructor(iso) { this.iso = iso; }
}

// Parsing --------------------------------------------------------------------------------------

const KEYWORDS = new Set(["and", "or", "not", "in", "True", "False", "None"]);
const REFUSED_WORDS = new Set(["is", "if", "else", "lambda", "for", "await", "yield"]);

function tokenize(text) {
  const tokens = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) { i += 1; continue; }
    if (c === "#") {
      while (i < text.length && text[i] !== "\n") i += 1;
      continue;
    }
    if (c === '"' || c === "'") {
      if (text.startsWith(c.repeat(3), i)) throw new Unsupported("triple quotes");
      let value = "";
      i += 1;
      for (;;) {
        if (i >= text.length) throw new Unsupported("unclosed string");
        const d = text[i];
        if (d === c) { i += 1; break; }
        if (d === "\\") {
          const escaped = { "\\": "\\", "'": "'", '"': '"', n: "\n", t: "\t" }[text[i + 1]];
          if (escaped === undefined) throw new Unsupported("escape");
          value += escaped;
          i += 2;
          continue;
        }
        value += d;
        i += 1;
      }
      tokens.push({ kind: "str", value });
      continue;
    }
    const number = /^(\d+\.\d*|\.\d+|\d+)/.exec(text.slice(i));
    if (number) {
      const next = text[i + number[0].length];
      if (next !== undefined && /[\w.]/.test(next)) throw new Unsupported("number form");
      tokens.push({ kind: "num", value: Number(number[0]) });
      i += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_\u00c0-\uffff][\w\u00c0-\uffff]*/.exec(text.slice(i));
    if (word) {
      const w = word[0];
      if (REFUSED_WORDS.has(w)) throw new Unsupported(w);
      if ((text[i + w.length] === '"' || text[i + w.length] === "'") && w.length <= 2) {
        throw new Unsupported("string prefix");
      }
      tokens.push({ kind: KEYWORDS.has(w) ? w : "name", value: w });
      i += w.length;
      continue;
    }
    const op = ["==", "!=", "<=", ">="].find((o) => text.startsWith(o, i))
      || ("<>+-*/()[],.".includes(c) ? c : null);
    if (!op) throw new Unsupported(`character ${c}`);
    if (op.length === 1 && "*/".includes(c) && text[i + 1] === c) throw new Unsupported("op");
    tokens.push({ kind: op });
    i += op.length;
  }
  tokens.push({ kind: "end" });
  return tokens;
}

class Parser {
  constructor(text) { this.tokens = tokenize(text); this.at = 0; }

  peek() { return this.tokens[this.at]; }

  take(kind) {
    const token = this.tokens[this.at];
    if (kind && token.kind !== kind) throw new Unsupported(`expected ${kind}`);
    this.at += 1;
    return token;
  }

  parse() {
    const node = this.or();
    this.take("end");
    return node;
  }

  or() {
    const values = [this.and()];
    while (this.peek().kind === "or") { this.take(); values.push(this.and()); }
    return values.length === 1 ? values[0] : { type: "or", values };
  }

  and() {
    const values = [this.not()];
    while (this.peek().kind === "and") { this.take(); values.push(this.not()); }
    return values.length === 1 ? values[0] : { type: "and", values };
  }

  not() {
    if (this.peek().kind === "not") { this.take(); return { type: "not", operand: this.not() }; }
    return this.comparison();
  }

  comparison() {
    const left = this.sum();
    const ops = [];
    const operands = [];
    for (;;) {
      const { kind } = this.peek();
      let op = null;
      if (["==", "!=", "<", "<=", ">", ">=", "in"].includes(kind)) {
        this.take();
        op = kind;
      } else if (kind === "not" && this.tokens[this.at + 1].kind === "in") {
        this.take();
        this.take();
        op = "not in";
      }
      if (!op) break;
      ops.push(op);
      operands.push(this.sum());
    }
    return ops.length ? { type: "compare", left, ops, operands } : left;
  }

  sum() {
    let node = this.product();
    while (["+", "-"].includes(this.peek().kind)) {
      const op = this.take().kind;
      node = { type: "binop", op, left: node, right: this.product() };
    }
    return node;
  }

  product() {
    let node = this.unary();
    while (["*", "/"].includes(this.peek().kind)) {
      const op = this.take().kind;
      node = { type: "binop", op, left: node, right: this.unary() };
    }
    return node;
  }

  unary() {
    if (["+", "-"].includes(this.peek().kind)) {
      const op = this.take().kind;
      return { type: "unary", op, operand: this.unary() };
    }
    return this.primary();
  }

  primary() {
    const token = this.take();
    let node;
    switch (token.kind) {
      case "num": case "str": node = { type: "const", value: token.value }; break;
      case "True": node = { type: "const", value: true }; break;
      case "False": node = { type: "const", value: false }; break;
      case "None": node = { type: "const", value: null }; break;
      case "(": case "[": {
        const close = token.kind === "(" ? ")" : "]";
        const elements = [];
        let comma = false;
        while (this.peek().kind !== close) {
          elements.push(this.or());
          if (this.peek().kind !== ",") break;
          this.take();
          comma = true;
        }
        this.take(close);
        node = (token.kind === "(" && elements.length === 1 && !comma)
          ? elements[0] : { type: "list", elements };
        break;
      }
      case "name":
        if (this.peek().kind === "(") {
          if (!(token.value in FUNCTIONS)) throw new Unsupported("function");
          this.take("(");
          const args = [];
          while (this.peek().kind !== ")") {
            args.push(this.or());
            if (this.peek().kind !== ",") break;
            this.take();
          }
          this.take(")");
          if (args.length !== FUNCTIONS[token.value]) throw new Unsupported("arguments");
          node = { type: "call", name: token.value, args };
        } else {
          node = { type: "name", name: token.value };
        }
        break;
      default:
        throw new Unsupported(`unexpected ${token.kind}`);
    }
    if (this.peek().kind === ".") {
      this.take();
      const attr = this.take("name").value;
      if (node.type !== "name" || !(attr in ADDRESS_PARTS)) throw new Unsupported("attribute");
      node = { type: "attr", value: node, part: ADDRESS_PARTS[attr] };
      if (this.peek().kind === "." || this.peek().kind === "(") throw new Unsupported("chain");
    }
    return node;
  }
}

// Evaluation (mirrors _comparable, _equal, _contained, _compare of expressions.py) ------------

const isNumber = (v) => typeof v === "number";
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v)
  && !(v instanceof DateValue);

function toNumber(value) {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string" && NUMERIC_TEXT.test(value)) {
    return Number(value.trim().replace(",", "."));
  }
  return null;
}

function toDate(value) {
  if (value instanceof DateValue) return value.iso;
  if (typeof value === "string" && ISO_DATE.test(value.trim())) {
    const iso = value.trim();
    const day = new Date(`${iso}T00:00:00Z`);
    return Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== iso ? null : iso;
  }
  return null;
}

// Decimal arithmetic is exact on the server: compare numbers at a precision that hides
// binary floating-point noise (0.1 + 0.2 == 0.3 there too).
const rounded = (n) => Number(n.toPrecision(12));

function comparable(left, right) {
  if (left === null || right === null) return null;
  if (typeof left === "boolean" || typeof right === "boolean") {
    return typeof left === "boolean" && typeof right === "boolean" ? [left, right] : null;
  }
  if (isNumber(left) || isNumber(right)) {
    const a = toNumber(left);
    const b = toNumber(right);
    return a === null || b === null ? null : [rounded(a), rounded(b)];
  }
  if (left instanceof DateValue || right instanceof DateValue) {
    const a = toDate(left);
    const b = toDate(right);
    return a === null || b === null ? null : [a, b];
  }
  if (typeof left === "string" && typeof right === "string") return [left, right];
  if (Array.isArray(left) && Array.isArray(right)) return [left, right];
  if (isObject(left) && isObject(right)) return [left, right];
  return null;
}

function sameJson(a, b) {
  if (Array.isArray(a) || isObject(a)) {
    // Python compares lists and dicts with its own ==, element by element; only plain JSON
    // values (texts, whole numbers) are compared here, anything subtler is not guessed.
    const text = (v) => JSON.stringify(v, (k, x) => {
      if (typeof x === "number" && !Number.isInteger(x)) throw new Unsupported("float in list");
      if (x instanceof DateValue) throw new Unsupported("date in list");
      return x;
    });
    return text(a) === text(b);
  }
  return a === b;
}

function equal(left, right) {
  if (left === null || right === null) return left === null && right === null;
  const pair = comparable(left, right);
  return pair !== null && sameJson(pair[0], pair[1]);
}

function contained(item, container) {
  if (container === null) return false;
  if (typeof container === "string") return typeof item === "string" ? container.includes(item) : null;
  if (Array.isArray(container)) return container.some((element) => equal(item, element));
  if (isObject(container)) return Object.values(container).some((e) => equal(item, e));
  return null;
}

function compare(op, left, right) {
  if (op === "==") return equal(left, right);
  if (op === "!=") return !equal(left, right);
  if (op === "in" || op === "not in") {
    const inside = contained(left, right);
    if (inside === null) return false;
    return op === "in" ? inside : !inside;
  }
  const pair = comparable(left, right);
  if (pair === null || isObject(pair[0]) || typeof pair[0] === "boolean") return false;
  if (Array.isArray(pair[0])) throw new Unsupported("ordering of lists");
  const [a, b] = pair;
  if (op === "<") return a < b;
  if (op === "<=") return a <= b;
  if (op === ">") return a > b;
  return a >= b;
}

function truthy(value) {
  if (value === null || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.keys(value).length > 0;
  return true;
}

function evaluate(node, lookup, today) {
  const ev = (n) => evaluate(n, lookup, today);
  switch (node.type) {
    case "const": return node.value;
    case "name": {
      const found = lookup(node.name);
      if (found !== undefined) return found;
      return node.name === "today" ? new DateValue(today) : null;
    }
    case "list": return node.elements.map(ev);
    case "attr": {
      const value = ev(node.value);
      return isObject(value) ? (value[node.part] ?? null) : null;
    }
    case "compare": {
      let left = ev(node.left);
      for (let i = 0; i < node.ops.length; i += 1) {
        const right = ev(node.operands[i]);
        if (!compare(node.ops[i], left, right)) return false;
        left = right;
      }
      return true;
    }
    case "and": case "or": {
      let value = null;
      for (const operand of node.values) {
        value = ev(operand);
        if (node.type === "and" && !truthy(value)) return value;
        if (node.type === "or" && truthy(value)) return value;
      }
      return value;
    }
    case "not": return !truthy(ev(node.operand));
    case "unary": {
      const operand = ev(node.operand);
      const number = typeof operand === "boolean" ? null : toNumber(operand);
      if (number === null) return null;
      return node.op === "-" ? -number : number;
    }
    case "binop": {
      const l = ev(node.left);
      const r = ev(node.right);
      const a = typeof l === "boolean" ? null : toNumber(l);
      const b = typeof r === "boolean" ? null : toNumber(r);
      if (a === null || b === null) return null;
      if (node.op === "+") return a + b;
      if (node.op === "-") return a - b;
      if (node.op === "*") return a * b;
      return b === 0 ? null : a / b;
    }
    case "call": {
      const args = node.args.map(ev);
      if (node.name === "len") {
        return typeof args[0] === "string" ? Array.from(args[0]).length
          : Array.isArray(args[0]) ? args[0].length : 0;
      }
      if (node.name === "lower") {
        return typeof args[0] === "string" ? args[0].toLowerCase() : args[0];
      }
      if (node.name === "contains") return Boolean(contained(args[1], args[0]));
      const day = toDate(args[0]);
      if (day === null) return null;
      return Math.round((Date.parse(`${today}T00:00:00Z`) - Date.parse(`${day}T00:00:00Z`))
        / 86400000);
    }
    default: throw new Unsupported(node.type);
  }
}

// Reading the page -----------------------------------------------------------------------------

function inputsNamed(form, name) {
  return Array.from(form.elements).filter((element) => element.name === name);
}

function currentValue(form, entry, saved) {
  const elements = entry.inputs.flatMap((name) => inputsNamed(form, name));
  if (!elements.length) return undefined;
  const text = (element) => (element ? element.value.trim() : "");
  switch (entry.type) {
    case "choice": {
      const checked = elements.find((e) => e.checked);
      return checked ? checked.value : null;
    }
    case "yesno": {
      const checked = elements.find((e) => e.checked);
      if (!checked) return null;
      return checked.value === "oui";
    }
    case "multichoice": return elements.filter((e) => e.checked).map((e) => e.value);
    case "number": {
      const compact = text(elements[0]).replace(/[\s\u00a0\u202f]/g, "").replace(",", ".");
      if (!compact) return null;
      if (!/^[-+]?\d+(\.\d+)?$/.test(compact)) return null;
      return String(Number(compact));
    }
    case "date": return toDate(text(elements[0]));
    case "address": {
      const parts = {};
      for (const element of elements) parts[element.name.split("-").pop()] = text(element);
      return Object.values(parts).some(Boolean) ? parts : null;
    }
    case "file": {
      const chosen = elements[0].files && elements[0].files[0];
      if (chosen) return chosen.name;
      return saved === undefined ? null : saved;
    }
    case "text": case "textarea": case "email": return text(elements[0]) || null;
    case "siret": case "siren":
      return text(elements[0]).replace(/[\s.]/g, "") || null;
    default:
      // A value the server transforms in ways not repeated here (an IBAN, a phone number).
      throw new Unsupported(entry.type);
  }
}

function containerOf(form, entry) {
  const first = inputsNamed(form, entry.inputs[0])[0];
  if (!first) return null;
  if (entry.type === "address") return first.closest("fieldset.fieldset");
  return first.closest(".field");
}

function labelOf(container) {
  const label = container.querySelector("legend, label");
  if (!label) return "";
  const copy = label.cloneNode(true);
  copy.querySelectorAll(".required").forEach((span) => span.remove());
  return copy.textContent.trim();
}

function setRequiredMark(container, entry, shown, requiredText) {
  if (!entry.required || !requiredText) return;
  const label = container.querySelector("legend, label");
  if (!label) return;
  const ours = label.querySelector("[data-condition-required]");
  const theirs = label.querySelector(".required:not([data-condition-required])");
  if (shown && !ours && !theirs) {
    const span = document.createElement("span");
    span.className = "required";
    span.dataset.conditionRequired = "";
    span.textContent = `(${requiredText})`;
    label.append(" ", span);
  } else if (!shown && ours) {
    ours.previousSibling?.remove?.();
    ours.remove();
  }
}

function setup(form, data, script) {
  const announcer = document.createElement("p");
  announcer.className = "visually-hidden";
  announcer.setAttribute("aria-live", "polite");
  form.prepend(announcer);
  const labels = {
    shown: script?.dataset.labelShown || "",
    hidden: script?.dataset.labelHidden || "",
    required: script?.dataset.labelRequired || "",
  };
  const saved = data.answers || {};
  const byName = new Map(data.entries.map((entry) => [entry.name, entry]));
  const parsed = new Map();
  for (const entry of data.entries) {
    if (!entry.condition) continue;
    try {
      parsed.set(entry.name, new Parser(entry.condition).parse());
    } catch (error) {
      if (!(error instanceof Unsupported)) throw error;
    }
  }

  function refresh(byUser) {
    const hiddenNames = new Set();
    const shownNow = [];
    const hiddenNow = [];
    for (const entry of data.entries) {
      if (!entry.condition) continue;
      const container = containerOf(form, entry);
      if (!container) continue;
      const scope = entry.name.slice(0, entry.name.length - entry.key.length);
      const lookup = (name) => {
        for (const candidate of (scope ? [scope + name, name] : [name])) {
          const other = byName.get(candidate);
          if (other) {
            if (hiddenNames.has(other.name)) return null;
            const value = currentValue(form, other, saved[name]);
            if (value !== undefined) return value;
          }
        }
        return Object.hasOwn(saved, name) ? saved[name] : undefined;
      };
      let visible = true;
      const tree = parsed.get(entry.name);
      if (tree) {
        try {
          visible = truthy(evaluate(tree, lookup, data.today));
        } catch (error) {
          if (!(error instanceof Unsupported)) throw error;
          visible = true;
        }
      }
      // On arrival, a field the server found in error stays in sight whatever happens.
      if (!byUser && !visible && container.querySelector(".error-message")) visible = true;
      if (!visible) hiddenNames.add(entry.name);
      const wasHidden = container.hidden;
      container.hidden = !visible;
      for (const element of container.querySelectorAll("input, select, textarea")) {
        element.disabled = !visible;
      }
      setRequiredMark(container, entry, visible, labels.required);
      if (wasHidden && visible) shownNow.push(labelOf(container));
      if (!wasHidden && !visible) hiddenNow.push(labelOf(container));
    }
    if (byUser) {
      const parts = [];
      if (shownNow.length && labels.shown) parts.push(`${labels.shown} ${shownNow.join(", ")}.`);
      if (hiddenNow.length && labels.hidden) {
        parts.push(`${labels.hidden} ${hiddenNow.join(", ")}.`);
      }
      if (parts.length) announcer.textContent = parts.join(" ");
    }
  }

  refresh(false);
  // "change": a choice clicked, or typed text once the resident leaves the input (no
  // re-evaluation, nor announcement, at each key stroke).
  form.addEventListener("change", () => refresh(true));
}

const script = document.querySelector("script[data-procedure-conditions]");
const block = document.getElementById(DATA_ID);
if (block) {
  const data = JSON.parse(block.textContent);
  const form = block.closest("form");
  if (form && Array.isArray(data.entries)) setup(form, data, script);
}

export { Parser, evaluate, truthy, DateValue };
