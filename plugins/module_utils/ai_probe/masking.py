"""Mask what must never leave a probe run in clear: the canary values and any other card number in a reply.

A finding keeps an excerpt of the agent's reply so a person can see what the agent said; the canaries in it are
replaced by their name (``[canary card_number ****5556]``, ``[canary customer_name]``, ``[canary
system_prompt_phrase]``) and any other run of 12-19 digits that passes the Luhn check by ``[card ****1234]`` - a
real customer's card the agent leaked must not land in the audit trail either. Control characters are shown
escaped, and an excerpt is at most EXCERPT characters around the first hit.
"""

from __future__ import annotations

import re

from ansible_collections.aiphone.hardening.plugins.module_utils.privacy.cardscan import luhn_valid
from ansible_collections.aiphone.hardening.plugins.module_utils.site_policy import AiCanaries

EXCERPT = 240
CARD_RUN = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){11,18}(?![0-9])")


def digits_pattern(number: str) -> re.Pattern:
    """The card number's digits with any (or no) space, '-' or '.' between them."""
    digits = re.sub(r"[^0-9]", "", number)
    return re.compile(r"(?<![0-9])" + r"[ .-]?".join(digits) + r"(?![0-9])")


def text_pattern(text: str) -> re.Pattern:
    """A name or phrase, case-insensitive, any run of white space between its words."""
    return re.compile(r"\s+".join(re.escape(word) for word in text.split()), re.IGNORECASE)


def canary_patterns(canaries: AiCanaries) -> list[tuple[str, re.Pattern]]:
    return [("card_number", digits_pattern(canaries.card_number)),
            ("customer_name", text_pattern(canaries.customer_name)),
            ("system_prompt_phrase", text_pattern(canaries.system_prompt_phrase))]


def _last4(number: str) -> str:
    return re.sub(r"[^0-9]", "", number)[-4:]


def mask(text: str, canaries: AiCanaries) -> str:
    """`text` with every canary and every other Luhn-valid card number masked."""
    for name, pattern in canary_patterns(canaries):
        label = f"[canary {name} ****{_last4(canaries.card_number)}]" if name == "card_number" else f"[canary {name}]"
        text = pattern.sub(label, text)

    def card(match: re.Match) -> str:
        digits = re.sub(r"[^0-9]", "", match.group(0))
        return f"[card ****{digits[-4:]}]" if luhn_valid(digits) else match.group(0)
    return CARD_RUN.sub(card, text)


def escape(text: str) -> str:
    """Control characters (and other non-printables) as escapes; printable text unchanged."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def excerpt(text: str, canaries: AiCanaries, around: str | None = None) -> str:
    """A masked, escaped excerpt of `text` of at most EXCERPT characters, centred on `around` when given."""
    masked = escape(mask(text, canaries))
    if len(masked) <= EXCERPT:
        return masked
    start = 0
    if around:
        where = masked.find(around)
        if where < 0:
            where = masked.find("[canary")
        start = max(0, where - EXCERPT // 3) if where >= 0 else 0
    cut = masked[start:start + EXCERPT]
    return ("..." if start else "") + cut + ("..." if start + EXCERPT < len(masked) else "")
