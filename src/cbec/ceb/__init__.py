"""The customs cross-border e-commerce message standard (CEB, 202205 edition). No database, no HTTP.

from cbec import ceb
msg = ceb.parse(Path("CEB621Message.xml"))     # typed Message; DxpMsg envelopes are opened
problems = ceb.check(msg)                      # every problem, with official codes and paths
xml = ceb.render(msg)                          # 202205 element order, ceb: prefix, UTF-8
"""

from cbec.ceb.catalogue import MESSAGE_TYPES, MessageType, message_type
from cbec.ceb.catalogue.spec import MessageSpec, all_message_specs, message_spec
from cbec.ceb.check import CheckOptions, check
from cbec.ceb.errors import CebError, SignatureError, UnknownMessage, XmlRefused
from cbec.ceb.model import ExtendMessage, Message, Node, new_message
from cbec.ceb.parse import parse, parse_checked
from cbec.ceb.problems import Problem, has_errors
from cbec.ceb.render import render

__all__ = [
    "MESSAGE_TYPES",
    "CebError",
    "CheckOptions",
    "ExtendMessage",
    "Message",
    "MessageSpec",
    "MessageType",
    "Node",
    "Problem",
    "SignatureError",
    "UnknownMessage",
    "XmlRefused",
    "all_message_specs",
    "check",
    "has_errors",
    "message_spec",
    "message_type",
    "new_message",
    "parse",
    "parse_checked",
    "render",
]
