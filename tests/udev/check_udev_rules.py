#!/usr/bin/python3
"""Check Keyfence's udev rules and polkit rule.

Usage:
    check_udev_rules.py UDEV_DIR     check UDEV_DIR/*.rules and UDEV_DIR/polkit/*.rules
    check_udev_rules.py --self-test  feed deliberately broken rules and require rejection

The udev checks parse every rule the way udev does (comments, continuation
lines, KEY{attr}OP"value" tokens separated by commas), then enforce what a
Keyfence rule may do: match USB or hidraw devices, name each device in a
comment, use lowercase four-digit IDs, and grant access only through
TAG+="uaccess" or GROUP/MODE 0660. `udevadm verify` runs too when the installed
systemd has it (>= 253; Debian 12 ships 252, so it is skipped there with a note).

The polkit checks need no JavaScript engine: a small lexer checks that quotes,
comments and brackets balance and that only ECMAScript 5 is used (Debian 12's
polkitd runs rules in duktape). When `node` is on PATH the rule is also
syntax-checked and run against a stub polkit object for every combination of
action, active and local.

Python 3 standard library only. Prints one line per check and ends with
"N passed, M failed"; exits 1 if anything failed.
"""

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# ---------------------------------------------------------------------------
# udev rule syntax (udev(7), systemd 252)
# ---------------------------------------------------------------------------

MATCH = {"==", "!="}
ASSIGN = {"=", "+=", ":="}
OPERATORS = ("==", "!=", "+=", "-=", ":=", "=")

# key -> (attribute: "required" | "optional" | "none", allowed operators)
KEYS = {
    "ACTION": ("none", MATCH),
    "DEVPATH": ("none", MATCH),
    "KERNEL": ("none", MATCH),
    "KERNELS": ("none", MATCH),
    "SUBSYSTEM": ("none", MATCH),
    "SUBSYSTEMS": ("none", MATCH),
    "DRIVER": ("none", MATCH),
    "DRIVERS": ("none", MATCH),
    "TAGS": ("none", MATCH),
    "RESULT": ("none", MATCH),
    "PROGRAM": ("none", MATCH),
    "ATTRS": ("required", MATCH),
    "CONST": ("required", MATCH),
    "IMPORT": ("required", MATCH),
    "TEST": ("optional", MATCH),
    "ENV": ("required", MATCH | ASSIGN),
    "ATTR": ("required", MATCH | {"="}),
    "SYSCTL": ("required", MATCH | {"="}),
    "TAG": ("none", MATCH | ASSIGN | {"-="}),
    "SYMLINK": ("none", MATCH | ASSIGN | {"-="}),
    "NAME": ("none", MATCH | {"=", ":="}),
    "OWNER": ("none", {"=", ":="}),
    "GROUP": ("none", {"=", ":="}),
    "MODE": ("none", {"=", ":="}),
    "SECLABEL": ("required", ASSIGN),
    "RUN": ("optional", ASSIGN),
    "OPTIONS": ("none", ASSIGN),
    "LABEL": ("none", {"="}),
    "GOTO": ("none", {"="}),
}
ID_KEYS = {("ATTRS", "idVendor"), ("ATTRS", "idProduct"), ("ATTR", "idVendor"),
           ("ATTR", "idProduct"), ("ENV", "ID_VENDOR_ID"), ("ENV", "ID_MODEL_ID")}
# What a Keyfence rule may assign: access, nothing else (no RUN, no OWNER, no ENV).
GRANTS = {("TAG", "+=", "uaccess"), ("GROUP", "="), ("MODE", "=")}
DEVICE_SUBSYSTEMS = {"usb", "hidraw"}
HEX4 = re.compile(r"[0-9a-f]{4}")


class Problems:
    """Collects "file:line[:col]: message" strings for one check."""

    def __init__(self):
        self.items = []

    def add(self, where, msg):
        self.items.append(f"{where}: {msg}")


class Token:
    def __init__(self, key, attr, op, value, line, col):
        self.key, self.attr, self.op, self.value = key, attr, op, value
        self.line, self.col = line, col


class Rule:
    def __init__(self, fname, line, text, comments, tokens):
        self.fname, self.line, self.text = fname, line, text
        self.comments, self.tokens = comments, tokens

    def find(self, key, attr=None, ops=None):
        return [t for t in self.tokens if t.key == key and (attr is None or t.attr == attr)
                and (ops is None or t.op in ops)]


def logical_lines(fname, text, probs):
    """Yields (first_line, joined_text, positions, comment_block) per rule.

    positions maps each character of joined_text to (physical line, column).
    comment_block is the list of comment lines directly above the rule.
    """
    comments, pending, pend_pos, start = [], None, None, 0
    physical = text.split("\n")
    if physical and physical[-1] == "":
        physical.pop()  # the newline that ends the last line does not start another
    for lineno, raw in enumerate(physical, 1):
        if raw.rstrip() != raw:
            probs.add(f"{fname}:{lineno}", "trailing whitespace")
        lead = len(raw) - len(raw.lstrip())
        body = raw.strip()
        if pending is None:
            if not body:
                comments = []
                continue
            if body.startswith("#"):
                comments.append(body)
                continue
            pending, pend_pos, start = "", [], lineno
        elif not body or body.startswith("#"):
            probs.add(f"{fname}:{lineno}", "blank or comment line inside a continued rule "
                      f"(the rule started on line {start})")
            yield start, pending, pend_pos, comments
            pending, comments = None, ([body] if body.startswith("#") else [])
            continue
        cont = body.endswith("\\")
        if cont:
            body = body[:-1]
        pending += body
        pend_pos += [(lineno, lead + i + 1) for i in range(len(body))]
        if not cont:
            yield start, pending, pend_pos, comments
            pending, comments = None, []
    if pending is not None:
        probs.add(f"{fname}:{start}", "file ends inside a continued rule (last line ends with '\\')")
        yield start, pending, pend_pos, comments


def tokenize(fname, text, pos, probs):
    """Splits one rule into Tokens; reports each malformed token with file:line:col."""

    def where(i):
        line, col = pos[min(i, len(pos) - 1)] if pos else (0, 0)
        return f"{fname}:{line}:{col}"

    tokens, i, n = [], 0, len(text)
    while True:
        while i < n and text[i] in " \t":
            i += 1
        start = i
        m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(text, i)
        if not m:
            probs.add(where(i), f"expected a key name, found {text[i:i + 12]!r}"
                      if i < n else "expected a key name after ','")
            return None
        key = m.group(0)
        i = m.end()
        attr = None
        if i < n and text[i] == "{":
            close = text.find("}", i)
            if close < 0:
                probs.add(where(i), f"'{{' after {key} is never closed")
                return None
            attr = text[i + 1:close]
            if not attr or re.search(r'[\s"{]', attr):
                probs.add(where(i), f"bad attribute name {{{attr}}} after {key}")
                return None
            i = close + 1
        m = re.compile(r"[=!+\-:~<>]+").match(text, i)
        if not m:
            probs.add(where(i), f"expected an operator (== != = += -= :=) after {key}, "
                      f"found {text[i:i + 6]!r}")
            return None
        op = m.group(0)
        if op not in OPERATORS:
            probs.add(where(i), f"unknown operator {op!r} after {key}")
            return None
        i = m.end()
        if i >= n or text[i] != '"':
            probs.add(where(i), f'value of {key} must be in double quotes, found {text[i:i + 12]!r}')
            return None
        j, value = i + 1, []
        while j < n and text[j] != '"':
            if text[j] == "\\" and j + 1 < n:
                j += 1
            value.append(text[j])
            j += 1
        if j >= n:
            probs.add(where(i), f"value of {key} has no closing quote")
            return None
        line, col = pos[start] if pos else (0, 0)
        tokens.append(Token(key, attr, op, "".join(value), line, col))
        i = j + 1
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            return tokens
        if text[i] != ",":
            probs.add(where(i), f"expected ',' between tokens, found {text[i:i + 12]!r}")
            return None
        i += 1
        if text[i:].strip() == "":
            probs.add(where(i - 1), "trailing ',' at the end of the rule")
            return None


def check_token(fname, t, probs):
    """Key name, attribute and operator against udev(7); values of IDs, MODE, LABEL, GOTO."""
    where = f"{fname}:{t.line}:{t.col}"
    spec = KEYS.get(t.key)
    if spec is None:
        probs.add(where, f"unknown key {t.key!r}")
        return
    need_attr, ops = spec
    if need_attr == "required" and t.attr is None:
        probs.add(where, f"{t.key} needs an attribute, as in {t.key}{{name}}")
    if need_attr == "none" and t.attr is not None:
        probs.add(where, f"{t.key} takes no attribute, found {{{t.attr}}}")
    if t.op not in ops:
        probs.add(where, f"operator {t.op!r} is not valid for {t.key} (allowed: {' '.join(sorted(ops))})")
    if (t.key, t.attr) in ID_KEYS:
        for alt in t.value.split("|"):
            if not HEX4.fullmatch(alt):
                probs.add(where, f"{t.key}{{{t.attr}}} value {alt!r} is not four lowercase hex digits")
    if t.key == "MODE":
        if not re.fullmatch(r"0?[0-7]{3}", t.value):
            probs.add(where, f"MODE {t.value!r} is not an octal mode")
        elif int(t.value, 8) & 0o007:
            probs.add(where, f"MODE {t.value} gives other users access; use 0660")
    if t.key in ("LABEL", "GOTO", "GROUP", "OWNER") and not t.value:
        probs.add(where, f"{t.key} has an empty value")


def device_ids(rule):
    """All (vendor, product) pairs a rule matches by ID, or [] if it does not match by ID."""
    vend = [a for t in rule.find("ATTRS", "idVendor", MATCH) for a in t.value.split("|")]
    prod = [a for t in rule.find("ATTRS", "idProduct", MATCH) for a in t.value.split("|")]
    return list(itertools.product(vend, prod))


def check_rule_file(fname, text, probs):
    """Parses and checks one udev rules file. Returns the set of devices it grants."""
    rules, labels, gotos = [], set(), []
    for line, joined, pos, comments in logical_lines(fname, text, probs):
        tokens = tokenize(fname, joined, pos, probs)
        if tokens is None:
            continue
        rule = Rule(fname, line, joined, comments, tokens)
        for t in tokens:
            check_token(fname, t, probs)
            if t.key == "LABEL":
                labels.add(t.value)
            if t.key == "GOTO":
                gotos.append((t, labels.copy()))
        rules.append(rule)
    for t, seen in gotos:
        if t.value in seen:
            probs.add(f"{fname}:{t.line}", f"GOTO=\"{t.value}\" jumps backwards; udev only jumps forward")
        elif t.value not in labels:
            probs.add(f"{fname}:{t.line}", f"GOTO=\"{t.value}\" has no LABEL=\"{t.value}\" in this file")
    return check_policy(fname, rules, probs)


def check_policy(fname, rules, probs):
    """What a Keyfence rule may do; returns {(subsystem, match)} for the cross-file check."""
    devices, guarded = {}, False
    for r in rules:
        if [t for t in r.find("ACTION", ops={"!="}) if t.value == "add|change"] and r.find("GOTO"):
            guarded = True
        assigns = [t for t in r.tokens if t.op not in MATCH and t.key not in ("LABEL", "GOTO")]
        if not assigns:
            continue
        where = f"{fname}:{r.line}"
        for t in assigns:
            if (t.key, t.op, t.value) not in GRANTS and (t.key, t.op) not in GRANTS:
                probs.add(where, f"{t.key}{t.op}\"{t.value}\": a Keyfence rule may only grant access "
                          "(TAG+=\"uaccess\", GROUP=, MODE=)")
        if not guarded and not [t for t in r.find("ACTION", ops={"=="}) if t.value == "add|change"]:
            probs.add(where, 'device rule is not limited to ACTION=="add|change" '
                      '(add the rule token or an ACTION!="add|change", GOTO= guard above)')
        subs = [t.value for t in r.find("SUBSYSTEM", ops={"=="})]
        if len(subs) != 1 or subs[0] not in DEVICE_SUBSYSTEMS:
            probs.add(where, 'device rule must match exactly one SUBSYSTEM=="usb" or =="hidraw"')
            continue
        text = [c.lstrip("#").strip() for c in r.comments]
        if not any(text):
            probs.add(where, "device rule has no comment above it naming the device")
        ids = device_ids(r)
        if not ids:
            if not r.find("ENV", "ID_USB_INTERFACES", {"=="}):
                probs.add(where, "device rule matches neither idVendor/idProduct nor ID_USB_INTERFACES")
            keys = [(subs[0], f"{t.key}{{{t.attr}}}{t.op}{t.value}") for t in r.tokens if t.op in MATCH
                    and t.key not in ("SUBSYSTEM", "ACTION")]
            keys = [(subs[0], ",".join(sorted(k for _, k in keys)))]
        else:
            keys = [(subs[0], f"{v}:{p}") for v, p in ids]
            for v, p in ids:
                if not any(re.search(rf"\b{v}:{p}\s+\w", c) for c in r.comments):
                    probs.add(where, f"comment above the rule does not name device {v}:{p} "
                              f"(expected a line like '#   {v}:{p}  Device name')")
        for k in keys:
            if k in devices:
                probs.add(where, f"device {k[1]} ({k[0]}) is already matched on line {devices[k]}")
            else:
                devices[k] = r.line
    return set(devices)


def check_same_devices(named_sets, probs):
    """All rule files in the directory must grant access to the same devices."""
    if len(named_sets) < 2:
        return
    (first, ref), rest = named_sets[0], named_sets[1:]
    for name, devs in rest:
        for k in sorted(ref - devs):
            probs.add(name, f"does not match {k[0]} device {k[1]} that {first} matches")
        for k in sorted(devs - ref):
            probs.add(name, f"matches {k[0]} device {k[1]} that {first} does not")


# ---------------------------------------------------------------------------
# polkit rule (JavaScript)
# ---------------------------------------------------------------------------

PCSC_ACTIONS = ("org.debian.pcsc-lite.access_pcsc", "org.debian.pcsc-lite.access_card")
PAIRS = {")": "(", "]": "[", "}": "{"}


def js_lex(fname, src, probs):
    """Returns (code with strings and comments blanked, list of string literals)."""
    code, strings, stack = [], [], []
    i, n, line, col = 0, len(src), 1, 1

    def adv(k):
        nonlocal i, line, col
        for ch in src[i:i + k]:
            line, col = (line + 1, 1) if ch == "\n" else (line, col + 1)
        i += k

    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            code.append(" ")
            adv(j - i)
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            if j < 0:
                probs.add(f"{fname}:{line}:{col}", "unterminated /* comment")
                break
            code.append(" ")
            adv(j + 2 - i)
        elif c in "'\"`":
            if c == "`":
                probs.add(f"{fname}:{line}:{col}", "template string: not ECMAScript 5 (duktape)")
            at, j, buf = (line, col), i + 1, []
            while j < n and src[j] != c and (src[j] != "\n" or c == "`"):
                if src[j] == "\\":
                    j += 1
                buf.append(src[j] if j < n else "")
                j += 1
            if j >= n or src[j] != c:
                probs.add(f"{fname}:{at[0]}:{at[1]}", f"unterminated string starting with {c}")
                adv(j - i)
                continue
            strings.append("".join(buf))
            code.append('""')
            adv(j + 1 - i)
        else:
            if c in "([{":
                stack.append((c, line, col))
            elif c in ")]}":
                if not stack or stack[-1][0] != PAIRS[c]:
                    probs.add(f"{fname}:{line}:{col}", f"unbalanced {c!r}" +
                              (f" (open {stack[-1][0]!r} from line {stack[-1][1]})" if stack else ""))
                else:
                    stack.pop()
            code.append(c)
            adv(1)
    for ch, ln, cl in stack:
        probs.add(f"{fname}:{ln}:{cl}", f"{ch!r} is never closed")
    return "".join(code), strings


def check_polkit_static(fname, src, probs):
    code, strings = js_lex(fname, src, probs)
    for a in PCSC_ACTIONS:
        if a not in strings:
            probs.add(fname, f"does not name the action {a!r}")
    for s in strings:
        if s.startswith("org.") and s not in PCSC_ACTIONS:
            probs.add(fname, f"names another action {s!r}; this rule is for pcscd only")
    if "polkit.addRule(" not in re.sub(r"\s+", "", code):
        probs.add(fname, "no polkit.addRule( call")
    for word in ("=>", r"\blet\b", r"\bconst\b", r"\bclass\b"):
        m = re.search(word, code)
        if m:
            ln = code.count("\n", 0, m.start()) + 1
            probs.add(f"{fname}:{ln}", f"{m.group(0)!r} is not ECMAScript 5 (duktape in polkitd)")
    for need in ("subject.active", "subject.local"):
        if not re.search(rf"\b{re.escape(need)}\b", code):
            probs.add(fname, f"the grant does not test {need}")
    for res in re.findall(r"polkit\.Result\.(\w+)", code):
        if res != "YES":
            probs.add(fname, f"returns polkit.Result.{res}; this rule only grants (YES)")


NODE_HARNESS = r"""
const fs = require('fs');
const src = fs.readFileSync(process.argv[2], 'utf8');
const rules = [];
const polkit = {Result: {YES: 'yes', NO: 'no', AUTH_SELF: 'auth_self', AUTH_ADMIN: 'auth_admin',
                         AUTH_SELF_KEEP: 'auth_self_keep', AUTH_ADMIN_KEEP: 'auth_admin_keep',
                         NOT_HANDLED: undefined},
                addRule: (f) => rules.push(f), addAdminRule: () => {}, log: () => {}, spawn: () => ''};
new Function('polkit', src)(polkit);
const out = [];
for (const id of JSON.parse(process.argv[3]))
  for (const active of [true, false])
    for (const local of [true, false]) {
      const action = {id: id, lookup: () => undefined};
      const subject = {active: active, local: local, user: 'alice', pid: 1, session: 's1',
                       groups: ['alice'], seat: 'seat0', isInGroup: () => false, isInNetGroup: () => false};
      let r;
      for (const f of rules) { r = f(action, subject); if (r !== undefined) break; }
      out.push([id, active, local, r === undefined ? null : r]);
    }
process.stdout.write(JSON.stringify({rules: rules.length, results: out}));
"""


def check_polkit_node(fname, path, probs, node):
    """node --check on the rule wrapped as a function body, then run it against a stub polkit."""
    with tempfile.TemporaryDirectory(prefix="keyfence-polkit-") as tmp:
        wrapped = os.path.join(tmp, "wrapped.js")
        with open(path, encoding="utf-8") as f, open(wrapped, "w", encoding="utf-8") as w:
            w.write("(function (polkit) {\n" + f.read() + "\n});\n")
        r = subprocess.run([node, "--check", wrapped], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            probs.add(fname, "node --check failed: " + (r.stderr.strip().splitlines() or ["?"])[0])
            return
        harness = os.path.join(tmp, "harness.js")
        with open(harness, "w", encoding="utf-8") as w:
            w.write(NODE_HARNESS)
        ids = list(PCSC_ACTIONS) + ["org.freedesktop.login1.reboot", "org.debian.pcsc-lite.other"]
        r = subprocess.run([node, harness, path, json.dumps(ids)], capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            probs.add(fname, "running the rule under node failed: " + r.stderr.strip()[-300:])
            return
        got = json.loads(r.stdout)
        if got["rules"] != 1:
            probs.add(fname, f"expected exactly one polkit.addRule, found {got['rules']}")
        for action_id, active, local, result in got["results"]:
            want = "yes" if action_id in PCSC_ACTIONS and active and local else None
            if result != want:
                probs.add(fname, f"action {action_id} active={active} local={local}: rule returned "
                          f"{result!r}, expected {'YES' if want else 'no answer (not handled)'}")


# ---------------------------------------------------------------------------
# udevadm verify (systemd >= 253)
# ---------------------------------------------------------------------------

def find_udevadm():
    for cand in (shutil.which("udevadm"), "/usr/bin/udevadm", "/bin/udevadm", "/sbin/udevadm"):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def udevadm_verify(files):
    """Returns (status, detail): status is "pass", "fail" or "skip"."""
    exe = find_udevadm()
    if exe is None:
        return "skip", "udevadm not installed; 'udevadm verify' needs systemd >= 253"
    r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    m = re.match(r"\s*(\d+)", r.stdout)
    version = int(m.group(1)) if m else 0
    if version < 253:
        return "skip", (f"udevadm {version or '?'} has no 'verify' (needs systemd >= 253; "
                        "Debian 12 ships 252)")
    r = subprocess.run([exe, "verify", "--resolve-names=never", *files], capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        return "fail", (r.stdout + r.stderr).strip()
    return "pass", f"udevadm {version} verify"


# ---------------------------------------------------------------------------
# Drivers
# ---------------------------------------------------------------------------

class Report:
    def __init__(self, quiet=False):
        self.passed = self.failed = 0
        self.quiet = quiet

    def result(self, name, probs):
        if probs.items:
            self.failed += 1
            print(f"FAIL {name}")
            for p in probs.items:
                print(f"     {p}")
        else:
            self.passed += 1
            if not self.quiet:
                print(f"ok   {name}")

    def note(self, msg):
        print(f"note {msg}")

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


def run_checks(udev_dir):
    rep = Report()
    rule_files = sorted(f for f in os.listdir(udev_dir) if f.endswith(".rules"))
    if not rule_files:
        p = Problems()
        p.add(udev_dir, "no .rules files")
        rep.result("udev rule files present", p)
    sets = []
    for name in rule_files:
        path = os.path.join(udev_dir, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        p = Problems()
        devs = check_rule_file(name, text, p)
        rep.result(f"{name}: syntax, IDs, comments and grants ({len(devs)} device matches)", p)
        sets.append((name, devs))
    p = Problems()
    check_same_devices(sets, p)
    rep.result("uaccess and group rule files match the same devices", p)

    status, detail = udevadm_verify([os.path.join(udev_dir, f) for f in rule_files])
    if status == "skip":
        rep.note(f"skipping udevadm verify: {detail}")
    else:
        p = Problems()
        if status == "fail":
            p.add("udevadm verify", detail)
        rep.result(f"udevadm verify ({detail if status == 'pass' else 'failed'})", p)

    pdir = os.path.join(udev_dir, "polkit")
    pfiles = sorted(f for f in os.listdir(pdir) if f.endswith(".rules")) if os.path.isdir(pdir) else []
    if not pfiles:
        p = Problems()
        p.add(pdir, "no polkit .rules file")
        rep.result("polkit rule present", p)
    node = shutil.which("node")
    for name in pfiles:
        path = os.path.join(pdir, name)
        with open(path, encoding="utf-8") as f:
            src = f.read()
        p = Problems()
        check_polkit_static(f"polkit/{name}", src, p)
        rep.result(f"polkit/{name}: both pcscd actions, balanced, ECMAScript 5, grants only", p)
        if node:
            p = Problems()
            check_polkit_node(f"polkit/{name}", path, p, node)
            rep.result(f"polkit/{name}: node --check and behaviour (YES only if active and local)", p)
        else:
            rep.note(f"node not on PATH; polkit/{name} checked without a JavaScript engine")
    return rep.finish()


# ---------------------------------------------------------------------------
# --self-test: every broken input must be rejected with the expected message
# ---------------------------------------------------------------------------

GUARD = 'ACTION!="add|change", GOTO="end"\n'
END = 'LABEL="end"\n'
GOOD_RULE = ('# 1050:0407  YubiKey 5 OTP+FIDO+CCID\n'
             'SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTRS{idVendor}=="1050", \\\n'
             '    ATTRS{idProduct}=="0407", TAG+="uaccess"\n')


def dev(body, comment="# 1050:0407  YubiKey 5\n"):
    return GUARD + comment + body + "\n" + END


BROKEN_UDEV = [
    ("three-digit product ID (as in an old 69-yubikey.rules)",
     dev('SUBSYSTEM=="hidraw", ATTRS{idVendor}=="1050", ATTRS{idProduct}=="0407|114", TAG+="uaccess"'),
     "'114' is not four lowercase hex digits"),
    ("uppercase vendor ID", dev('SUBSYSTEM=="usb", ATTRS{idVendor}=="1A44", ATTRS{idProduct}=="0407", '
                                'TAG+="uaccess"', "# 1A44:0407  x\n"), "not four lowercase hex digits"),
    ("empty alternative", dev('SUBSYSTEM=="usb", ATTRS{idVendor}=="1050|", ATTRS{idProduct}=="0407", '
                              'TAG+="uaccess"'), "'' is not four lowercase hex digits"),
    ("missing closing quote", dev('SUBSYSTEM=="usb", TAG+="uaccess'), "no closing quote"),
    ("quote closed too late", dev('SUBSYSTEM=="usb, TAG+="uaccess"'), "expected ',' between tokens"),
    ("unquoted value", dev('SUBSYSTEM==usb, TAG+="uaccess"'), "must be in double quotes"),
    ("misspelt key", dev('SUBSYTEM=="usb", TAG+="uaccess"'), "unknown key 'SUBSYTEM'"),
    ("regex-style operator", dev('SUBSYSTEM=~"usb", TAG+="uaccess"'), "unknown operator '=~'"),
    ("no operator", dev('SUBSYSTEM "usb", TAG+="uaccess"'), "expected an operator"),
    ("triple equals", dev('SUBSYSTEM==="usb", TAG+="uaccess"'), "unknown operator '==='"),
    ("match on an assign-only key", dev('SUBSYSTEM=="usb", MODE=="0660"'), "operator '==' is not valid for MODE"),
    ("assignment to ATTRS", dev('SUBSYSTEM=="usb", ATTRS{idVendor}="1050", TAG+="uaccess"'),
     "operator '=' is not valid for ATTRS"),
    ("ATTRS without attribute", dev('SUBSYSTEM=="usb", ATTRS=="1050", TAG+="uaccess"'), "ATTRS needs an attribute"),
    ("attribute on SUBSYSTEM", dev('SUBSYSTEM{x}=="usb", TAG+="uaccess"'), "SUBSYSTEM takes no attribute"),
    ("unclosed attribute brace", dev('SUBSYSTEM=="usb", ATTRS{idVendor=="1050"'), "is never closed"),
    ("missing comma", dev('SUBSYSTEM=="usb" TAG+="uaccess"'), "expected ',' between tokens"),
    ("trailing comma", dev('SUBSYSTEM=="usb", TAG+="uaccess",'), "trailing ','"),
    ("continuation at end of file", GUARD + '# x\nSUBSYSTEM=="usb", \\\n', "file ends inside a continued rule"),
    ("comment inside a continued rule", GUARD + '# 1050:0407  Y\nSUBSYSTEM=="usb", \\\n# oops\n'
     '    ATTRS{idVendor}=="1050", ATTRS{idProduct}=="0407", TAG+="uaccess"\n' + END,
     "inside a continued rule"),
    ("device rule without a comment", dev('SUBSYSTEM=="usb", ATTRS{idVendor}=="1050", '
                                          'ATTRS{idProduct}=="0407", TAG+="uaccess"', comment=""),
     "no comment above it"),
    ("comment that does not name the device", dev('SUBSYSTEM=="usb", ATTRS{idVendor}=="1050", '
                                                  'ATTRS{idProduct}=="0407|0406", TAG+="uaccess"'),
     "does not name device 1050:0406"),
    ("world-accessible MODE", dev('SUBSYSTEM=="usb", ATTRS{idVendor}=="1050", ATTRS{idProduct}=="0407", '
                                  'GROUP="plugdev", MODE="0666"'), "gives other users access"),
    ("RUN in a Keyfence rule", dev('SUBSYSTEM=="usb", ATTRS{idVendor}=="1050", ATTRS{idProduct}=="0407", '
                                   'RUN+="/bin/sh -c id"'), "may only grant access"),
    ("input subsystem", dev('SUBSYSTEM=="input", ATTRS{idVendor}=="1050", ATTRS{idProduct}=="0407", '
                            'TAG+="uaccess"'), 'exactly one SUBSYSTEM=="usb" or =="hidraw"'),
    ("no ACTION limit", '# 1050:0407  Y\nSUBSYSTEM=="usb", ATTRS{idVendor}=="1050", '
     'ATTRS{idProduct}=="0407", TAG+="uaccess"\n', 'not limited to ACTION=="add|change"'),
    ("GOTO without LABEL", 'ACTION!="add|change", GOTO="nowhere"\n', 'has no LABEL="nowhere"'),
    ("empty LABEL", GUARD + 'LABEL=""\n' + END, "LABEL has an empty value"),
    ("duplicate device", GUARD + GOOD_RULE + "\n" + GOOD_RULE + END, "already matched on line"),
    ("trailing whitespace", GUARD + GOOD_RULE.replace('"uaccess"\n', '"uaccess" \n') + END,
     "trailing whitespace"),
]

GOOD_POLKIT = """polkit.addRule(function(action, subject) {
    if ((action.id == "org.debian.pcsc-lite.access_pcsc" ||
         action.id == "org.debian.pcsc-lite.access_card") && subject.active && subject.local) {
        return polkit.Result.YES;
    }
});
"""
BROKEN_POLKIT = [
    ("missing access_card", GOOD_POLKIT.replace("access_card", "access_cards"), "access_card'"),
    ("unbalanced brace", GOOD_POLKIT.replace("subject.local) {", "subject.local) {{"), "is never closed"),
    ("extra parenthesis", GOOD_POLKIT.replace("});", "}));"), "unbalanced ')'"),
    ("unterminated string", GOOD_POLKIT.replace('access_pcsc"', "access_pcsc"), "unterminated string"),
    ("unterminated comment", "/* note\n" + GOOD_POLKIT, "unterminated /* comment"),
    ("arrow function", GOOD_POLKIT.replace("function(action, subject)", "(action, subject) =>"),
     "not ECMAScript 5"),
    ("grants without checking local", GOOD_POLKIT.replace(" && subject.local", ""), "subject.local"),
    ("denies as well", GOOD_POLKIT.replace("    }\n});", "    }\n    return polkit.Result.NO;\n});"),
     "polkit.Result.NO"),
]
# Passes every static check but grants to remote users: only running it can tell.
SNEAKY_POLKIT = GOOD_POLKIT.replace("subject.active && subject.local", "(subject.active || subject.local)")


def self_test():
    rep = Report()
    p = Problems()
    check_rule_file("good.rules", GUARD + GOOD_RULE + END, p)
    rep.result("a well-formed rule is accepted", p)
    for desc, text, expect in BROKEN_UDEV:
        p, got = Problems(), Problems()
        check_rule_file("broken.rules", text, got)
        if not any(expect in m for m in got.items):
            p.add("self-test", f"expected an error containing {expect!r}, got {got.items or 'none'}")
        rep.result(f"rejects udev rule: {desc}" + (f" -> {got.items[0]}" if got.items else ""), p)

    p, got = Problems(), Problems()
    other = GOOD_RULE.replace("0407", "0406")
    check_same_devices([("a.rules", check_rule_file("a.rules", GUARD + GOOD_RULE + END, Problems())),
                        ("b.rules", check_rule_file("b.rules", GUARD + other + END, Problems()))], got)
    if not any("does not match usb device 1050:0407" in m for m in got.items):
        p.add("self-test", f"expected a device mismatch, got {got.items or 'none'}")
    rep.result("rejects rule files that match different devices", p)

    p = Problems()
    check_polkit_static("good.rules", GOOD_POLKIT, p)
    rep.result("a well-formed polkit rule is accepted", p)
    for desc, src, expect in BROKEN_POLKIT:
        p, got = Problems(), Problems()
        check_polkit_static("broken.rules", src, got)
        if not any(expect in m for m in got.items):
            p.add("self-test", f"expected an error containing {expect!r}, got {got.items or 'none'}")
        rep.result(f"rejects polkit rule: {desc}" + (f" -> {got.items[0]}" if got.items else ""), p)

    node = shutil.which("node")
    if node:
        with tempfile.TemporaryDirectory(prefix="keyfence-selftest-") as tmp:
            for desc, src, expect in (("well-formed rule runs as expected", GOOD_POLKIT, None),
                                      ("grant to remote users is caught by running it",
                                       SNEAKY_POLKIT, "active=True local=False")):
                path = os.path.join(tmp, "rule.rules")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(src)
                p, got = Problems(), Problems()
                check_polkit_node("rule.rules", path, got, node)
                if expect is None and got.items:
                    p.items = got.items
                if expect is not None and not any(expect in m for m in got.items):
                    p.add("self-test", f"expected an error containing {expect!r}, got {got.items or 'none'}")
                rep.result(f"polkit under node: {desc}", p)
    else:
        rep.note("node not on PATH; skipping the behavioural polkit self-tests")
    return rep.finish()


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) != 2 or not os.path.isdir(argv[1]):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    return run_checks(argv[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
