"""How Telegram reads a message text: the parse modes (HTML, MarkdownV2, legacy Markdown) with
the errors its parser gives for malformed markup, and lengths counted in UTF-16 code units.

``render_text`` returns the text as the user sees it; the endpoints call it for every text and
caption, so a bot that passes the tests sends nothing Telegram would refuse to parse."""

from __future__ import annotations

import html
import re

from tests.fakes.errors import ApiError


def utf16_len(text: str) -> int:
    """Length as Telegram counts it. The limits are written in "characters" (sendMessage:
    "Text of the message to be sent, 1-4096 characters after entities parsing"; sendPhoto and
    sendDocument: "caption ..., 0-1024 characters after entities parsing";
    https://core.telegram.org/bots/api#sendmessage), and those characters are UTF-16 code
    units: "UTF-16 is used when computing the length and offsets of entities in the MTProto and
    bot APIs, by counting the number of UTF-16 code units (not code points)"
    (https://core.telegram.org/api/entities#entity-length). An emoji outside the Basic
    Multilingual Plane counts two: 2,049 of them are refused as a message."""
    return len(text.encode("utf-16-le")) // 2


class EntityError(Exception):
    """Malformed markup; the endpoints answer 400 "can't parse entities: ..."."""


# Real Telegram rejects malformed markup with 400 "can't parse entities". These parsers follow
# tdlib's rules closely enough to catch the usual bot bugs (unescaped '<', '.', '_' ...).

_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "code",
        "pre",
        "blockquote",
    }
)
_HTML_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _parse_html(text: str) -> str:
    out: list[str] = []
    stack: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            match = _HTML_ENTITY.match(text, i)
            if match:
                out.append(html.unescape(match.group(0)))
                i = match.end()
            else:  # tdlib keeps a lone '&' as text
                out.append(char)
                i += 1
            continue
        if char != "<":
            out.append(char)
            i += 1
            continue
        begin = i
        if i + 1 < n and text[i + 1] == "/":
            end = text.find(">", i)
            if end == -1:
                raise EntityError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise EntityError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            if name and name != stack[-1]:
                raise EntityError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{stack[-1]}>", found "</{name}>"'
                )
            stack.pop()
            i = end + 1
            continue
        j = i + 1
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise EntityError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        name = text[i + 1 : j].lower()
        if name not in _HTML_TAGS:
            raise EntityError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, begin)}'
            )
        attrs: dict[str, str] = {}
        while True:
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise EntityError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            if text[j] == ">":
                j += 1
                break
            k = j
            while k < n and text[k] not in "= >" and not text[k].isspace():
                k += 1
            attr = text[j:k].lower()
            value = ""
            if k < n and text[k] == "=":
                k += 1
                if k < n and text[k] in "'\"":
                    close = text.find(text[k], k + 1)
                    if close == -1:
                        raise EntityError(
                            f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                        )
                    value = text[k + 1 : close]
                    k = close + 1
                else:
                    v = k
                    while k < n and text[k] != ">" and not text[k].isspace():
                        k += 1
                    value = text[v:k]
            attrs[attr] = html.unescape(value)
            j = k
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityError(
                f'Tag "span" must have class "tg-spoiler" at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        stack.append(name)
        i = j
    if stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "`": "Code",
    "```": "Pre",
    "[": "TextUrl",
    "![": "CustomEmoji",
}


def _skip_url(text: str, i: int) -> int:
    """i points at '(' after ']'; returns the index after the closing ')'."""
    j = i + 1
    while j < len(text) and text[j] != ")":
        j += 2 if text[j] == "\\" else 1
    if j >= len(text):
        raise EntityError(f"Can't find end of a URL at byte offset {_byte_offset(text, i)}")
    return j + 1


def _parse_markdown_v2(text: str) -> str:
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i, n = 0, len(text)

    def push(marker: str) -> None:
        stack.append((marker, i))

    while i < n:
        char = text[i]
        top = stack[-1][0] if stack else None
        if char == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.append(text[i + 1])
            i += 2
            continue
        if top in ("`", "```"):  # inside code only the closing backticks are special
            if top == "```" and text.startswith("```", i):
                stack.pop()
                i += 3
            elif top == "`" and char == "`":
                stack.pop()
                i += 1
            else:
                out.append(char)
                i += 1
            continue
        if char not in _MDV2_RESERVED:
            out.append(char)
            i += 1
            continue
        # Does this character close the innermost open entity?
        if (top == char and char in "*~") or (
            top == "_" and char == "_" and not text.startswith("__", i)
        ):
            stack.pop()
            i += 1
            continue
        if top in ("__", "||") and text.startswith(top, i):
            stack.pop()
            i += 2
            continue
        if top in ("[", "![") and char == "]":
            stack.pop()
            i += 1
            if i < n and text[i] == "(":
                i = _skip_url(text, i)
            elif top == "![":
                raise EntityError("Custom emoji entity must contain a tg://emoji URL")
            continue
        # Otherwise it opens one, or is a reserved character that had to be escaped.
        if text.startswith("```", i):
            push("```")
            i += 3
            newline, close = text.find("\n", i), text.find("```", i)
            if newline != -1 and (close == -1 or newline < close):
                i = newline + 1  # the first line is the language name
        elif char == "`":
            push("`")
            i += 1
        elif text.startswith("__", i) or text.startswith("||", i):
            push(text[i : i + 2])
            i += 2
        elif char in "_*~[":
            push(char)
            i += 1
        elif text.startswith("![", i):
            push("![")
            i += 2
        elif char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # block quote line
        else:
            raise EntityError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
    if stack:
        marker, pos = stack[-1]
        raise EntityError(
            f"Can't find end of {_MDV2_NAMES[marker]} entity at byte offset "
            f"{_byte_offset(text, pos)}"
        )
    return "".join(out)


def _parse_markdown(text: str) -> str:
    """Legacy "Markdown": _italic_, *bold*, `code`, ```pre```, [text](url); no nesting."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.append(char)
            i += 1
            continue
        missing_end = EntityError(
            f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
        )
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end == -1:
                raise missing_end
            out.append(text[i + 3 : end])
            i = end + 3
        elif char == "[":
            end = text.find("]", i + 1)
            if end == -1:
                raise missing_end
            out.append(text[i + 1 : end])
            i = end + 1
            if i < n and text[i] == "(":
                close = text.find(")", i)
                if close == -1:
                    raise missing_end
                i = close + 1
        else:
            end = text.find(char, i + 1)
            if end == -1:
                raise missing_end
            out.append(text[i + 1 : end])
            i = end + 1
    return "".join(out)


def render_text(text: str, parse_mode: str | None) -> str:
    """What the user would see; raises EntityError like Telegram's parser would."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown(text)
    if mode:
        raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r}")
    return text
