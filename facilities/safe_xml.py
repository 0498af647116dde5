"""XML from untrusted files (KML, RSS/Atom feeds), parsed without a DTD.

expat with handlers that stop at a DOCTYPE or an entity declaration: no DTD is read, so no entity
is ever declared or expanded (billion laughs) and no external entity is fetched or read (XXE).
Tag and attribute names lose their namespace ('{http://www.w3.org/2005/Atom}entry' -> 'entry',
'xml:lang' -> 'lang'). defusedxml is not a dependency; this is the part of it these formats need.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from .errors import InputError

# No KML, RSS or Atom document nests anywhere near this; a file that does is built to exhaust the stack of
# whatever walks the tree next (ElementTree iteration, the KML reader's MultiGeometry recursion).
MAX_DEPTH = 100


class _Refused(Exception):
    pass


def parse_xml(raw: bytes, source: str, what: str = "XML") -> Element:
    """Bytes -> an ElementTree with namespace-free names; InputError (naming `source`) when the
    bytes are not well-formed or declare a DOCTYPE or entities. `what` names the format in messages."""
    builder = TreeBuilder()
    parser = expat.ParserCreate(namespace_separator=" ")

    def refuse_doctype(*_args):
        raise _Refused(f"declares a DOCTYPE; {what} never needs one, and DTD entities can expand to gigabytes "
                       "(billion laughs) or read local files (XXE), so the file is refused")

    def refuse_entity(*_args):
        raise _Refused(f"declares XML entities, which {what} never needs; the file is refused")

    def local(tag: str) -> str:
        return tag.rsplit(" ", 1)[-1]

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_entity
    parser.ExternalEntityRefHandler = refuse_entity
    depth = [0]

    def start(tag: str, attrs: dict) -> None:
        depth[0] += 1
        if depth[0] > MAX_DEPTH:
            raise _Refused(f"nests elements more than {MAX_DEPTH} levels deep (line {parser.CurrentLineNumber}); "
                           f"{what} never needs that many, so the file is refused")
        builder.start(local(tag), {local(k): v for k, v in attrs.items()})

    def end(tag: str) -> None:
        depth[0] -= 1
        builder.end(local(tag))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(raw, True)
        return builder.close()
    except _Refused as err:
        raise InputError(str(err), source=source) from None
    except expat.ExpatError as err:
        raise InputError(f"is not well-formed XML at line {err.lineno} column {err.offset}: "
                         f"{expat.ErrorString(err.code)}", source=source) from None
    except (AssertionError, IndexError):  # TreeBuilder on an empty document
        raise InputError(f"is empty, not {what}", source=source) from None
