"""Reading a DMN export: its bytes in any declared encoding, its elements without namespaces, names as node
ids, FEEL literals as JSON Logic (used by service/cli/dmn_import.py)."""

from __future__ import annotations

import codecs
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

TYPES = {
    "string": "string",
    "number": "number",
    "double": "number",
    "integer": "integer",
    "long": "integer",
    "boolean": "boolean",
    "date": "date",
    "map": "object",
    "object": "object",
    "list": "list",
}
DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
MAX_BYTES = 10 * 1024 * 1024  # Sitecore exports are kilobytes; 10 MB imports in ~5 s (a 50 MB file took 91 s, 983 MB)
_DECLARED = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
DATE_TIME = re.compile(r'date and time\(\s*"(\d{4}-\d{2}-\d{2})(?:T[^"]*)?"\s*\)')
COMPARISON = re.compile(r"^\s*(>=|<=|>|<)\s*(.+?)\s*$")


class DmnError(ValueError):
    """The file is not a DMN document this importer can read."""


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if local_name(child.tag) == name]


def child(element: ET.Element, name: str) -> ET.Element | None:
    found = children(element, name)
    return found[0] if found else None


def text_of(element: ET.Element | None) -> str:
    """The `<text>` of an element (or its own text)."""
    if element is None:
        return ""
    text = child(element, "text")
    return ((text if text is not None else element).text or "").strip()


def decode_xml(data: bytes) -> str:
    """The document as text, whatever encoding it declares or marks with a BOM (expat itself reads only
    UTF-8, UTF-16, Latin-1 and ASCII); the declaration is removed, since the text is decoded already."""
    if len(data) > MAX_BYTES:
        raise DmnError(f"larger than {MAX_BYTES:,} bytes; a decision model export is far smaller")
    boms = (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    )
    encoding = next((name for bom, name in boms if data.startswith(bom)), None)
    if encoding is None:
        if data[:4] in (b"<\x00\x00\x00", b"\x00\x00\x00<"):
            encoding = "utf-32-le" if data[0] == ord("<") else "utf-32-be"
        elif data[:2] in (b"<\x00", b"\x00<"):
            encoding = "utf-16-le" if data[0] == ord("<") else "utf-16-be"
        else:
            declared = _DECLARED.match(data.lstrip())
            encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        text = data.decode(encoding)
    except LookupError:
        raise DmnError(f"the file declares the encoding {encoding!r}, which is unknown") from None
    except UnicodeDecodeError as exc:
        raise DmnError(f"not valid {encoding} text at byte {exc.start}") from None
    return _DECLARATION.sub("", text, count=1)


def ident(name: str) -> str:
    """A node id from a DMN name: letters, digits and underscores, not starting with a digit."""
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", name.strip()).strip("_") or "node"
    return f"n_{cleaned}" if cleaned[0].isdigit() else cleaned


def value_type(type_ref: str | None) -> str:
    return TYPES.get((type_ref or "").lower(), "any")


def feel_literal(text: str, reference: str) -> Any:
    """A FEEL name or literal as JSON Logic (a bare JSON string would be read as a path), else None."""
    try:
        value = json.loads(text)
    except ValueError:
        return {"var": reference} if DOTTED.match(reference) else None
    if isinstance(value, bool):
        return {"!!": [value]}
    if isinstance(value, str):
        return {"cat": [value]}
    if isinstance(value, int | float):
        return {"+": [value]}
    return None


def split_outside_quotes(text: str, separator: str) -> list[str]:
    parts, current, quoted, index = [], "", False, 0
    while index < len(text):
        if text[index] == '"':
            quoted = not quoted
        if not quoted and text.startswith(separator, index):
            parts.append(current.strip())
            current, index = "", index + len(separator)
            continue
        current += text[index]
        index += 1
    parts.append(current.strip())
    return [p for p in parts if p]


def split_list(text: str) -> list[str]:
    from decision_models.feel import split_top_level

    return [part for part in split_top_level(text) if part]


def requirements(decision: ET.Element) -> list[str]:
    refs = []
    for requirement in children(decision, "informationRequirement"):
        for kind in ("requiredDecision", "requiredInput"):
            for target in children(requirement, kind):
                href = target.get("href", "")
                refs.append(href.lstrip("#"))
    return refs
