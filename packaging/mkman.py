#!/usr/bin/env python3
"""Generates mif's man pages from the sources the rest of the project already keeps, so
the pages cannot drift from them:

  mkman.py cli MIF VERSION OUT      mif(1) from `MIF --help` and `MIF COMMAND --help` for
                                    every command that `MIF --help` lists
  mkman.py policy MD VERSION OUT    mif-policy(5) from docs/policy.md

Help texts are read as mif prints them: a "Usage:" block, paragraphs, and option lists
("  --opt ARG   what it does", continuation lines indented to the description). The
markdown reader knows what docs/policy.md uses: headings, paragraphs, bullet and
numbered lists, fenced code blocks, tables, `code`, **bold**, *emphasis* and links.
"""
import re
import subprocess
import sys

# --- roff text -------------------------------------------------------------------------


def esc(text):
    """Plain text as roff: backslashes, hyphens as minus signs (so options copy and paste
    as typed), and every non-ASCII character as a named glyph."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\e")
        elif ch == "-":
            out.append("\\-")
        elif ord(ch) > 127:
            out.append("\\[u%04X]" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def line_safe(line):
    """A text line that roff must not take for a request (leading . or ')."""
    if line.startswith((".", "'")):
        return "\\&" + line
    return line


def fill(text):
    """Filled text, one output line per input sentence piece; never a request."""
    return "\n".join(line_safe(l) for l in text.split("\n") if l.strip() != "")


def verbatim(lines):
    out = [".PP", ".RS 4", ".nf"]
    out += [line_safe(esc(l)) if l else "" for l in lines]
    out += [".fi", ".RE"]
    return out


# --- mif(1) from the help texts ---------------------------------------------------------

OPTION_RE = re.compile(r"^( {2,4})(-\S(?:.*?\S)?)( {2,})(\S.*)$")


def help_of(mif, *args):
    r = subprocess.run([mif, *args, "--help"], capture_output=True, text=True, check=False)
    if r.returncode != 0 or not r.stdout.strip():
        sys.exit("mkman: %s %s --help failed (%d): %s" % (mif, " ".join(args), r.returncode, r.stderr))
    return r.stdout


def blocks(text):
    """The paragraphs of a help text: lists of lines, split at blank lines."""
    cur, out = [], []
    for line in text.rstrip("\n").split("\n"):
        if line.strip() == "":
            if cur:
                out.append(cur)
            cur = []
        else:
            cur.append(line.rstrip())
    if cur:
        out.append(cur)
    return out


def option_term(term):
    """"--policy FILE" -> bold option words, italic placeholders."""
    parts = []
    for word in term.split(" "):
        if word.startswith("-"):
            parts.append("\\fB%s\\fR" % esc(word))
        elif word:
            parts.append("\\fI%s\\fR" % esc(word))
    return " ".join(parts)


def render_help_block(block):
    if block[0].startswith("Usage:"):
        return verbatim(block)
    if OPTION_RE.match(block[0]):
        out = []
        for line in block:
            m = OPTION_RE.match(line)
            if m:
                out += [".TP", option_term(m.group(2)), line_safe(esc(m.group(4)))]
            else:
                out.append(line_safe(esc(line.strip())))
        return out
    if all(l.startswith("  ") for l in block):  # an indented table of its own
        return verbatim(block)
    return [".PP", fill(esc("\n".join(l.strip() for l in block)))]


def usage_lines(block):
    """'Usage: mif run ...' and its continuation lines, without 'Usage:'."""
    first = block[0][len("Usage:"):].strip()
    return [first] + [l.strip() for l in block[1:]]


def cli_page(mif, version):
    top = help_of(mif)
    top_blocks = blocks(top)
    commands = []
    description = []
    for b in top_blocks:
        if b[0].startswith("Usage:"):
            continue
        if b[0].rstrip(":") == "Commands":
            for line in b[1:]:
                m = re.match(r"^\s+(\S+)\s+(.*)$", line)
                if m:
                    commands.append((m.group(1), m.group(2)))
            continue
        description.append(b)
    if not commands:
        sys.exit("mkman: no 'Commands:' list in `mif --help`")

    out = ['.TH MIF 1 "" "mif %s" "User Commands"' % esc(version), ".nh", ".ad l"]
    out += [".SH NAME", "mif \\- run programs with each socket and each name on the right provisioning domain"]
    out += [".SH SYNOPSIS", ".nf"]
    for b in top_blocks:
        if b[0].startswith("Usage:"):
            out += [line_safe(esc(l)) for l in usage_lines(b)]
    out += [".fi", ".SH DESCRIPTION"]
    for b in description:
        out += render_help_block(b)
    out += [".SH COMMANDS"]
    for name, summary in commands:
        out += [".TP", "\\fB%s\\fR" % esc(name), line_safe(esc(summary))]
    for name, _ in commands:
        if name == "help":
            continue
        out += [".SS \"mif %s\"" % esc(name)]
        for b in blocks(help_of(mif, name)):
            out += render_help_block(b)
    out += [
        ".SH ENVIRONMENT",
        "What \\fBmif run\\fR hands the preload library; children inherit it.",
        ".TP", "\\fBMIF_POLICY\\fR", "the command-line policy file",
        ".TP", "\\fBMIF_PVD\\fR", "the pinned PvDs, a comma list",
        ".TP", "\\fBMIF_DNS\\fR", "DNS servers of ad hoc PvDs, a comma list",
        ".TP", "\\fBMIF_STRICT\\fR", "1: the pin is strict",
        ".TP", "\\fBMIF_TRACE\\fR", "a file, or \\fBstderr\\fR: one JSON line per decision",
        ".TP", "\\fBMIF_DISABLE\\fR", "1: the library does nothing",
        ".TP", "\\fBMIF_LAB\\fR, \\fBMIF_LAB_POLICY\\fR",
        "set by \\fBmif lab exec\\fR: the lab's name and its policy file, which the commands "
        "take as their command-line layer unless \\fB\\-\\-policy\\fR is given",
        ".SH FILES",
        ".TP", "\\fI/etc/mif/policy.toml\\fR", "the system policy layer",
        ".TP", "\\fI$XDG_CONFIG_HOME/mif/policy.toml\\fR",
        "the user's layer (\\fI~/.config/mif/policy.toml\\fR)",
        ".TP", "\\fI/usr/share/doc/mif/examples/policy.toml\\fR", "an example policy",
        ".TP", "\\fI/run/mif\\-lab/\\fR", "the state of the labs that \\fBmif lab\\fR built",
        ".SH SEE ALSO",
        "\\fBmif\\-policy\\fR(5), \\fBip\\fR(8), \\fBresolv.conf\\fR(5)",
    ]
    return "\n".join(out) + "\n"


# --- mif-policy(5) from markdown --------------------------------------------------------

INLINE_RE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|\*([^*\s][^*]*?)\*|\[([^\]]+)\]\([^)]+\)")


def inline(text):
    """Markdown inline markup as roff: `code` and **bold** bold, *emphasis* italic,
    [text](url) its text."""
    out, pos = [], 0
    for m in INLINE_RE.finditer(text):
        out.append(esc(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("\\fB%s\\fR" % esc(m.group(1)))
        elif m.group(2) is not None:
            out.append("\\fB%s\\fR" % inline(m.group(2)).replace("\\fR", "\\fB"))
        elif m.group(3) is not None:
            out.append("\\fI%s\\fR" % esc(m.group(3)))
        else:
            out.append(inline(m.group(4)))
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def table_cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def policy_page(md_path, version):
    lines = open(md_path, encoding="utf-8").read().split("\n")
    out = ['.TH MIF\\-POLICY 5 "" "mif %s" "File Formats"' % esc(version), ".nh", ".ad l"]
    out += [".SH NAME", "mif\\-policy \\- the mif policy file: provisioning domains, rules, layers, precedence"]
    out += [".SH SYNOPSIS", "\\fI/etc/mif/policy.toml\\fR, \\fI$XDG_CONFIG_HOME/mif/policy.toml\\fR, "
            "\\fBmif run \\-\\-policy\\fR \\fIFILE\\fR"]
    out += [".SH DESCRIPTION"]
    i, para = 0, []

    def flush():
        if para:
            out.extend([".PP", fill(inline("\n".join(para)))])
            para.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if line.startswith("# "):  # the title: NAME says it
            i += 1
            continue
        if line.startswith("## "):
            flush()
            heading = re.sub(r"[`*]", "", line[3:].strip()).upper()
            out.append('.SH "%s"' % esc(heading).replace('"', "\\(dq"))
            i += 1
            continue
        if line.startswith("### "):
            flush()
            out.append('.SS "%s"' % inline(line[4:].strip()).replace('"', "\\(dq"))
            i += 1
            continue
        if stripped.startswith("```"):
            flush()
            code = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                code.append(lines[i])
                i += 1
            out += verbatim(code)
            i += 1
            continue
        if stripped.startswith("|"):
            flush()
            header = table_cells(line)
            i += 2  # the |---| line
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = table_cells(lines[i])
                out += [".TP", inline(cells[0])]
                body = []
                for name, cell in zip(header[1:], cells[1:]):
                    body.append("\\fI%s\\fR: %s" % (inline(name), inline(cell)))
                out.append(line_safe("\n.br\n".join(body)))
                i += 1
            continue
        m = re.match(r"^(- |(\d+)\. )(.*)$", line)
        if m:
            flush()
            item = [m.group(3)]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                item.append(lines[i].strip())
                i += 1
            tag = "\\(bu 2" if m.group(2) is None else "%s. 4" % m.group(2)
            out += [".IP " + tag, fill(inline("\n".join(item)))]
            continue
        if stripped == "":
            flush()
            i += 1
            continue
        para.append(stripped)
        i += 1
    flush()
    out += [".SH SEE ALSO", "\\fBmif\\fR(1)"]
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("cli", "policy"):
        sys.exit(__doc__)
    kind, source, version, dest = sys.argv[1:]
    page = cli_page(source, version) if kind == "cli" else policy_page(source, version)
    with open(dest, "w", encoding="ascii") as f:
        f.write(page)


if __name__ == "__main__":
    main()
