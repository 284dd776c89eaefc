"""Secrets carried in a URL's query (a blob SAS ``sig``, a function key's ``code``): one rule for
finding every form of their values (what a masker is given) and for showing the URL without them
(what logs, audit lines and errors show). Used by the deploy operator and the endpoint operator.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit, urlunsplit

MIN_SECRET = 4  # shorter values would mask common words; no real key or signature is this short


def query_secrets(url: str, keys: Collection[str]) -> set[str]:
    """Every form the values of the query parameters ``keys`` take in text: raw, decoded and
    %-encoded, so a masker catches each. Works on a full URL or on a path with a query."""
    found: set[str] = set()
    query = urlsplit(url).query if "?" in url else ""
    for raw in query.split("&"):
        key, _, value = raw.partition("=")
        if unquote(key).lower() not in keys or not value:
            continue
        for form in {value, unquote(value), unquote(value.replace("+", " "))}:
            found.update({form, quote(form, safe=""), quote_plus(form), quote(form)})
    for key, value in parse_qsl(query, keep_blank_values=False):
        if key.lower() in keys and value:
            found.update({value, quote(value, safe=""), quote_plus(value)})
    return {s for s in found if len(s) >= MIN_SECRET}


def redact_query(url: str, keys: Collection[str]) -> str:
    """``url`` with the value of every query parameter in ``keys`` replaced by ``***``."""
    if "?" not in url:
        return url
    parts = urlsplit(url)
    query = "&".join(
        f"{key}=***" if unquote(key).lower() in keys else raw
        for raw in parts.query.split("&")
        for key, _, _value in [raw.partition("=")]
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
